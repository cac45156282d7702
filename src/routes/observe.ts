/**
 * Observability routes (issue 14): a limit's history, `GET /{id_or_name}/history?resolution=…`,
 * and the Prometheus scrape, `GET /metrics` (admin). A scrape costs one catalog call plus one
 * limit-object call per limit (`metrics()`: record, waiting count and lifetime totals together),
 * made at most `SCRAPE_CONCURRENCY` at a time and at most `MAX_METRICS_LIMITS` per scrape; more
 * limits are read by scraping again with `?offset=`. `?format=json` answers the same numbers as
 * JSON, with each limit's last hour of peaks (for `gcl top` and the dashboard's sparklines).
 */

import { EXPOSITION_CONTENT_TYPE, type LimitSample, renderMetrics, snapshotOf } from "../core/prometheus";
import { requireRole } from "../middleware/auth";
import { CATALOG_NAME } from "../objects/catalog-object";
import { resolveName } from "../operations/limits";
import { DETAIL, GclError } from "../protocol/errors";
import {
  DEFAULT_HISTORY_RESOLUTION,
  HISTORY_RESOLUTIONS,
  isHistoryResolution,
  MAX_METRICS_LIMITS,
  type MetricsSnapshot,
} from "../protocol/observe";
import { type App, defineRoute } from "./define";

/** Limit-object calls a scrape keeps in flight at once. */
const SCRAPE_CONCURRENCY = 32;

function invalidQuery(field: string, message: string): GclError {
  return new GclError("invalid_request", `${field}: ${message}`, { errors: [{ path: field, message }] });
}

/** A non-negative integer query parameter, or a 422 naming it. */
function integerParam(raw: string | undefined, field: string, fallback: number, max: number): number {
  if (raw === undefined || raw === "") {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw invalidQuery(field, `must be an integer from 0 to ${max}, got '${raw}'`);
  }
  return value;
}

/** Runs `task` over `items`, at most `width` at a time, keeping order. */
async function mapBounded<T, R>(items: T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      results[i] = await task(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

export function observeRoutes(app: App): void {
  defineRoute(
    app,
    {
      method: "get",
      path: "/{id_or_name}/history",
      summary: "A limit's history in time buckets (?resolution=10s: last hour; 1m: last day)",
      role: "client",
      success: { status: 200, description: "Every bucket of the window, oldest first" },
      errors: [404, 422],
    },
    async (c) => {
      const resolution = c.req.query("resolution") ?? DEFAULT_HISTORY_RESOLUTION;
      if (!isHistoryResolution(resolution)) {
        const allowed = Object.keys(HISTORY_RESOLUTIONS).join(", ");
        throw invalidQuery("resolution", `must be one of ${allowed}, got '${resolution}'`);
      }
      const history = await c.env.LIMITS.getByName(await resolveName(c.env, c.req.param("id_or_name") ?? "")).history(
        resolution,
      );
      if (history === null) {
        throw new GclError("not_found", DETAIL.notFound);
      }
      return c.json(history);
    },
  );

  app.get("/metrics", requireRole("admin"), async (c) => {
    const offset = integerParam(c.req.query("offset"), "offset", 0, Number.MAX_SAFE_INTEGER);
    const pageSize = integerParam(c.req.query("limit"), "limit", MAX_METRICS_LIMITS, MAX_METRICS_LIMITS);
    const format = c.req.query("format") ?? "prometheus";
    if (format !== "prometheus" && format !== "json") {
      throw invalidQuery("format", `must be prometheus or json, got '${format}'`);
    }
    const names = await c.env.CATALOG.getByName(CATALOG_NAME).list(offset, pageSize + 1);
    const truncated = names.length > pageSize;
    const samples = await mapBounded(names.slice(0, pageSize), SCRAPE_CONCURRENCY, (name) =>
      c.env.LIMITS.getByName(name).metrics(format === "json"),
    );
    const present: LimitSample[] = [];
    for (const sample of samples) {
      if (sample !== null) {
        present.push({
          record: sample.record,
          waiting: sample.waiting,
          totals: sample.totals,
          lastHour: sample.lastHour,
        });
      }
    }
    if (format === "json") {
      const snapshot: MetricsSnapshot = { at: new Date().toISOString(), limits: present.map(snapshotOf), truncated };
      return c.json(snapshot);
    }
    return new Response(renderMetrics(present, { truncated }), {
      headers: { "Content-Type": EXPOSITION_CONTENT_TYPE, "Cache-Control": "no-store" },
    });
  });
}
