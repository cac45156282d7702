/**
 * The exposition text of `GET /metrics`, from fixed samples: parsed by an npm parser for the
 * values, label values escaped, histograms cumulative.
 */

import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, it } from "vitest";
import { emptyStats, observe } from "../../src/core/history";
import { labelValue, renderMetrics } from "../../src/core/prometheus";
import { WAIT_BOUNDS_SECONDS } from "../../src/protocol/observe";
import type { LimitRecord } from "../../src/protocol/types";

function record(name: string, limit: number, active: number): LimitRecord {
  return {
    id: "00000000-0000-4000-8000-000000000000",
    name,
    limit,
    active: true,
    active_slots: active,
    denied_slots: 0,
    slot_decay_per_second: 0,
    avg_slot_occupancy_seconds: 2,
    created: "2026-01-01T00:00:00.000Z",
    updated: "2026-01-01T00:00:00.000Z",
    location_hint: null,
  };
}

describe("renderMetrics", () => {
  it("renders gauges, counters and a cumulative histogram per limit", ({ expect }) => {
    const totals = { ...emptyStats(), grants: 4, refusals: 2, leaseExpirations: 1 };
    for (const seconds of [0, 0.02, 0.02, 3]) {
      observe(totals.wait, WAIT_BOUNDS_SECONDS, seconds);
    }
    const text = renderMetrics(
      [
        { record: record("db", 5, 3), waiting: 2, totals },
        { record: record("api", 1, 0), waiting: 0, totals: emptyStats() },
      ],
      { truncated: false },
    );
    const families = parsePrometheusTextFormat(text);
    const value = (name: string, limit: string) =>
      families.find((f) => f.name === name)?.metrics.find((m) => m.labels?.limit === limit)?.value;
    expect(value("gcl_limit_slots", "db")).toBe("5");
    expect(value("gcl_limit_active_slots", "db")).toBe("3");
    expect(value("gcl_limit_waiting", "db")).toBe("2");
    expect(value("gcl_grants_total", "db")).toBe("4");
    expect(value("gcl_refusals_total", "db")).toBe("2");
    expect(value("gcl_lease_expirations_total", "db")).toBe("1");
    expect(value("gcl_grants_total", "api")).toBe("0");
    expect(text).toContain('gcl_wait_seconds_bucket{limit="db",le="0.005"} 1\n');
    expect(text).toContain('gcl_wait_seconds_bucket{limit="db",le="0.025"} 3\n');
    expect(text).toContain('gcl_wait_seconds_bucket{limit="db",le="+Inf"} 4\n');
    expect(text).toContain('gcl_wait_seconds_count{limit="db"} 4\n');
    expect(text).toContain("gcl_scrape_truncated 0\n");
    expect(text.match(/^# TYPE gcl_grants_total counter$/gm)).toHaveLength(1);
  });

  it("escapes label values", ({ expect }) => {
    expect(labelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const text = renderMetrics([{ record: record('q"x', 1, 0), waiting: 0, totals: emptyStats() }], {
      truncated: true,
    });
    const family = parsePrometheusTextFormat(text).find((f) => f.name === "gcl_limit_slots");
    expect(family?.metrics[0]?.labels?.limit).toBe('q"x');
    expect(text).toContain("gcl_scrape_truncated 1\n");
  });
});
