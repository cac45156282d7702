/**
 * `gcl history NAME`: a limit's last hour (10 s buckets) or day (`--resolution 1m`) as a table of
 * the buckets where anything happened, under a summary that answers "was it saturated, and how
 * long did callers wait?". `--json` prints the API's answer unchanged. Formatting is pure.
 */

import type { HistoryBucket, HistoryResolution, LimitHistory } from "../client/index";
import { bucketTime, historySummary, isSaturated, seconds } from "../client/format";
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

function isBusy(bucket: HistoryBucket): boolean {
  return (
    bucket.grants + bucket.refusals + bucket.cancels + bucket.lease_expirations > 0 ||
    bucket.peak_active_slots > 0 ||
    bucket.peak_waiting > 0
  );
}

export function historyReport(history: LimitHistory, style: Style, all: boolean): string {
  const rows = history.buckets.filter((bucket) => all || isBusy(bucket));
  const summary = `${historySummary(history).join("\n")}\n`;
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
        isSaturated(bucket) ? style.yellow(peak) : peak,
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
