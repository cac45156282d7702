/**
 * The dashboard's charts, drawn as inline SVG (no library, nothing the CSP would refuse): four
 * small charts of a limit's last hour from its history buckets, and a sparkline of the last
 * hour's peaks for each row of the list. Each chart is an image with a text alternative that
 * says what it shows in numbers.
 */

import { isSaturated, seconds } from "../../client/format";
import type { HistoryBucket } from "../../client/index";

const SVG = "http://www.w3.org/2000/svg";
/** Drawing units: one per bucket across, 100 up. The SVG stretches to its box. */
const HEIGHT = 100;

function svgElement<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string>,
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, value);
  }
  return element;
}

function canvas(width: number, label: string, className: string): SVGSVGElement {
  const svg = svgElement("svg", {
    viewBox: `0 0 ${Math.max(1, width)} ${HEIGHT}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": label,
    class: className,
  });
  const title = svgElement("title", {});
  title.textContent = label;
  svg.append(title);
  return svg;
}

/** A filled area under `values` (each 0..1 of the height), one step per bucket. */
function area(values: readonly number[], className: string): SVGPathElement {
  let d = `M0 ${HEIGHT}`;
  values.forEach((value, i) => {
    const y = HEIGHT - Math.max(0, Math.min(1, value)) * HEIGHT;
    d += ` L${i} ${y.toFixed(2)} L${i + 1} ${y.toFixed(2)}`;
  });
  d += ` L${values.length} ${HEIGHT} Z`;
  return svgElement("path", { d, class: className });
}

/** A line through `values` (0..1, or null for a gap). */
function line(values: readonly (number | null)[], className: string): SVGPathElement {
  let d = "";
  let pen = false;
  values.forEach((value, i) => {
    if (value === null) {
      pen = false;
      return;
    }
    const y = (HEIGHT - Math.max(0, Math.min(1, value)) * HEIGHT).toFixed(2);
    d += `${pen ? " L" : " M"}${i + 0.5} ${y}`;
    pen = true;
  });
  return svgElement("path", { d: d.trim() || "M0 0", class: className, "vector-effect": "non-scaling-stroke" });
}

/** The largest measured value, or null when nothing was measured. */
function largest(values: readonly (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length === 0 ? null : Math.max(...known);
}

function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

export interface ChartSet {
  utilization: SVGSVGElement;
  waiting: SVGSVGElement;
  traffic: SVGSVGElement;
  wait: SVGSVGElement;
}

/** The four charts of a limit's last hour. */
export function historyCharts(buckets: readonly HistoryBucket[]): ChartSet {
  const n = buckets.length;
  const use = buckets.map((b) => (b.limit > 0 ? b.peak_active_slots / b.limit : b.peak_active_slots > 0 ? 1 : 0));
  const saturated = buckets.filter(isSaturated).length;
  const utilization = canvas(
    n,
    `Utilization, last hour: peak ${percent(Math.max(0, ...use))}, saturated in ${saturated} of ${n} buckets`,
    "chart",
  );
  utilization.append(
    area(use, "use"),
    area(
      use.map((u, i) => (buckets[i] && isSaturated(buckets[i]) ? u : 0)),
      "full",
    ),
  );

  const waitingPeak = Math.max(0, ...buckets.map((b) => b.peak_waiting));
  const waiting = canvas(n, `Waiting requests, last hour: at most ${waitingPeak} at once`, "chart");
  waiting.append(
    area(
      buckets.map((b) => (waitingPeak > 0 ? b.peak_waiting / waitingPeak : 0)),
      "waiting",
    ),
  );

  const grants = buckets.reduce((sum, b) => sum + b.grants, 0);
  const refusals = buckets.reduce((sum, b) => sum + b.refusals, 0);
  const most = Math.max(1, ...buckets.map((b) => Math.max(b.grants, b.refusals)));
  const traffic = canvas(n, `Grants and refusals, last hour: ${grants} granted, ${refusals} refused`, "chart");
  // Grants grow up from the middle, refusals down from it.
  traffic.append(
    area(
      buckets.map((b) => 0.5 + (b.grants / most) * 0.5),
      "grants",
    ),
    svgElement("rect", { x: "0", y: String(HEIGHT / 2), width: String(n), height: String(HEIGHT / 2), class: "blank" }),
    ...buckets.map((b, i) =>
      svgElement("rect", {
        x: String(i),
        y: String(HEIGHT / 2),
        width: "1",
        height: ((b.refusals / most) * (HEIGHT / 2)).toFixed(2),
        class: "refusals",
      }),
    ),
  );

  const p95 = buckets.map((b) => b.wait_seconds.p95);
  const longest = largest(buckets.map((b) => b.wait_seconds.max));
  const scale = longest !== null && longest > 0 ? longest : 1;
  const wait = canvas(
    n,
    `Wait time, last hour: worst p95 ${seconds(largest(p95))}, longest ${seconds(longest)}`,
    "chart",
  );
  wait.append(
    line(
      p95.map((v) => (v === null ? null : v / scale)),
      "p95",
    ),
    line(
      buckets.map((b) => (b.wait_seconds.p50 === null ? null : b.wait_seconds.p50 / scale)),
      "p50",
    ),
  );
  return { utilization, waiting, traffic, wait };
}

/** Peak use per minute relative to the limit, as small bars. */
export function sparkline(peaks: readonly number[], limit: number, name: string): SVGSVGElement {
  const top = Math.max(0, ...peaks);
  const label = `${name}, last hour: peak ${top} of ${limit} slots`;
  const svg = canvas(peaks.length, label, "spark");
  svg.append(
    area(
      peaks.map((peak) => (limit > 0 ? peak / limit : peak > 0 ? 1 : 0)),
      "use",
    ),
  );
  return svg;
}
