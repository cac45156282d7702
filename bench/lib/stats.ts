/**
 * The arithmetic of the bench, kept apart from any I/O so its definitions can be read in one
 * place. All times are client-side `performance.now()` milliseconds.
 */

/** One holding period as a client saw it: from the grant's response arriving to the release being sent. */
export interface Hold {
  grantAt: number;
  releaseAt: number;
  /** Which client held it. */
  client: number;
}

export interface Summary {
  n: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** Nearest-rank percentile of an ascending array (null when empty). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) {
    return null;
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? null;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] ?? null) : null,
    mean: sorted.length > 0 ? sum / sorted.length : null,
  };
}

/**
 * The most holders at any instant: a sweep over the [grantAt, releaseAt] intervals. At equal
 * times a release is counted before a grant (the releasing client has stopped by then).
 */
export function maxHolders(holds: readonly Hold[]): number {
  const events: [number, number][] = [];
  for (const hold of holds) {
    events.push([hold.grantAt, +1], [hold.releaseAt, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let most = 0;
  for (const [, delta] of events) {
    current += delta;
    most = Math.max(most, current);
  }
  return most;
}

/**
 * Hand-off latencies, release → next grant. Slots are interchangeable, so the k-th slot freed
 * is the k-th slot taken: releases and grants are each put in time order, and every grant is
 * paired with the earliest release not yet paired that was sent before it. A grant with no such
 * release took a slot that was already free (the initial fill) and is not a hand-off. A release
 * that no grant follows (the end of the run) is not one either.
 */
export function handoffs(holds: readonly Hold[]): { latencies: number[]; toOthers: number[]; selfPct: number | null } {
  const releases = [...holds].sort((a, b) => a.releaseAt - b.releaseAt);
  const grants = [...holds].sort((a, b) => a.grantAt - b.grantAt);
  const latencies: number[] = [];
  const toOthers: number[] = [];
  let self = 0;
  let next = 0;
  for (const grant of grants) {
    const release = releases[next];
    if (release !== undefined && release.releaseAt <= grant.grantAt) {
      latencies.push(grant.grantAt - release.releaseAt);
      // The releasing client took the slot straight back (a lock that lets callers barge in).
      if (release.client === grant.client) {
        self += 1;
      } else {
        toOthers.push(grant.grantAt - release.releaseAt);
      }
      next += 1;
    }
  }
  return { latencies, toOthers, selfPct: latencies.length > 0 ? (100 * self) / latencies.length : null };
}

/** Busy slot-time over available slot-time in [start, end]: Σ clipped holds / (limit × (end − start)). */
export function utilization(holds: readonly Hold[], limit: number, start: number, end: number): number {
  let busy = 0;
  for (const hold of holds) {
    busy += Math.max(0, Math.min(hold.releaseAt, end) - Math.max(hold.grantAt, start));
  }
  return busy / (limit * (end - start));
}

/** Grants whose response arrived inside [start, end]. */
export function grantsIn(holds: readonly Hold[], start: number, end: number): number {
  return holds.filter((hold) => hold.grantAt >= start && hold.grantAt <= end).length;
}

/** Grants per second whose response arrived in (start, end]. */
export function rateIn(
  grantTimes: readonly number[],
  start: number,
  end: number,
): { perSecond: number; windowS: number; grants: number } {
  const grants = grantTimes.filter((at) => at > start && at <= end).length;
  const windowS = (end - start) / 1000;
  return { perSecond: grants / windowS, windowS, grants };
}
