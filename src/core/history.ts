/**
 * A limit's history (issue 14), pure: what happened in fixed time buckets (grants, refusals,
 * waits, holds, peaks), recorded in memory as deltas that the limit object writes with the state
 * write it makes anyway, and the read side that turns stored buckets into the wire shape
 * (`protocol/observe`). No I/O, no clock: `now` (epoch ms) is an argument.
 */

import {
  type DurationSummary,
  HISTORY_RESOLUTIONS,
  type HistoryBucket,
  HOLD_BOUNDS_SECONDS,
  WAIT_BOUNDS_SECONDS,
} from "../protocol/observe";

/** Width of the finest buckets, the ones recorded directly. */
export const FINE_MS = HISTORY_RESOLUTIONS["10s"].bucketSeconds * 1000;
export const FINE_RETENTION_MS = HISTORY_RESOLUTIONS["10s"].retentionSeconds * 1000;
export const COARSE_MS = HISTORY_RESOLUTIONS["1m"].bucketSeconds * 1000;
export const COARSE_RETENTION_MS = HISTORY_RESOLUTIONS["1m"].retentionSeconds * 1000;

/** A fixed histogram: `counts[i]` observations ≤ `bounds[i]`, the last one above every bound. */
export interface Histogram {
  counts: number[];
  sum: number;
  max: number;
}

/** What happened in one bucket (or, for the lifetime totals, ever). */
export interface BucketStats {
  grants: number;
  slotsGranted: number;
  refusals: number;
  waitTimeouts: number;
  cancels: number;
  leaseExpirations: number;
  peakActive: number;
  peakWaiting: number;
  /** Levels at the bucket's last write: what an idle bucket after it carries. */
  lastActive: number;
  lastWaiting: number;
  limit: number;
  wait: Histogram;
  hold: Histogram;
}

export function emptyHistogram(bounds: readonly number[]): Histogram {
  return { counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, max: 0 };
}

export function emptyStats(): BucketStats {
  return {
    grants: 0,
    slotsGranted: 0,
    refusals: 0,
    waitTimeouts: 0,
    cancels: 0,
    leaseExpirations: 0,
    peakActive: 0,
    peakWaiting: 0,
    lastActive: 0,
    lastWaiting: 0,
    limit: 0,
    wait: emptyHistogram(WAIT_BOUNDS_SECONDS),
    hold: emptyHistogram(HOLD_BOUNDS_SECONDS),
  };
}

export function observe(histogram: Histogram, bounds: readonly number[], seconds: number): void {
  let index = bounds.findIndex((bound) => seconds <= bound);
  if (index < 0) {
    index = bounds.length;
  }
  histogram.counts[index] = (histogram.counts[index] ?? 0) + 1;
  histogram.sum += seconds;
  histogram.max = Math.max(histogram.max, seconds);
}

function mergeHistogram(into: Histogram, from: Histogram): void {
  from.counts.forEach((count, i) => {
    into.counts[i] = (into.counts[i] ?? 0) + count;
  });
  into.sum += from.sum;
  into.max = Math.max(into.max, from.max);
}

/**
 * Folds `later` into `into`: counts add, peaks take the larger, levels take `later`'s. The same
 * rule the store's upsert applies in SQL.
 */
export function mergeStats(into: BucketStats, later: BucketStats): void {
  into.grants += later.grants;
  into.slotsGranted += later.slotsGranted;
  into.refusals += later.refusals;
  into.waitTimeouts += later.waitTimeouts;
  into.cancels += later.cancels;
  into.leaseExpirations += later.leaseExpirations;
  into.peakActive = Math.max(into.peakActive, later.peakActive);
  into.peakWaiting = Math.max(into.peakWaiting, later.peakWaiting);
  into.lastActive = later.lastActive;
  into.lastWaiting = later.lastWaiting;
  into.limit = later.limit;
  mergeHistogram(into.wait, later.wait);
  mergeHistogram(into.hold, later.hold);
}

export function bucketStart(now: number, widthMs: number): number {
  return Math.floor(now / widthMs) * widthMs;
}

/**
 * What a limit's engine tells its observer (history and events): one call per event, with the
 * values each needs. `key` is a grant's ticket or lease id, so an event sink can pair a release
 * with its acquisition.
 */
export interface LimitObserver {
  granted(slots: number, waitMs: number, key: string, now: number): void;
  /** A 423; `timedOut` when the request had waited in line until its deadline. */
  refused(now: number, timedOut: boolean): void;
  cancelled(now: number): void;
  /** `count` leases ended by expiry rather than release. */
  expired(count: number, now: number): void;
  released(slots: number, holdMs: number, key: string, now: number): void;
  /** Call `deleted` before the limit's settings are gone. */
  lifecycle(kind: "created" | "updated" | "deleted", now: number): void;
}

/** The current levels of a limit, sampled when a call ends. */
export interface Levels {
  active: number;
  waiting: number;
  limit: number;
}

/**
 * Collects one limit's events between two history writes. Events land in the delta of the
 * current fine bucket; `sample` adds the levels at the end of each call; `drain` hands the deltas
 * over, to be written in the same transaction as the limit's state.
 */
export class HistoryRecorder {
  #pending = new Map<number, BucketStats>();
  /** The fine bucket sampled last, with the peaks already recorded for it. */
  #sampled: { start: number; peakActive: number; peakWaiting: number } | null = null;

  #bucket(now: number): BucketStats {
    const start = bucketStart(now, FINE_MS);
    let stats = this.#pending.get(start);
    if (!stats) {
      stats = emptyStats();
      this.#pending.set(start, stats);
    }
    return stats;
  }

  /** A request got its slots after `waitMs` in line (0: at once). */
  granted(slots: number, waitMs: number, now: number): void {
    const stats = this.#bucket(now);
    stats.grants += 1;
    stats.slotsGranted += slots;
    observe(stats.wait, WAIT_BOUNDS_SECONDS, Math.max(0, waitMs) / 1000);
  }

  /** A 423; `timedOut` when the request had waited in line until its deadline. */
  refused(now: number, timedOut = false): void {
    const stats = this.#bucket(now);
    stats.refusals += 1;
    if (timedOut) {
      stats.waitTimeouts += 1;
    }
  }

  cancelled(now: number): void {
    this.#bucket(now).cancels += 1;
  }

  /** `count` leases ended by expiry rather than release. */
  expired(count: number, now: number): void {
    if (count > 0) {
      this.#bucket(now).leaseExpirations += count;
    }
  }

  /** A lease was released after being held `holdMs`. */
  released(holdMs: number, now: number): void {
    observe(this.#bucket(now).hold, HOLD_BOUNDS_SECONDS, Math.max(0, holdMs) / 1000);
  }

  /**
   * Samples the levels at the end of a call into the current bucket's delta. An idle call adds
   * nothing, except the first one of a new bucket while slots are held or requests wait (so a
   * chart shows them) and one that sees a new peak.
   */
  sample(levels: Levels, now: number): void {
    const start = bucketStart(now, FINE_MS);
    const sampled = this.#sampled?.start === start ? this.#sampled : null;
    const busy = levels.active > 0 || levels.waiting > 0;
    const peaked = sampled !== null && (levels.active > sampled.peakActive || levels.waiting > sampled.peakWaiting);
    if (!this.#pending.has(start) && !peaked && (sampled !== null || !busy)) {
      return;
    }
    const current = this.#bucket(now);
    current.peakActive = Math.max(current.peakActive, levels.active);
    current.peakWaiting = Math.max(current.peakWaiting, levels.waiting);
    current.lastActive = levels.active;
    current.lastWaiting = levels.waiting;
    current.limit = levels.limit;
    this.#sampled = {
      start,
      peakActive: Math.max(sampled?.peakActive ?? 0, current.peakActive),
      peakWaiting: Math.max(sampled?.peakWaiting ?? 0, current.peakWaiting),
    };
  }

  /** Whether deltas wait to be written, and the start of the oldest one. */
  get oldestPending(): number | null {
    let oldest: number | null = null;
    for (const start of this.#pending.keys()) {
      oldest = oldest === null ? start : Math.min(oldest, start);
    }
    return oldest;
  }

  /** Hands the deltas over for a write, oldest first, and forgets them. */
  drain(): { start: number; stats: BucketStats }[] {
    const deltas = [...this.#pending].sort(([a], [b]) => a - b).map(([start, stats]) => ({ start, stats }));
    this.#pending.clear();
    return deltas;
  }

  /** `sample` then `drain`. */
  take(levels: Levels, now: number): { start: number; stats: BucketStats }[] {
    this.sample(levels, now);
    return this.drain();
  }

  /** Forgets everything not yet written (the limit was deleted). */
  reset(): void {
    this.#pending.clear();
    this.#sampled = null;
  }
}

// ── Reading ──

/**
 * Estimates quantile `q` from a fixed histogram: linear inside the bucket that holds it, capped
 * at the largest value seen. Null when the histogram is empty.
 */
export function quantile(histogram: Histogram, bounds: readonly number[], q: number): number | null {
  const total = histogram.counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) {
    return null;
  }
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < histogram.counts.length; i++) {
    const count = histogram.counts[i] ?? 0;
    if (count > 0 && below + count >= rank) {
      const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
      const upper = Math.min(bounds[i] ?? histogram.max, histogram.max);
      const estimate = lower + ((upper - lower) * (rank - below)) / count;
      return Math.min(Math.max(estimate, 0), histogram.max);
    }
    below += count;
  }
  return histogram.max;
}

export function summarize(histogram: Histogram, bounds: readonly number[], withMax = true): DurationSummary {
  const count = histogram.counts.reduce((sum, n) => sum + n, 0);
  return {
    count,
    p50: quantile(histogram, bounds, 0.5),
    p95: quantile(histogram, bounds, 0.95),
    max: withMax && count > 0 ? histogram.max : null,
  };
}

/**
 * Every bucket of width `widthMs` from `from` up to and including the one holding `to`, from
 * the stored ones (`rows`, any order). A bucket with no row was idle: it carries the levels the
 * last row before it ended with, and a row's peak is at least the level its bucket began at.
 */
export function densify(
  rows: { start: number; stats: BucketStats }[],
  from: number,
  to: number,
  widthMs: number,
  carried: Levels = { active: 0, waiting: 0, limit: 0 },
): HistoryBucket[] {
  const byStart = new Map(rows.map((row) => [row.start, row.stats]));
  const buckets: HistoryBucket[] = [];
  let level = { ...carried };
  for (let start = bucketStart(from, widthMs); start <= to; start += widthMs) {
    const stats = byStart.get(start) ?? { ...emptyStats(), limit: level.limit };
    const wire = toWire(start, stats, level);
    buckets.push(wire);
    if (byStart.has(start)) {
      level = { active: stats.lastActive, waiting: stats.lastWaiting, limit: stats.limit };
    }
  }
  return buckets;
}

function toWire(start: number, stats: BucketStats, carried: Levels): HistoryBucket {
  return {
    start: new Date(start).toISOString(),
    grants: stats.grants,
    slots_granted: stats.slotsGranted,
    refusals: stats.refusals,
    wait_timeouts: stats.waitTimeouts,
    cancels: stats.cancels,
    lease_expirations: stats.leaseExpirations,
    peak_active_slots: Math.max(0, Math.ceil(Math.max(stats.peakActive, carried.active) - 1e-9)),
    peak_waiting: Math.max(stats.peakWaiting, carried.waiting),
    limit: stats.limit || carried.limit,
    wait_seconds: summarize(stats.wait, WAIT_BOUNDS_SECONDS),
    hold_seconds: summarize(stats.hold, HOLD_BOUNDS_SECONDS),
  };
}

/** Merges fine rows into coarse ones (by `widthMs`), oldest row last-wins for levels. */
export function coarsen(
  rows: { start: number; stats: BucketStats }[],
  widthMs: number,
): { start: number; stats: BucketStats }[] {
  const merged = new Map<number, BucketStats>();
  for (const row of [...rows].sort((a, b) => a.start - b.start)) {
    const start = bucketStart(row.start, widthMs);
    const into = merged.get(start);
    if (into) {
      mergeStats(into, row.stats);
    } else {
      const copy = emptyStats();
      mergeStats(copy, row.stats);
      merged.set(start, copy);
    }
  }
  return [...merged].map(([start, stats]) => ({ start, stats }));
}
