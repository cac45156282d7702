/**
 * `gcl history NAME`: a limit's last hour (10 s buckets) or day (`--resolution 1m`) as a table of
 * the buckets where anything happened, under a summary that answers "was it saturated, and how
 * long did callers wait?". `--json` prints the API's answer unchanged. Formatting is pure.
 */

import type { HistoryBucket, HistoryResolution, LimitHistory } from "../client/index";
import type { Context } from "./context";
import { EXIT } from "./errors";
import { type Style, table } from "./format";

export interface HistoryOptions {
  json?: boolean;
  resolution?: HistoryResolution;
  /** Every bucket of the window, idle ones included. */
  all?: boolean;
}

export async function showHistory(context: Context, name: string, options: HistoryOptions): Promise<number> {
  const history = await context.client.limits.history(name, { resolution: options.resolution ?? "10s" });
  if (options.json) {
    context.json(history);
  } else {
    context.io.stdout.write(historyReport(history, context.out, options.all === true));
  }
  return EXIT.ok;
}

/** "—" for never measured, milliseconds under a second, else seconds. */
export function seconds(value: number | null): string {
  if (value === null) {
    return "—";
  }
  if (value < 1) {
    return `${Math.round(value * 1000)} ms`;
  }
  return `${Number(value.toPrecision(3))} s`;
}

function isBusy(bucket: HistoryBucket): boolean {
  return (
    bucket.grants + bucket.refusals + bucket.cancels + bucket.lease_expirations > 0 ||
    bucket.peak_active_slots > 0 ||
    bucket.peak_waiting > 0
  );
}

function saturated(bucket: HistoryBucket): boolean {
  return bucket.limit > 0 && bucket.peak_active_slots >= bucket.limit;
}

/** `HH:MM:SS` (10 s buckets) or `MM-DD HH:MM` (1 min buckets), in UTC. */
function bucketTime(start: string, bucketSeconds: number): string {
  const iso = new Date(start).toISOString();
  return bucketSeconds < 60 ? iso.slice(11, 19) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

function maxOf(values: (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length === 0 ? null : Math.max(...known);
}

/** One paragraph: saturation, traffic, refusals, lost holders and the worst waits of the window. */
export function historySummary(history: LimitHistory): string {
  const { buckets } = history;
  const sum = (field: "grants" | "refusals" | "wait_timeouts" | "lease_expirations" | "cancels") =>
    buckets.reduce((total, bucket) => total + bucket[field], 0);
  const window = history.resolution === "10s" ? "last hour" : "last day";
  const full = buckets.filter(saturated);
  const unit = `${history.bucket_seconds >= 60 ? `${history.bucket_seconds / 60} min` : `${history.bucket_seconds} s`}`;
  const saturation =
    full.length === 0
      ? "never saturated"
      : `saturated in ${full.length} of ${buckets.length} ${unit} buckets (${bucketTime(full[0]?.start ?? "", history.bucket_seconds)}–${bucketTime(full.at(-1)?.start ?? "", history.bucket_seconds)} UTC)`;
  const waitP95 = maxOf(buckets.map((bucket) => bucket.wait_seconds.p95));
  const waitMax = maxOf(buckets.map((bucket) => bucket.wait_seconds.max));
  const peakWaiting = Math.max(0, ...buckets.map((bucket) => bucket.peak_waiting));
  return [
    `Limit '${history.name}', ${window}: ${saturation}.`,
    `${sum("grants")} grants, ${sum("refusals")} refusals (${sum("wait_timeouts")} after waiting), ${sum("cancels")} cancelled, ${sum("lease_expirations")} leases lost to expiry.`,
    `Waits: worst p95 ${seconds(waitP95)}, longest ${seconds(waitMax)}; at most ${peakWaiting} waiting at once.`,
  ].join("\n");
}

export function historyReport(history: LimitHistory, style: Style, all: boolean): string {
  const rows = history.buckets.filter((bucket) => all || isBusy(bucket));
  const summary = `${historySummary(history)}\n`;
  if (rows.length === 0) {
    return `${summary}Nothing happened in this window.\n`;
  }
  const right = "right" as const;
  return `${summary}\n${table(
    [
      { header: "TIME (UTC)" },
      { header: "PEAK/LIMIT", align: right },
      { header: "WAITING", align: right },
      { header: "GRANTS", align: right },
      { header: "REFUSED", align: right },
      { header: "TIMED OUT", align: right },
      { header: "LOST", align: right },
      { header: "WAIT P50", align: right },
      { header: "WAIT P95", align: right },
      { header: "WAIT MAX", align: right },
      { header: "HOLD P50", align: right },
    ],
    rows.map((bucket) => {
      const peak = `${bucket.peak_active_slots}/${bucket.limit}`;
      return [
        bucketTime(bucket.start, history.bucket_seconds),
        saturated(bucket) ? style.yellow(peak) : peak,
        String(bucket.peak_waiting),
        String(bucket.grants),
        bucket.refusals > 0 ? style.red(String(bucket.refusals)) : "0",
        String(bucket.wait_timeouts),
        String(bucket.lease_expirations),
        seconds(bucket.wait_seconds.p50),
        seconds(bucket.wait_seconds.p95),
        seconds(bucket.wait_seconds.max),
        seconds(bucket.hold_seconds.p50),
      ];
    }),
    style,
  )}`;
}
