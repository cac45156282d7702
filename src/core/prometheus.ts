/**
 * `GET /metrics` in the Prometheus text exposition format (version 0.0.4), pure: each limit's
 * record, waiting count and lifetime totals in, text out. Every metric carries the label
 * `limit`; counters are lifetime totals kept by the limit object (they restart at 0 when a limit
 * is deleted and created again, which Prometheus reads as a counter reset).
 */

import { HOLD_BOUNDS_SECONDS, type LimitSnapshot, METRICS, WAIT_BOUNDS_SECONDS } from "../protocol/observe";
import type { LimitRecord } from "../protocol/types";
import { type BucketStats, type Histogram, summarize } from "./history";

export interface LimitSample {
  record: LimitRecord;
  waiting: number;
  totals: BucketStats;
  lastHour?: { peaks: number[]; grants: number; refusals: number } | null;
}

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Escapes a label value: backslash, double quote and line feed (the format's only escapes). */
export function labelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function number(value: number): string {
  if (Number.isNaN(value)) {
    return "NaN";
  }
  if (!Number.isFinite(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  return String(value);
}

type Family = { name: string; type: "gauge" | "counter" | "histogram"; help: string; lines: string[] };

function family(name: string, type: Family["type"], help: string): Family {
  return { name, type, help, lines: [] };
}

function histogramLines(name: string, limit: string, histogram: Histogram, bounds: readonly number[]): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  bounds.forEach((bound, i) => {
    cumulative += histogram.counts[i] ?? 0;
    lines.push(`${name}_bucket{limit="${limit}",le="${number(bound)}"} ${cumulative}`);
  });
  cumulative += histogram.counts[bounds.length] ?? 0;
  lines.push(`${name}_bucket{limit="${limit}",le="+Inf"} ${cumulative}`);
  lines.push(`${name}_sum{limit="${limit}"} ${number(histogram.sum)}`);
  lines.push(`${name}_count{limit="${limit}"} ${cumulative}`);
  return lines;
}

/** The whole exposition: one block per metric family, one sample per limit in each. */
export function renderMetrics(samples: LimitSample[], scrape: { truncated: boolean }): string {
  const families = {
    slots: family(METRICS.slots, "gauge", "Most slots the limit lets be held at once (its `limit`)."),
    active: family(METRICS.active, "gauge", "1 when the limit is active, 0 when disabled."),
    activeSlots: family(METRICS.activeSlots, "gauge", "Slots held now: leases, anonymous and decaying rate slots."),
    waiting: family(METRICS.waiting, "gauge", "Requests waiting in line for slots now."),
    grants: family(METRICS.grants, "counter", "Requests granted slots."),
    slotsGranted: family(METRICS.slotsGranted, "counter", "Slots granted."),
    refusals: family(METRICS.refusals, "counter", "423 answers: refused at once or at the end of wait_seconds."),
    waitTimeouts: family(METRICS.waitTimeouts, "counter", "Refusals of requests that waited until their deadline."),
    cancels: family(METRICS.cancels, "counter", "Requests withdrawn (cancelled, client gone, refused elsewhere)."),
    expirations: family(METRICS.leaseExpirations, "counter", "Leases that expired without being released."),
    wait: family(METRICS.waitSeconds, "histogram", "Time granted requests spent in line (0 when granted at once)."),
    hold: family(METRICS.holdSeconds, "histogram", "How long released leases were held."),
  };
  for (const { record, waiting, totals } of samples) {
    const limit = labelValue(record.name);
    const line = (f: Family, value: number) => f.lines.push(`${f.name}{limit="${limit}"} ${number(value)}`);
    line(families.slots, record.limit);
    line(families.active, record.active ? 1 : 0);
    line(families.activeSlots, record.active_slots);
    line(families.waiting, waiting);
    line(families.grants, totals.grants);
    line(families.slotsGranted, totals.slotsGranted);
    line(families.refusals, totals.refusals);
    line(families.waitTimeouts, totals.waitTimeouts);
    line(families.cancels, totals.cancels);
    line(families.expirations, totals.leaseExpirations);
    families.wait.lines.push(...histogramLines(METRICS.waitSeconds, limit, totals.wait, WAIT_BOUNDS_SECONDS));
    families.hold.lines.push(...histogramLines(METRICS.holdSeconds, limit, totals.hold, HOLD_BOUNDS_SECONDS));
  }
  const scrapeFamilies = [
    {
      ...family(METRICS.scrapeLimits, "gauge", "Limits read by this scrape."),
      lines: [`${METRICS.scrapeLimits} ${samples.length}`],
    },
    {
      ...family(
        METRICS.scrapeTruncated,
        "gauge",
        "1 when more limits exist than one scrape reads: page on with ?offset=.",
      ),
      lines: [`${METRICS.scrapeTruncated} ${scrape.truncated ? 1 : 0}`],
    },
  ];
  const blocks = [...Object.values(families), ...scrapeFamilies]
    .filter((f) => f.lines.length > 0)
    .map((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.lines].join("\n"));
  return `${blocks.join("\n")}\n`;
}

/** The JSON form of one limit's sample (`GET /metrics?format=json`, used by `gcl top` and the dashboard). */
export function snapshotOf({ record, waiting, totals, lastHour }: LimitSample): LimitSnapshot {
  const holds = totals.hold.counts.reduce((sum, count) => sum + count, 0);
  return {
    name: record.name,
    limit: record.limit,
    active: record.active,
    active_slots: record.active_slots,
    waiting,
    grants_total: totals.grants,
    slots_granted_total: totals.slotsGranted,
    refusals_total: totals.refusals,
    wait_timeouts_total: totals.waitTimeouts,
    cancels_total: totals.cancels,
    lease_expirations_total: totals.leaseExpirations,
    wait_seconds: summarize(totals.wait, WAIT_BOUNDS_SECONDS),
    mean_hold_seconds: holds > 0 ? totals.hold.sum / holds : null,
    last_hour_peaks: lastHour?.peaks ?? [],
    last_hour_grants: lastHour?.grants ?? 0,
    last_hour_refusals: lastHour?.refusals ?? 0,
  };
}
