/**
 * Human output of the `gcl` command line: aligned tables, relative times ("3 s ago", "in 42 s"),
 * and colors only for a terminal that wants them. `--json` output does not come through here: it
 * is the API's JSON, unchanged. Pure functions: the clock is an argument.
 */

import type { LeaseHolder, LeaseInfo, LimitLeases, LimitRecord } from "../client/index";
import type { CliIo, Output } from "./io";

/** ANSI styles; each is the identity when colors are off. */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const PLAIN: Style = { bold: same, dim: same, red: same, green: same, yellow: same };

function same(text: string): string {
  return text;
}

function ansi(open: number, close: number): (text: string) => string {
  return (text) => `\u001b[${open}m${text}\u001b[${close}m`;
}

const COLORED: Style = {
  bold: ansi(1, 22),
  dim: ansi(2, 22),
  red: ansi(31, 39),
  green: ansi(32, 39),
  yellow: ansi(33, 39),
};

/** Colors for a terminal, unless `NO_COLOR` is set (https://no-color.org) or the terminal is dumb. */
export function hasColors(stream: Output, env: CliIo["env"]): boolean {
  return stream.isTTY === true && (env.NO_COLOR ?? "") === "" && env.TERM !== "dumb";
}

export function styleFor(stream: Output, env: CliIo["env"]): Style {
  return hasColors(stream, env) ? COLORED : PLAIN;
}

/** Visible width: ANSI color codes take no columns. */
function width(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is exactly what an ANSI color code starts with
  return text.replace(/\u001b\[[0-9;]*m/g, "").length;
}

export interface Column {
  header: string;
  /** Numbers read best right-aligned. @default "left" */
  align?: "left" | "right";
}

/** Rows under a header, every column as wide as its widest cell, two spaces apart. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[], style: Style = PLAIN): string {
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...rows.map((row) => width(row[index] ?? ""))),
  );
  const line = (cells: readonly string[], styleCell: (text: string) => string = same): string =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? "";
        const padding = " ".repeat(Math.max(0, (widths[index] ?? 0) - width(cell)));
        return column.align === "right" ? padding + styleCell(cell) : styleCell(cell) + padding;
      })
      .join("  ")
      .trimEnd();
  return (
    [
      line(
        columns.map((column) => column.header),
        style.bold,
      ),
      ...rows.map((row) => line(row)),
    ].join("\n") + "\n"
  );
}

/** `key  value` lines with the keys aligned. */
export function details(pairs: readonly (readonly [string, string])[], style: Style = PLAIN): string {
  const keyWidth = Math.max(...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${style.bold(key.padEnd(keyWidth))}  ${value}`).join("\n") + "\n";
}

/** "3 s ago", "in 42 s", "5 min ago", "2 h ago", "3 d ago"; "now" within a second. */
export function relativeTime(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) {
    return iso;
  }
  const seconds = (at - now) / 1000;
  const span = Math.abs(seconds);
  if (span < 1) {
    return "now";
  }
  const amount = duration(span);
  return seconds < 0 ? `${amount} ago` : `in ${amount}`;
}

/** A length of time, rounded down to the unit that reads best: "42 s", "5 min", "2 h", "3 d". */
export function duration(seconds: number): string {
  if (seconds < 60) {
    return `${Math.floor(seconds)} s`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min`;
  }
  if (seconds < 86_400) {
    return `${Math.floor(seconds / 3600)} h`;
  }
  return `${Math.floor(seconds / 86_400)} d`;
}

/** A number without float noise: `0.1`, not `0.10000000000000001`. */
function number(value: number): string {
  return String(Number(value.toPrecision(12)));
}

function yesNo(value: boolean): string {
  return value ? "yes" : "no";
}

/** The `gcl ls` table. */
export function limitsTable(records: readonly LimitRecord[], now: number, style: Style): string {
  return table(
    [
      { header: "NAME" },
      { header: "ACTIVE" },
      { header: "LIMIT", align: "right" },
      { header: "ACTIVE SLOTS", align: "right" },
      { header: "DECAY/S", align: "right" },
      { header: "UPDATED" },
    ],
    records.map((record) => [
      record.name,
      record.active ? yesNo(true) : style.yellow(yesNo(false)),
      String(record.limit),
      String(record.active_slots),
      record.slot_decay_per_second > 0 ? number(record.slot_decay_per_second) : "-",
      relativeTime(record.updated, now),
    ]),
    style,
  );
}

/** The `gcl inspect` page. */
export function limitDetails(record: LimitRecord, now: number, style: Style): string {
  return details(
    [
      ["name", record.name],
      ["id", record.id],
      ["active", record.active ? yesNo(true) : style.yellow(yesNo(false))],
      ["limit", String(record.limit)],
      ["active slots", String(record.active_slots)],
      ["denied slots", String(record.denied_slots)],
      [
        "slot decay",
        record.slot_decay_per_second > 0 ? `${number(record.slot_decay_per_second)} per second (a rate limit)` : "none",
      ],
      ["avg occupancy", `${number(record.avg_slot_occupancy_seconds)} s`],
      ["created", `${record.created} (${relativeTime(record.created, now)})`],
      ["updated", `${record.updated} (${relativeTime(record.updated, now)})`],
    ],
    style,
  );
}

/** Longest holder shown in the `gcl leases` table; `--json` has it whole. */
const HOLDER_WIDTH = 60;

export function holderLabel(holder: LeaseHolder | null): string {
  const label = holder === null ? "-" : `${holder.type} ${holder.id}`;
  return label.length <= HOLDER_WIDTH ? label : `${label.slice(0, HOLDER_WIDTH - 1)}…`;
}

/** The `gcl leases` page: who holds the slots, then how many wait. */
export function leasesTable(name: string, answer: LimitLeases, now: number, style: Style): string {
  const waiting =
    answer.waiting === 0
      ? "Nobody is waiting."
      : `${answer.waiting} ${answer.waiting === 1 ? "request is" : "requests are"} waiting for slots.`;
  const line = waitersTable(answer, now, style);
  if (answer.leases.length === 0) {
    return `No leases on global concurrency limit '${name}'. ${waiting}\n${line}`;
  }
  const rows = answer.leases.map((lease: LeaseInfo) => [
    holderLabel(lease.holder),
    String(lease.slots),
    relativeTime(lease.acquired_at, now),
    relativeTime(lease.expires_at, now),
  ]);
  return (
    table(
      [{ header: "HOLDER" }, { header: "SLOTS", align: "right" }, { header: "ACQUIRED" }, { header: "EXPIRES" }],
      rows,
      style,
    ) + `${waiting}\n${line}`
  );
}

/** The line, head first, under the leases (empty when nobody waits, or from an older server). */
function waitersTable(answer: LimitLeases, now: number, style: Style): string {
  const waiters = answer.waiters ?? [];
  if (waiters.length === 0) {
    return "";
  }
  const rows = waiters.map((waiter) => [
    String(waiter.position),
    holderLabel(waiter.holder),
    String(waiter.slots),
    waiter.mode,
    relativeTime(waiter.waiting_since, now),
  ]);
  return table(
    [
      { header: "#", align: "right" },
      { header: "WAITER" },
      { header: "SLOTS", align: "right" },
      { header: "MODE" },
      { header: "SINCE" },
    ],
    rows,
    style,
  );
}
