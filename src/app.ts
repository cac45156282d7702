/**
 * The Worker's HTTP app: the API routes, `/healthz`, `/openapi.json`, the dashboard at `/`, and
 * the one error handler that turns every failure into `{detail, code}` JSON with the right status.
 * Nothing answers 500 to bad input: a 500 means a bug, and is logged.
 */

import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { dashboardRoutes } from "./dashboard";
import { prefectRoutes } from "./prefect/routes";
import { asGclError } from "./operations/failure";
import { GclError } from "./protocol/errors";
import { API_PREFIX } from "./protocol/constants";
import { type App, type AppEnv, allowedMethods } from "./routes/define";
import { limitRoutes } from "./routes/limits";
import { openApiDocument } from "./routes/openapi-document";
import { observeRoutes } from "./routes/observe";
import { slotRoutes } from "./routes/slots";

/** Renders a GclError; 423 and `overloaded` answers carry `Retry-After` as decimal seconds (Prefect parses floats). */
function errorResponse(error: GclError, headers: Record<string, string> = {}): Response {
  if (error.retryAfterSeconds !== undefined) {
    headers["Retry-After"] = error.retryAfterSeconds.toFixed(3);
  }
  return Response.json(error.toBody(), { status: error.status, headers });
}

/** What a path outside every route probably meant. */
function routeHint(path: string): string {
  if (path.includes("//")) {
    return "; the path has an empty segment (//)";
  }
  if (path === API_PREFIX || path.startsWith(`${API_PREFIX}/`)) {
    return "; /openapi.json lists every route";
  }
  // `/api/concurrency_limits/…` (Prefect 2's tag limits), `/concurrency_limits/…`, `/v2/…`: same API, other prefix.
  const at = path.indexOf("/concurrency_limits");
  if (at >= 0) {
    return `; did you mean ${API_PREFIX}${path.slice(at + "/concurrency_limits".length)}?`;
  }
  return `; the API lives under ${API_PREFIX} (see /openapi.json)`;
}

export function createApp(): App {
  // `strict: false`: `…/db/` is `…/db`, and `POST …/concurrency_limits` is `POST …/concurrency_limits/`.
  const app: App = new Hono<AppEnv>({ strict: false });

  app.get("/healthz", (c) => c.json({ ok: true }));
  // Generated at build time from the routes' own schemas (`npm run openapi`).
  app.get("/openapi.json", (c) => c.json(openApiDocument));
  dashboardRoutes(app);
  prefectRoutes(app);
  slotRoutes(app);
  observeRoutes(app); // issue 14: history and /metrics
  limitRoutes(app);

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0 && !allowed.includes(c.req.method)) {
      return errorResponse(
        new GclError(
          "method_not_allowed",
          `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(", ")}`,
        ),
        { Allow: allowed.join(", ") },
      );
    }
    return errorResponse(
      new GclError("route_not_found", `no route for ${c.req.method} ${c.req.path}${routeHint(c.req.path)}`),
    );
  });

  app.onError((error) => {
    if (error instanceof HTTPException && error.status < 500) {
      return errorResponse(new GclError("invalid_request", error.message || "invalid request"));
    }
    // The same meaning as over RPC: ours as it is, overload and "try again" as 503s, the rest a bug.
    return errorResponse(asGclError(error));
  });

  return app;
}
