/**
 * The list view: one row per limit with its status, occupancy meter, a sparkline of the last
 * hour, decay, waiting count and refusals over the last hour. Rows are kept across polls (keyed
 * by name) so focus and scroll survive updates. Waiting, the sparkline and refusals come from
 * `GET /metrics?format=json`, which needs the admin token: with the client token they read "–".
 */

import type { LimitRecord, LimitSnapshot } from "../../client/index";
import { sparkline } from "./charts";
import { $, cell, createMeter, type Meter, number, setBadge, updateMeter } from "./dom";

export interface ListData {
  limits: LimitRecord[];
  /** By name; null when the token may not read metrics. */
  snapshots: Map<string, LimitSnapshot> | null;
  loaded: boolean;
}

interface Row {
  tr: HTMLTableRowElement;
  status: HTMLElement;
  meter: Meter;
  spark: HTMLTableCellElement;
  decay: HTMLTableCellElement;
  waiting: HTMLTableCellElement;
  refused: HTMLTableCellElement;
}

const rows = new Map<string, Row>();

function createRow(name: string): Row {
  const tr = document.createElement("tr");
  const nameCell = cell("th");
  nameCell.scope = "row";
  const link = document.createElement("a");
  link.href = `#limit/${encodeURIComponent(name)}`;
  link.textContent = name;
  nameCell.append(link);
  const status = document.createElement("span");
  const statusCell = cell("td", "Status");
  statusCell.append(status);
  const meterCell = cell("td", "Occupied");
  const meterBox = document.createElement("div");
  meterBox.className = "meter";
  meterCell.append(meterBox);
  const spark = cell("td", "Last hour", "spark-cell");
  const decay = cell("td", "Decay / s", "num");
  const waiting = cell("td", "Waiting", "num");
  const refused = cell("td", "Refused (1 h)", "num");
  tr.append(nameCell, statusCell, meterCell, spark, decay, waiting, refused);
  return { tr, status, meter: createMeter(meterBox), spark, decay, waiting, refused };
}

const ADMIN_ONLY = "Needs the admin token";

export function renderList(data: ListData): void {
  const body = $("limits-body");
  const seen = new Set<string>();
  data.limits.forEach((record, index) => {
    seen.add(record.name);
    let row = rows.get(record.name);
    if (!row) {
      row = createRow(record.name);
      rows.set(record.name, row);
    }
    const snapshot = data.snapshots?.get(record.name);
    setBadge(row.status, record.active);
    updateMeter(row.meter, record);
    row.decay.textContent = record.slot_decay_per_second > 0 ? number(record.slot_decay_per_second) : "–";
    row.waiting.textContent = snapshot ? String(snapshot.waiting) : "–";
    row.refused.textContent = snapshot ? String(snapshot.last_hour_refusals) : "–";
    row.refused.title = snapshot
      ? `${snapshot.last_hour_refusals} refused and ${snapshot.last_hour_grants} granted in the last hour`
      : ADMIN_ONLY;
    row.waiting.title = snapshot ? "" : ADMIN_ONLY;
    if (snapshot && snapshot.last_hour_peaks.length > 0) {
      row.spark.replaceChildren(sparkline(snapshot.last_hour_peaks, record.limit, record.name));
    } else {
      row.spark.textContent = "–";
      row.spark.title = ADMIN_ONLY;
    }
    if (body.children[index] !== row.tr) {
      body.insertBefore(row.tr, body.children[index] ?? null);
    }
  });
  for (const [name, row] of rows) {
    if (!seen.has(name)) {
      row.tr.remove();
      rows.delete(name);
    }
  }
  const count = data.limits.length;
  $("limit-count").textContent = data.loaded ? `(${count})` : "";
  $("list-empty").hidden = !data.loaded || count > 0;
}
