/**
 * The detail view of one limit: its occupancy and settings, its last hour (a three-line answer
 * to "was it saturated, and how long did callers wait?" over four live charts from
 * `GET /{name}/history`), its holders, and (admin) its settings form.
 */

import { historySummary, seconds, total } from "../../client/format";
import type { LimitHistory, LimitLeases, LimitRecord } from "../../client/index";
import { historyCharts } from "./charts";
import { $, type Clock, cell, createMeter, input, number, setBadge, timeElement, updateMeter } from "./dom";

export interface DetailData {
  name: string;
  /** Null when no limit has this name. */
  record: LimitRecord | null;
  /** Null when the token may not list leases. */
  leases: LimitLeases | null;
  history: LimitHistory | null;
}

/** Prefect's starting value of the occupancy average: shown as "—" until something is measured. */
const INITIAL_AVG_OCCUPANCY_SECONDS = 2;

let meter: ReturnType<typeof createMeter> | null = null;

function setting(list: HTMLElement, label: string, value: string | Node): void {
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.append(value);
  list.append(dt, dd);
}

/** The average is Prefect's default until a slot has been released with a measured time. */
function occupancy(record: LimitRecord, history: LimitHistory | null): string {
  const holds = history ? history.buckets.reduce((sum, b) => sum + b.hold_seconds.count, 0) : 0;
  if (record.avg_slot_occupancy_seconds === INITIAL_AVG_OCCUPANCY_SECONDS && holds === 0) {
    return "— (no slot released yet)";
  }
  return `${number(record.avg_slot_occupancy_seconds, 1)} s`;
}

function figure(title: string, chart: SVGSVGElement, legend: string): HTMLElement {
  const element = document.createElement("figure");
  const caption = document.createElement("figcaption");
  const heading = document.createElement("strong");
  heading.textContent = title;
  const note = document.createElement("span");
  note.className = "hint";
  note.textContent = ` ${legend}`;
  caption.append(heading, note);
  element.append(caption, chart);
  return element;
}

function renderHistory(history: LimitHistory | null): void {
  const summary = $("history-summary");
  const charts = $("history-charts");
  if (!history) {
    summary.textContent = "Loading the last hour…";
    return;
  }
  summary.replaceChildren(
    ...historySummary(history).map((text) => {
      const p = document.createElement("p");
      p.textContent = text;
      return p;
    }),
  );
  const set = historyCharts(history.buckets);
  charts.replaceChildren(
    figure("Utilization", set.utilization, "peak slots in use per 10 s, red when full"),
    figure("Waiting", set.waiting, "most requests in line per 10 s"),
    figure("Grants vs refusals", set.traffic, "granted above the line, refused (423) below"),
    figure("Wait time", set.wait, "p95 and p50 of time in line before a grant"),
  );
}

function holderCell(given: LimitLeases["leases"][number]["holder"]): HTMLTableCellElement {
  const holder = cell("td", "Holder");
  if (given) {
    // One element, so the phone layout's label/value split keeps type and id together.
    const who = document.createElement("span");
    const type = document.createElement("span");
    type.className = "muted";
    type.textContent = `${given.type} `;
    who.append(type, given.id);
    holder.append(who);
  } else {
    holder.textContent = "(no holder given)";
  }
  return holder;
}

type Waiter = NonNullable<LimitLeases["waiters"]>[number];

function waiterCells(waiter: Waiter, clock: Clock): HTMLTableRowElement {
  const tr = document.createElement("tr");
  const place = cell("td", "Place", "num");
  place.textContent = String(waiter.position);
  const slots = cell("td", "Slots", "num");
  slots.textContent = String(waiter.slots);
  const mode = cell("td", "Mode");
  mode.textContent = waiter.mode === "rate_limit" ? "rate limit" : "concurrency";
  const since = cell("td", "Waiting since");
  since.append(timeElement(waiter.waiting_since, "ago", clock));
  tr.append(place, holderCell(waiter.holder), slots, mode, since);
  return tr;
}

function renderWaiters(leases: LimitLeases | null, clock: Clock): void {
  const waiters = leases?.waiters ?? [];
  $("waiters-body").replaceChildren(...waiters.map((waiter) => waiterCells(waiter, clock)));
  $("waiters-table").hidden = waiters.length === 0;
  $("waiters-note").textContent = !leases
    ? "Listing waiting requests needs the admin token."
    : waiters.length === 0
      ? "Nobody is waiting."
      : "First come, first served: the request in place 1 gets the next free slots.";
}

function holderCells(lease: LimitLeases["leases"][number], clock: Clock): HTMLTableRowElement {
  const tr = document.createElement("tr");
  const holder = holderCell(lease.holder);
  const slots = cell("td", "Slots", "num");
  slots.textContent = String(lease.slots);
  const acquired = cell("td", "Acquired");
  acquired.append(timeElement(lease.acquired_at, "ago", clock));
  const expires = cell("td", "Expires");
  expires.append(timeElement(lease.expires_at, "until", clock));
  const leaseCell = cell("td", "Lease");
  const code = document.createElement("code");
  code.className = "lease";
  code.title = lease.lease_id;
  code.textContent = lease.lease_id;
  leaseCell.append(code);
  tr.append(holder, slots, acquired, expires, leaseCell);
  return tr;
}

export function renderDetail(detail: DetailData, clock: Clock, editing: boolean): void {
  const { name, record, leases, history } = detail;
  meter ??= createMeter($("detail-meter"));
  $("detail-heading").textContent = name;
  $("detail-missing").hidden = record !== null;
  $("detail-missing").textContent = record === null ? "There is no limit of this name: it may have been deleted." : "";
  $("detail-body").hidden = record === null;
  $("detail-status").hidden = record === null;
  if (record === null) {
    return;
  }
  setBadge($("detail-status"), record.active);
  updateMeter(meter, record);
  const held = leases ? leases.leases.reduce((sum, lease) => sum + lease.slots, 0) : null;
  $("detail-waiting").textContent = leases
    ? `${leases.waiting} ${leases.waiting === 1 ? "request waits" : "requests wait"} for slots.`
    : "";

  const settings = $("detail-settings");
  settings.replaceChildren();
  setting(settings, "Limit", `${record.limit} slots`);
  if (held !== null) {
    setting(settings, "Held by leases", String(held));
    // Slots without a lease: anonymous /increment slots, or a rate limit's leaking bucket.
    setting(settings, "Held without a lease", String(Math.max(0, record.active_slots - held)));
  }
  setting(
    settings,
    "Decay",
    record.slot_decay_per_second > 0 ? `${number(record.slot_decay_per_second)} slots / s (rate limit)` : "none",
  );
  if (history) {
    const buckets = history.buckets;
    setting(settings, "Last hour", `${total(buckets, "grants")} granted, ${total(buckets, "refusals")} refused (423)`);
    const waits = buckets.map((b) => b.wait_seconds.max).filter((max): max is number => max !== null);
    setting(settings, "Longest wait, last hour", seconds(waits.length > 0 ? Math.max(...waits) : null));
  }
  setting(settings, "Average occupancy", occupancy(record, history));
  setting(settings, "Id", record.id);
  setting(settings, "Created", timeElement(record.created, "ago", clock));
  setting(settings, "Updated", timeElement(record.updated, "ago", clock));
  renderHistory(history);

  const body = $("holders-body");
  body.replaceChildren(...(leases ? leases.leases.map((lease) => holderCells(lease, clock)) : []));
  $("holders-table").hidden = !leases || leases.leases.length === 0;
  $("holders-note").textContent = !leases
    ? "Listing holders needs the admin token."
    : leases.leases.length === 0
      ? "Nobody holds a lease on this limit."
      : "";

  renderWaiters(leases, clock);

  $("toggle-button").textContent = record.active ? "Disable" : "Enable";
  // The form shows the stored settings until someone starts editing it.
  if (!editing) {
    input("edit-limit").value = String(record.limit);
    input("edit-decay").value = String(record.slot_decay_per_second);
  }
}
