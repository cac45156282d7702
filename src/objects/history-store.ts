/**
 * SQLite persistence of one limit's history (issue 14), beside `limit-store.ts` in the same
 * object. One table, keyed by resolution and bucket start: 10 s rows for the last hour, 1 min
 * rows for the last day (folded from the 10 s rows as they age), and one lifetime row
 * (`res = 0`) behind the Prometheus counters. Rows are upserted with the rule of
 * `core/history.mergeStats`, inside the limit's own `transactionSync`, so recording adds no
 * storage round trip. Bounded: at most ~366 + 1,441 + 1 rows per limit.
 */

import {
  type BucketStats,
  bucketStart,
  densify,
  COARSE_MS,
  COARSE_RETENTION_MS,
  coarsen,
  emptyStats,
  FINE_MS,
  FINE_RETENTION_MS,
  HistoryRecorder,
  type Levels,
  mergeStats,
} from "../core/history";
import {
  HISTORY_RESOLUTIONS,
  type HistoryResolution,
  HOLD_BOUNDS_SECONDS,
  type LimitHistory,
  WAIT_BOUNDS_SECONDS,
} from "../protocol/observe";
import type { LimitRecord } from "../protocol/types";

const FINE = FINE_MS / 1000;
const COARSE = COARSE_MS / 1000;
const TOTALS = 0;
/** Under load, history is written with at most one persist per this many milliseconds. */
const WRITE_EVERY_MS = 1_000;

type Merge = "sum" | "max" | "last";

/** Column name → how an upsert combines the stored value with a delta. */
const COLUMNS: [string, Merge][] = [
  ["grants", "sum"],
  ["slots_granted", "sum"],
  ["refusals", "sum"],
  ["wait_timeouts", "sum"],
  ["cancels", "sum"],
  ["lease_expirations", "sum"],
  ["peak_active", "max"],
  ["peak_waiting", "max"],
  ["last_active", "last"],
  ["last_waiting", "last"],
  ["limit_slots", "last"],
  ["wait_sum", "sum"],
  ["wait_max", "max"],
  ...WAIT_BOUNDS_SECONDS.map((_, i) => [`w${i}`, "sum"] as [string, Merge]),
  [`w${WAIT_BOUNDS_SECONDS.length}`, "sum"],
  ["hold_sum", "sum"],
  ["hold_max", "max"],
  ...HOLD_BOUNDS_SECONDS.map((_, i) => [`h${i}`, "sum"] as [string, Merge]),
  [`h${HOLD_BOUNDS_SECONDS.length}`, "sum"],
];

const SCHEMA = `CREATE TABLE IF NOT EXISTS history (
  res INTEGER NOT NULL,
  start INTEGER NOT NULL,
  ${COLUMNS.map(([name]) => `${name} REAL NOT NULL`).join(",\n  ")},
  PRIMARY KEY (res, start)
)`;

const MERGE_SQL: Record<Merge, (name: string) => string> = {
  sum: (name) => `${name} = ${name} + excluded.${name}`,
  max: (name) => `${name} = max(${name}, excluded.${name})`,
  last: (name) => `${name} = excluded.${name}`,
};

const UPSERT = `INSERT INTO history (res, start, ${COLUMNS.map(([name]) => name).join(", ")})
  VALUES (?, ?, ${COLUMNS.map(() => "?").join(", ")})
  ON CONFLICT (res, start) DO UPDATE SET ${COLUMNS.map(([name, merge]) => MERGE_SQL[merge](name)).join(", ")}`;

type Row = Record<string, number>;

function toValues(stats: BucketStats): number[] {
  return [
    stats.grants,
    stats.slotsGranted,
    stats.refusals,
    stats.waitTimeouts,
    stats.cancels,
    stats.leaseExpirations,
    stats.peakActive,
    stats.peakWaiting,
    stats.lastActive,
    stats.lastWaiting,
    stats.limit,
    stats.wait.sum,
    stats.wait.max,
    ...stats.wait.counts,
    stats.hold.sum,
    stats.hold.max,
    ...stats.hold.counts,
  ];
}

function fromRow(row: Row): BucketStats {
  const value = (name: string): number => row[name] ?? 0;
  const stats = emptyStats();
  Object.assign(stats, {
    grants: value("grants"),
    slotsGranted: value("slots_granted"),
    refusals: value("refusals"),
    waitTimeouts: value("wait_timeouts"),
    cancels: value("cancels"),
    leaseExpirations: value("lease_expirations"),
    peakActive: value("peak_active"),
    peakWaiting: value("peak_waiting"),
    lastActive: value("last_active"),
    lastWaiting: value("last_waiting"),
    limit: value("limit_slots"),
  });
  stats.wait = {
    counts: stats.wait.counts.map((_, i) => value(`w${i}`)),
    sum: value("wait_sum"),
    max: value("wait_max"),
  };
  stats.hold = {
    counts: stats.hold.counts.map((_, i) => value(`h${i}`)),
    sum: value("hold_sum"),
    max: value("hold_max"),
  };
  return stats;
}

export type StoredBucket = { start: number; stats: BucketStats };

export class HistoryStore {
  readonly #storage: DurableObjectStorage;
  /** Events since the last persist; the limit object calls its `granted`, `refused`, … */
  readonly record = new HistoryRecorder();
  #schemaReady: boolean | null = null;
  #clear = false;
  /** The fine bucket last pruned at: ageing runs at most once per fine bucket. */
  #prunedAt = -1;
  #writtenAt = Number.NEGATIVE_INFINITY;
  #force = false;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
  }

  /** Drops the whole history with the next write (the limit was deleted). */
  clear(): void {
    this.record.reset();
    this.#clear = true;
  }

  /**
   * The write to run inside the limit's persist transaction, or undefined when there is none (yet).
   * Called once per limit-object call, with the levels at its end. Under load, history rides along
   * with at most one persist a second (and at once when a bucket ends): each write is two upserts,
   * which at hundreds of calls a second would cost more CPU than the call itself. What is held
   * back is written by the next call, or by `flushSoon` a second later when none comes; an object
   * evicted in between loses under a second of counts.
   */
  pendingWrite(levels: Levels, now: number): (() => void) | undefined {
    this.record.sample(levels, now);
    const oldest = this.record.oldestPending;
    if (oldest === null && !this.#clear) {
      return undefined;
    }
    const due =
      this.#clear ||
      this.#force ||
      oldest === null ||
      oldest < bucketStart(now, FINE_MS) ||
      now - this.#writtenAt >= WRITE_EVERY_MS;
    if (!due) {
      this.flushSoon();
      return undefined;
    }
    this.#force = false;
    this.#writtenAt = now;
    const deltas = this.record.drain();
    return () => this.#write(deltas, now);
  }

  /** Makes the next `pendingWrite` write whatever is held back (before a read of history). */
  forceNext(): void {
    this.#force = true;
  }

  /** Set by the limit object: ends a call (with no work of its own) in about a second. */
  flushSoon: () => void = () => undefined;

  #write(deltas: StoredBucket[], now: number): void {
    const sql = this.#storage.sql;
    if (this.#schemaReady !== true) {
      sql.exec(SCHEMA);
      this.#schemaReady = true;
    }
    if (this.#clear) {
      sql.exec("DELETE FROM history");
      this.#clear = false;
    }
    const lifetime = emptyStats();
    for (const { start, stats } of deltas) {
      sql.exec(UPSERT, FINE, start, ...toValues(stats));
      mergeStats(lifetime, stats);
    }
    if (deltas.length > 0) {
      sql.exec(UPSERT, TOTALS, 0, ...toValues(lifetime));
    }
    const fineStart = Math.floor(now / FINE_MS) * FINE_MS;
    if (fineStart !== this.#prunedAt) {
      this.#prunedAt = fineStart;
      this.#age(now);
    }
  }

  /** Folds 10 s rows older than the last hour into 1 min rows, and drops what is over a day old. */
  #age(now: number): void {
    const sql = this.#storage.sql;
    const cutoff = Math.floor((now - FINE_RETENTION_MS) / COARSE_MS) * COARSE_MS;
    const old = this.#select(FINE, Number.NEGATIVE_INFINITY, cutoff);
    for (const { start, stats } of coarsen(old, COARSE_MS)) {
      sql.exec(UPSERT, COARSE, start, ...toValues(stats));
    }
    if (old.length > 0) {
      sql.exec("DELETE FROM history WHERE res = ? AND start < ?", FINE, cutoff);
    }
    sql.exec("DELETE FROM history WHERE res = ? AND start < ?", COARSE, now - COARSE_RETENTION_MS - COARSE_MS);
  }

  #select(res: number, from: number, before: number): StoredBucket[] {
    const rows = this.#storage.sql
      .exec<Row>("SELECT * FROM history WHERE res = ? AND start >= ? AND start < ? ORDER BY start", res, from, before)
      .toArray();
    return rows.map((row) => ({ start: row.start ?? 0, stats: fromRow(row) }));
  }

  #ready(): boolean {
    this.#schemaReady ??=
      this.#storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'history'").toArray().length >
      0;
    return this.#schemaReady;
  }

  /**
   * Stored buckets of width `bucketSeconds` from `from` on (10 s rows folded on the fly for the
   * 1 min view; a minute is wholly in one of the two), plus the last row before `from`, whose
   * levels the first idle buckets carry.
   */
  read(bucketSeconds: number, from: number): { rows: StoredBucket[]; before: StoredBucket | null } {
    if (!this.#ready()) {
      return { rows: [], before: null };
    }
    const fine = this.#select(FINE, from, Number.POSITIVE_INFINITY);
    const rows =
      bucketSeconds === FINE
        ? fine
        : [...this.#select(COARSE, from, Number.POSITIVE_INFINITY), ...coarsen(fine, COARSE_MS)];
    const before = this.#storage.sql
      .exec<Row>("SELECT * FROM history WHERE res > 0 AND start < ? ORDER BY start DESC LIMIT 1", from)
      .toArray()[0];
    return { rows, before: before ? { start: before.start ?? 0, stats: fromRow(before) } : null };
  }

  /** Lifetime totals, for the Prometheus counters. */
  totals(): BucketStats {
    if (!this.#ready()) {
      return emptyStats();
    }
    return this.#select(TOTALS, 0, 1)[0]?.stats ?? emptyStats();
  }
}

/** Everything `GET /metrics` shows of one limit, from one limit-object call. */
export interface LimitMetrics {
  record: LimitRecord;
  waiting: number;
  totals: BucketStats;
  /** The last hour in brief (only when asked: it reads the hour's rows). */
  lastHour: LastHour | null;
}

export interface LastHour {
  /** Peak active slots per minute, oldest first. */
  peaks: number[];
  grants: number;
  refusals: number;
}

export function metricsView(
  store: HistoryStore,
  record: LimitRecord,
  waiting: number,
  peaks: boolean,
  now: number,
): LimitMetrics {
  let lastHour: LastHour | null = null;
  if (peaks) {
    const fine = historyView(store, record.name, "10s", now).buckets;
    const perMinute = COARSE_MS / FINE_MS;
    lastHour = { peaks: [], grants: 0, refusals: 0 };
    for (let i = fine.length % perMinute; i < fine.length; i += perMinute) {
      lastHour.peaks.push(Math.max(...fine.slice(i, i + perMinute).map((bucket) => bucket.peak_active_slots)));
    }
    for (const bucket of fine) {
      lastHour.grants += bucket.grants;
      lastHour.refusals += bucket.refusals;
    }
  }
  return { record, waiting, totals: store.totals(), lastHour };
}

/** The history answer of limit `name`: every bucket of the resolution's window, up to `now`. */
export function historyView(
  store: HistoryStore,
  name: string,
  resolution: HistoryResolution,
  now: number,
): LimitHistory {
  const { bucketSeconds, retentionSeconds } = HISTORY_RESOLUTIONS[resolution];
  const widthMs = bucketSeconds * 1000;
  const from = bucketStart(now - retentionSeconds * 1000, widthMs) + widthMs;
  const { rows, before } = store.read(bucketSeconds, from);
  const carried = before
    ? { active: before.stats.lastActive, waiting: before.stats.lastWaiting, limit: before.stats.limit }
    : undefined;
  return { name, resolution, bucket_seconds: bucketSeconds, buckets: densify(rows, from, now, widthMs, carried) };
}
