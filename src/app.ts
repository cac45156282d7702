/**
 * The Worker's HTTP app: the API routes, `/healthz`, `/openapi.json`, the dashboard at `/`, and
 * the one error handler that turns every failure into `{detail, code}` JSON with the right status.
 * Nothing answers 500 to bad input: a 500 means a bug, and is logged.
 */

import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { dashboardRoutes } from "./dashboard";
import { GclError } from "./protocol/errors";
import { type App, type AppEnv, allowedMethods, API_PREFIX } from "./routes/define";
import { limitRoutes } from "./routes/limits";
import { observeRoutes } from "./routes/observe";
import { slotRoutes } from "./routes/slots";

/** Renders a GclError; 423 answers carry `Retry-After` as decimal seconds (Prefect parses floats). */
function errorResponse(error: GclError): Response {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) {
    headers["Retry-After"] = error.retryAfterSeconds.toFixed(3);
  }
  return Response.json(error.toBody(), { status: error.status, headers });
}

/** Platform errors from a Durable Object that say "try again" (overloaded, reset, moved). */
function isRetryableError(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === true;
}

export function createApp(): App {
  const app: App = new OpenAPIHono<AppEnv>();

  app.get("/healthz", (c) => c.json({ ok: true }));
  dashboardRoutes(app);
  slotRoutes(app);
  observeRoutes(app); // issue 14: history and /metrics
  limitRoutes(app);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.doc("/openapi.json", {
    openapi: "3.0.3",
    info: {
      title: "edge-gcl",
      version: "0.1.0",
      description: "Global concurrency limits and rate limits, one Durable Object per limit.",
    },
  });

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      return errorResponse(new GclError("method_not_allowed", `${c.req.method} is not allowed here; use ${allowed.join(", ")}`));
    }
    const hint = c.req.path.startsWith(API_PREFIX) ? "" : ` (the API lives under ${API_PREFIX})`;
    return errorResponse(new GclError("route_not_found", `no route for ${c.req.method} ${c.req.path}${hint}`));
  });

  app.onError((error) => {
    if (error instanceof GclError) {
      return errorResponse(error);
    }
    if (error instanceof HTTPException && error.status < 500) {
      return errorResponse(new GclError("invalid_request", error.message || "invalid request"));
    }
    if (isRetryableError(error)) {
      return errorResponse(new GclError("unavailable", "a limit object is briefly unavailable; try again", { cause: error }));
    }
    console.error("unhandled error", error);
    return errorResponse(new GclError("internal", "internal error"));
  });

  return app;
}
