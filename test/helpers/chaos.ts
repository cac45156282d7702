/**
 * What the chaos suites share: the external over-admission check over every holder's recorded
 * interval, and waiting until every slot is free (raw HTTP calls: `callApi` in common.ts).
 * Node only; loopback only.
 */

import { callApi, sleep } from "./common";

/** One holding as its client saw it: from the grant's arrival to the first release attempt. */
export interface Interval {
  names: readonly string[];
  start: number;
  end: number;
}

/** The most holders limit `name` had at once, over intervals from every client. */
export function maxOverlap(intervals: readonly Interval[], name: string): number {
  const edges = intervals
    .filter((interval) => interval.names.includes(name))
    .flatMap((interval) => [
      { at: interval.start, delta: 1 },
      { at: interval.end, delta: -1 },
    ])
    // Ends before starts at the same instant: a hand-off is not an overlap.
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  let holders = 0;
  let max = 0;
  for (const edge of edges) {
    holders += edge.delta;
    max = Math.max(max, holders);
  }
  return max;
}

/**
 * Polls until every limit in `names` holds nothing (no slots, no leases, nobody waiting), or
 * `giveUpAt` passes. Null when all are free; otherwise what was still held (a liveness bound).
 */
export async function untilFree(base: string, names: readonly string[], giveUpAt: number): Promise<string | null> {
  for (const name of names) {
    for (;;) {
      const record = (await callApi(base, "GET", `/${name}`)).body;
      const leases = (await callApi(base, "GET", `/${name}/leases`)).body;
      if (record.active_slots === 0 && leases.leases.length === 0 && leases.waiting === 0) {
        break;
      }
      if (Date.now() >= giveUpAt) {
        return `${name} still holds: ${JSON.stringify({ record, leases })}`;
      }
      await sleep(100);
    }
  }
  return null;
}
