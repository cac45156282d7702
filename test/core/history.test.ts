/**
 * The pure history (issue 14): what the recorder hands over for a write and when it hands over
 * nothing, percentile estimates from fixed histograms, merging, idle buckets carrying levels.
 */

import { describe, it } from "vitest";
import {
  coarsen,
  densify,
  emptyHistogram,
  emptyStats,
  FINE_MS,
  HistoryRecorder,
  mergeStats,
  observe,
  quantile,
} from "../../src/core/history";
import { WAIT_BOUNDS_SECONDS } from "../../src/protocol/observe";
import { T0 } from "./fixtures";

const idle = { active: 0, waiting: 0, limit: 5 };

describe("HistoryRecorder", () => {
  it("hands over the events of the current bucket with the levels at the end of the call", ({ expect }) => {
    const recorder = new HistoryRecorder();
    recorder.granted(2, 0, T0);
    recorder.granted(1, 1_500, T0 + 1);
    recorder.refused(T0 + 2);
    recorder.refused(T0 + 3, true);
    recorder.cancelled(T0 + 4);
    recorder.expired(2, T0 + 5);
    recorder.released(4_000, T0 + 6);
    const [delta, ...rest] = recorder.take({ active: 3, waiting: 1, limit: 5 }, T0 + 7);
    expect(rest).toEqual([]);
    expect(delta?.start).toBe(Math.floor(T0 / FINE_MS) * FINE_MS);
    expect(delta?.stats).toMatchObject({
      grants: 2,
      slotsGranted: 3,
      refusals: 2,
      waitTimeouts: 1,
      cancels: 1,
      leaseExpirations: 2,
      peakActive: 3,
      peakWaiting: 1,
      lastActive: 3,
      limit: 5,
    });
    expect(delta?.stats.wait.max).toBe(1.5);
    expect(delta?.stats.hold.sum).toBe(4);
  });

  it("writes nothing for idle reads, once per bucket while busy, and again on a new peak", ({ expect }) => {
    const recorder = new HistoryRecorder();
    expect(recorder.take(idle, T0)).toEqual([]);
    const busy = { active: 2, waiting: 0, limit: 5 };
    expect(recorder.take(busy, T0)).toHaveLength(1);
    expect(recorder.take(busy, T0 + 1)).toEqual([]);
    expect(recorder.take({ ...busy, active: 3 }, T0 + 2)).toHaveLength(1);
    expect(recorder.take(busy, T0 + FINE_MS)).toHaveLength(1);
    recorder.reset();
    expect(recorder.take(idle, T0 + 2 * FINE_MS)).toEqual([]);
  });
});

describe("quantile", () => {
  it("is null for an empty histogram and never above the largest value", ({ expect }) => {
    const histogram = emptyHistogram(WAIT_BOUNDS_SECONDS);
    expect(quantile(histogram, WAIT_BOUNDS_SECONDS, 0.5)).toBeNull();
    for (const seconds of [0, 0, 0, 0.3, 0.4, 7]) {
      observe(histogram, WAIT_BOUNDS_SECONDS, seconds);
    }
    const p50 = quantile(histogram, WAIT_BOUNDS_SECONDS, 0.5) ?? -1;
    expect(p50).toBeGreaterThanOrEqual(0);
    expect(p50).toBeLessThanOrEqual(0.005);
    const p95 = quantile(histogram, WAIT_BOUNDS_SECONDS, 0.95) ?? -1;
    expect(p95).toBeGreaterThan(5);
    expect(p95).toBeLessThanOrEqual(7);
    expect(quantile(histogram, WAIT_BOUNDS_SECONDS, 1)).toBe(7);
  });

  it("puts values above the last bound in the last bucket, capped at the max", ({ expect }) => {
    const histogram = emptyHistogram(WAIT_BOUNDS_SECONDS);
    observe(histogram, WAIT_BOUNDS_SECONDS, 90);
    expect(histogram.counts.at(-1)).toBe(1);
    expect(quantile(histogram, WAIT_BOUNDS_SECONDS, 0.5)).toBeLessThanOrEqual(90);
    expect(quantile(histogram, WAIT_BOUNDS_SECONDS, 0.5)).toBeGreaterThan(60);
  });
});

describe("densify and coarsen", () => {
  it("fills idle buckets with the levels the last stored bucket ended at", ({ expect }) => {
    const stats = { ...emptyStats(), grants: 1, peakActive: 2, lastActive: 2, limit: 4 };
    const start = Math.floor(T0 / FINE_MS) * FINE_MS;
    const buckets = densify([{ start, stats }], start - FINE_MS, start + 3 * FINE_MS, FINE_MS);
    expect(buckets.map((b) => b.peak_active_slots)).toEqual([0, 2, 2, 2, 2]);
    expect(buckets.map((b) => b.grants)).toEqual([0, 1, 0, 0, 0]);
    expect(buckets.map((b) => b.limit)).toEqual([0, 4, 4, 4, 4]);
  });

  it("merges fine buckets into coarse ones: counts add, peaks take the larger, levels the later", ({ expect }) => {
    const a = { ...emptyStats(), grants: 2, peakActive: 5, lastActive: 1, limit: 5 };
    const b = { ...emptyStats(), grants: 3, peakActive: 2, lastActive: 0, limit: 6 };
    const minute = Math.floor(T0 / 60_000) * 60_000;
    const [row] = coarsen(
      [
        { start: minute + 20_000, stats: b },
        { start: minute, stats: a },
      ],
      60_000,
    );
    expect(row?.start).toBe(minute);
    expect(row?.stats).toMatchObject({ grants: 5, peakActive: 5, lastActive: 0, limit: 6 });
    const into = emptyStats();
    mergeStats(into, a);
    expect(into.grants).toBe(2);
  });
});
