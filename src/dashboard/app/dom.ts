/**
 * Small DOM helpers of the dashboard: element lookup, table cells, the occupancy meter, badges
 * and live relative times. API strings are only ever set as text (`textContent`, `append`),
 * never as HTML: limit names and holders are user input.
 */

import { span } from "../../client/format";

export function $(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) {
    throw new Error(`the page has no #${id}`);
  }
  return element;
}

export function input(id: string): HTMLInputElement {
  const element = $(id);
  if (!(element instanceof HTMLInputElement)) {
    throw new Error(`#${id} is not an input`);
  }
  return element;
}

/** A table cell; `label` is what the phone layout shows before its value. */
export function cell(tag: "td" | "th", label?: string, className?: string): HTMLTableCellElement {
  const element = document.createElement(tag);
  if (label) {
    element.dataset.label = label;
  }
  if (className) {
    element.className = className;
  }
  return element;
}

export interface Meter {
  bar: HTMLElement;
  fill: HTMLElement;
  text: HTMLElement;
}

export function createMeter(container: HTMLElement): Meter {
  const bar = document.createElement("div");
  bar.className = "bar";
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  const fill = document.createElement("div");
  fill.className = "fill";
  bar.append(fill);
  const text = document.createElement("span");
  text.className = "meter-text";
  container.append(bar, text);
  return { bar, fill, text };
}

export function updateMeter(meter: Meter, record: { name: string; limit: number; active_slots: number }): void {
  const { active_slots: used, limit, name } = record;
  const ratio = limit > 0 ? Math.min(1, used / limit) : used > 0 ? 1 : 0;
  meter.bar.setAttribute("aria-label", `Occupied slots of ${name}`);
  meter.bar.setAttribute("aria-valuenow", String(used));
  meter.bar.setAttribute("aria-valuemax", String(limit));
  meter.bar.setAttribute("aria-valuetext", `${used} of ${limit} slots occupied`);
  meter.bar.dataset.level = used >= limit && (limit > 0 || used > 0) ? "full" : ratio >= 0.8 ? "high" : "ok";
  // CSSOM, not a style attribute: the CSP allows the one, not the other.
  meter.fill.style.width = `${(ratio * 100).toFixed(1)}%`;
  meter.text.textContent = `${used} / ${limit}`;
}

export function setBadge(element: HTMLElement, active: boolean): void {
  element.className = `badge ${active ? "on" : "off"}`;
  element.textContent = active ? "active" : "inactive";
}

/** A number without float noise. */
export function number(value: number, digits = 3): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(digits)));
}

/** The server's clock, as the page best knows it (see `Session.noteServerClock`). */
export type Clock = () => number;

function relative(iso: string, kind: "ago" | "until", now: number): string {
  if (kind === "ago") {
    return `${span((now - Date.parse(iso)) / 1000)} ago`;
  }
  // Rounded up, so it reads "in 1 s" until the lease is really dead.
  const seconds = Math.ceil((Date.parse(iso) - now) / 1000);
  return seconds > 0 ? `in ${span(seconds)}` : "expired";
}

/** A `<time>` that `tickTimes` keeps saying "… ago" or "in …". */
export function timeElement(iso: string, kind: "ago" | "until", clock: Clock): HTMLTimeElement {
  const element = document.createElement("time");
  element.dateTime = iso;
  element.title = new Date(iso).toLocaleString();
  element.dataset.relative = kind;
  element.textContent = relative(iso, kind, clock());
  return element;
}

export function tickTimes(clock: Clock): void {
  const now = clock();
  for (const element of document.querySelectorAll<HTMLTimeElement>("time[data-relative]")) {
    element.textContent = relative(element.dateTime, element.dataset.relative === "until" ? "until" : "ago", now);
  }
}
