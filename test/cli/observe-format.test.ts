/**
 * The pure formatting of `gcl top` and `gcl history`: rates from two scrapes (and none across a
 * counter reset), sparklines relative to the limit, and the history summary's answers.
 */

import { describe, it } from "vitest";
import type { HistoryBucket, LimitHistory, LimitSnapshot, MetricsSnapshot } from "../../src/client/index";
import { historySummary, seconds } from "../../src/client/format";
import { historyReport } from "../../src/cli/history";
import { sparkline, topFrame, topRows } from "../../src/cli/top";
import { styleFor } from "../../src/cli/format";

const plain = styleFor({ write: () => true }, {});
const none = { count: 0, p50: null, p95: null, max: null };

function snapshot(at: string, limits: Partial<LimitSnapshot>[]): MetricsSnapshot {
  return {
    at,
    truncated: false,
    limits: limits.map((limit) => ({
      name: "db",
      limit: 4,
      active: true,
      active_slots: 0,
      waiting: 0,
      grants_total: 0,
      slots_granted_total: 0,
      refusals_total: 0,
      wait_timeouts_total: 0,
      cancels_total: 0,
      lease_expirations_total: 0,
      wait_seconds: none,
      mean_hold_seconds: null,
      last_hour_peaks: [],
      last_hour_grants: 0,
      last_hour_refusals: 0,
      ...limit,
    })),
  };
}

function bucket(start: string, fields: Partial<HistoryBucket> = {}): HistoryBucket {
  return {
    start,
    grants: 0,
    slots_granted: 0,
    refusals: 0,
    wait_timeouts: 0,
    cancels: 0,
    lease_expirations: 0,
    peak_active_slots: 0,
    peak_waiting: 0,
    limit: 2,
    wait_seconds: none,
    hold_seconds: none,
    ...fields,
  };
}

describe("gcl top", () => {
  it("computes rates between two scrapes, none on the first frame or after a counter reset", ({ expect }) => {
    const before = snapshot("2026-01-01T00:00:00.000Z", [
      { grants_total: 10, refusals_total: 1 },
      { name: "new", grants_total: 50 },
    ]);
    const after = snapshot("2026-01-01T00:00:02.000Z", [
      { grants_total: 30, refusals_total: 5, active_slots: 4, waiting: 2 },
      { name: "new", grants_total: 3 },
    ]);
    const [db, reset] = topRows(after, before);
    expect(db).toMatchObject({ grants_per_second: 10, refusals_per_second: 2, utilization: 1, waiting: 2 });
    expect(reset?.grants_per_second).toBeNull();
    expect(topRows(after, null)[0]?.grants_per_second).toBeNull();
    const frame = topFrame(topRows(after, before), after.at, plain);
    expect(frame).toMatch(/db +4\/4 +██████████ 100% +2 +10 +2 +0/);
    expect(frame).toContain("new");
    expect(frame).toContain("—");
  });

  it("draws peaks relative to the limit, blank where nothing was held", ({ expect }) => {
    expect(sparkline([0, 1, 2, 4, 8], 4)).toBe(" ▂▄██");
  });
});

describe("gcl history", () => {
  it("answers whether the limit saturated and how long callers waited", ({ expect }) => {
    const history: LimitHistory = {
      name: "db",
      resolution: "10s",
      bucket_seconds: 10,
      buckets: [
        bucket("2026-01-01T12:00:00.000Z"),
        bucket("2026-01-01T12:00:10.000Z", {
          grants: 5,
          refusals: 2,
          wait_timeouts: 1,
          peak_active_slots: 2,
          peak_waiting: 3,
          wait_seconds: { count: 5, p50: 0.2, p95: 1.5, max: 2 },
        }),
        bucket("2026-01-01T12:00:20.000Z", { peak_active_slots: 1 }),
      ],
    };
    const summary = historySummary(history).join("\n");
    expect(summary).toContain("saturated in 1 of 3 10 s buckets (12:00:10–12:00:10 UTC)");
    expect(summary).toContain("5 grants, 2 refusals (1 after waiting)");
    expect(summary).toContain("worst p95 1.5 s, longest 2 s; at most 3 waiting at once");
    const report = historyReport(history, plain, false);
    expect(report.split("\n").filter((line) => /^12:00/.test(line))).toHaveLength(2);
    expect(
      historyReport(history, plain, true)
        .split("\n")
        .filter((line) => /^12:00/.test(line)),
    ).toHaveLength(3);
    expect(historySummary({ ...history, buckets: [bucket("2026-01-01T12:00:00.000Z")] })[0]).toContain(
      "never saturated",
    );
  });

  it("writes — for times never measured, ms under a second", ({ expect }) => {
    expect(seconds(null)).toBe("—");
    expect(seconds(0.0123)).toBe("12 ms");
    expect(seconds(12.345)).toBe("12.3 s");
  });
});
