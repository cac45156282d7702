/**
 * Human formatting shared by the `gcl` command line and the dashboard (issue 14): durations,
 * wait times, and the one-paragraph answer a limit's history gives to "was it saturated, and how
 * long did callers wait?". Runtime-neutral and pure: the clock is an argument.
 */

import type { HistoryBucket, LimitHistory } from "../protocol/observe";

/** A wait or hold time: "—" when never measured, milliseconds under a second, else seconds. */
export function seconds(value: number | null): string {
  if (value === null) {
    return "—";
  }
  if (value < 1) {
    return `${Math.round(value * 1000)} ms`;
  }
  return `${Number(value.toPrecision(3))} s`;
}

/** "42 s", "3 min 5 s", "2 h 4 min", "3 d 1 h". */
export function span(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) {
    return `${s} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m} min ${s % 60} s`;
  }
  const h = Math.floor(m / 60);
  if (h < 24) {
    return `${h} h ${m % 60} min`;
  }
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A bucket in which every slot was taken at some point. */
export function isSaturated(bucket: HistoryBucket): boolean {
  return bucket.limit > 0 && bucket.peak_active_slots >= bucket.limit;
}

/** `HH:MM:SS` (buckets under a minute) or `MM-DD HH:MM`, in UTC. */
export function bucketTime(start: string, bucketSeconds: number): string {
  const iso = new Date(start).toISOString();
  return bucketSeconds < 60 ? iso.slice(11, 19) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

function largest(values: (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length === 0 ? null : Math.max(...known);
}

export type HistoryCount = "grants" | "refusals" | "wait_timeouts" | "lease_expirations" | "cancels";

export function total(buckets: readonly HistoryBucket[], field: HistoryCount): number {
  return buckets.reduce((sum, bucket) => sum + bucket[field], 0);
}

/** Three lines: saturation, traffic and refusals, and the worst waits of the window. */
export function historySummary(history: LimitHistory): string[] {
  const { buckets } = history;
  const window = history.resolution === "10s" ? "last hour" : "last day";
  const full = buckets.filter(isSaturated);
  const unit = history.bucket_seconds >= 60 ? `${history.bucket_seconds / 60} min` : `${history.bucket_seconds} s`;
  const time = (bucket: HistoryBucket | undefined) => (bucket ? bucketTime(bucket.start, history.bucket_seconds) : "");
  const saturation =
    full.length === 0
      ? "never saturated"
      : `saturated in ${full.length} of ${buckets.length} ${unit} buckets (${time(full[0])}–${time(full.at(-1))} UTC)`;
  const waitP95 = largest(buckets.map((bucket) => bucket.wait_seconds.p95));
  const waitMax = largest(buckets.map((bucket) => bucket.wait_seconds.max));
  const peakWaiting = Math.max(0, ...buckets.map((bucket) => bucket.peak_waiting));
  return [
    `Limit '${history.name}', ${window}: ${saturation}.`,
    `${total(buckets, "grants")} grants, ${total(buckets, "refusals")} refusals (${total(buckets, "wait_timeouts")} after waiting), ${total(buckets, "cancels")} cancelled, ${total(buckets, "lease_expirations")} leases lost to expiry.`,
    `Waits: worst p95 ${seconds(waitP95)}, longest ${seconds(waitMax)}; at most ${peakWaiting} waiting at once.`,
  ];
}
