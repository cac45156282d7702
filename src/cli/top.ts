/**
 * `gcl top`: a live view of every limit (utilization, waiting, grants and refusals per second,
 * the last hour's peaks as a sparkline), redrawn every `--interval` seconds until Ctrl-C. Rates
 * are the change of the lifetime counters between two scrapes of `GET /metrics?format=json` (one
 * request per frame, admin token). `--once` prints one frame after two scrapes `--interval`
 * apart; `--json` prints that frame as JSON. Formatting is pure.
 */

import type { LimitSnapshot, MetricsSnapshot } from "../client/index";
import { decimal } from "./arguments";
import type { Context } from "./context";
import { EXIT } from "./errors";
import { type Style, table } from "./format";
import { FORWARDED_SIGNALS } from "./io";

/** `--interval`: often enough to watch, never a busy loop. */
export const intervalSeconds = decimal(0.2, 3600);

export interface TopOptions {
  once?: boolean;
  json?: boolean;
  /** Seconds between frames. */
  interval: number;
}

/** One row of `gcl top` (and of its `--json`). */
export interface TopRow {
  name: string;
  active: boolean;
  limit: number;
  active_slots: number;
  /** active_slots / limit, 0–1 (null for a limit of 0). */
  utilization: number | null;
  waiting: number;
  /** Null on the first frame, or when a counter restarted (the limit was re-created). */
  grants_per_second: number | null;
  refusals_per_second: number | null;
  lease_expirations_total: number;
  last_hour_peaks: number[];
}

function rate(now: number, before: number | undefined, seconds: number): number | null {
  if (before === undefined || now < before || seconds <= 0) {
    return null;
  }
  return (now - before) / seconds;
}

/** The rows of a frame: `current`'s levels, rates against `previous` (if any). */
export function topRows(current: MetricsSnapshot, previous: MetricsSnapshot | null): TopRow[] {
  const before = new Map((previous?.limits ?? []).map((limit) => [limit.name, limit]));
  const seconds = previous ? (Date.parse(current.at) - Date.parse(previous.at)) / 1000 : 0;
  return current.limits.map((limit: LimitSnapshot) => ({
    name: limit.name,
    active: limit.active,
    limit: limit.limit,
    active_slots: limit.active_slots,
    utilization: limit.limit > 0 ? limit.active_slots / limit.limit : null,
    waiting: limit.waiting,
    grants_per_second: rate(limit.grants_total, before.get(limit.name)?.grants_total, seconds),
    refusals_per_second: rate(limit.refusals_total, before.get(limit.name)?.refusals_total, seconds),
    lease_expirations_total: limit.lease_expirations_total,
    last_hour_peaks: limit.last_hour_peaks,
  }));
}

const BLOCKS = "▁▂▃▄▅▆▇█";

/** Peaks relative to the limit, one block character each; blank where nothing was held. */
export function sparkline(peaks: readonly number[], limit: number): string {
  return peaks
    .map((peak) => {
      if (peak <= 0 || limit <= 0) {
        return " ";
      }
      const level = Math.min(1, peak / limit);
      return BLOCKS[Math.max(0, Math.ceil(level * BLOCKS.length) - 1)] ?? "█";
    })
    .join("");
}

function bar(utilization: number | null, width = 10): string {
  const filled = utilization === null ? 0 : Math.round(Math.min(1, utilization) * width);
  return `${"█".repeat(filled)}${"·".repeat(width - filled)}`;
}

function perSecond(value: number | null): string {
  return value === null ? "—" : String(Number(value.toFixed(value < 10 ? 2 : 1)));
}

export function topFrame(rows: readonly TopRow[], at: string, style: Style): string {
  const heading = `gcl top — ${rows.length} ${rows.length === 1 ? "limit" : "limits"} at ${at.slice(11, 19)} UTC (Ctrl-C to quit)\n`;
  if (rows.length === 0) {
    return `${heading}No global concurrency limits found.\n`;
  }
  const right = "right" as const;
  return `${heading}${table(
    [
      { header: "NAME" },
      { header: "USED", align: right },
      { header: "UTIL" },
      { header: "WAITING", align: right },
      { header: "GRANTS/S", align: right },
      { header: "REFUSED/S", align: right },
      { header: "LOST", align: right },
      { header: "LAST HOUR (peak per min)" },
    ],
    rows.map((row) => {
      const full = row.utilization !== null && row.utilization >= 1;
      const used = `${row.active_slots}/${row.limit}`;
      return [
        row.active ? row.name : `${row.name} ${style.yellow("(disabled)")}`,
        full ? style.yellow(used) : used,
        `${bar(row.utilization)} ${row.utilization === null ? "—" : `${Math.round(row.utilization * 100)}%`}`,
        row.waiting > 0 ? style.yellow(String(row.waiting)) : "0",
        perSecond(row.grants_per_second),
        row.refusals_per_second ? style.red(perSecond(row.refusals_per_second)) : perSecond(row.refusals_per_second),
        String(row.lease_expirations_total),
        sparkline(row.last_hour_peaks, row.limit),
      ];
    }),
    style,
  )}`;
}

/** Every limit, paging through the scrape when there are more than one scrape reads. */
async function snapshot(context: Context): Promise<MetricsSnapshot> {
  const first = await context.client.limits.metrics();
  const limits = [...first.limits];
  for (let page = first; page.truncated && page.limits.length > 0; ) {
    page = await context.client.limits.metrics({ offset: limits.length });
    limits.push(...page.limits);
  }
  return { at: first.at, limits, truncated: false };
}

/** Sleeps `ms`; true when a signal (Ctrl-C) cut it short. */
function pause(context: Context, ms: number): Promise<boolean> {
  const { signals } = context.io;
  return new Promise((resolve) => {
    const done = (interrupted: boolean) => {
      clearTimeout(timer);
      for (const signal of FORWARDED_SIGNALS) {
        signals.off(signal, onSignal);
      }
      resolve(interrupted);
    };
    const onSignal = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    for (const signal of FORWARDED_SIGNALS) {
      signals.on(signal, onSignal);
    }
  });
}

export async function top(context: Context, options: TopOptions): Promise<number> {
  const intervalMs = options.interval * 1000;
  const { stdout } = context.io;
  let previous = await snapshot(context);
  if (options.once || options.json) {
    if (await pause(context, intervalMs)) {
      return EXIT.ok;
    }
    const current = await snapshot(context);
    const rows = topRows(current, previous);
    if (options.json) {
      context.json(rows);
    } else {
      stdout.write(topFrame(rows, current.at, context.out));
    }
    return EXIT.ok;
  }
  // Live: redraw in place on a terminal, append frames otherwise (a pipe or a log).
  const clear = stdout.isTTY === true ? "\u001b[H\u001b[2J" : "";
  stdout.write(clear + topFrame(topRows(previous, null), previous.at, context.out));
  while (!(await pause(context, intervalMs))) {
    const current = await snapshot(context);
    stdout.write(clear + topFrame(topRows(current, previous), current.at, context.out));
    previous = current;
  }
  return EXIT.ok;
}
