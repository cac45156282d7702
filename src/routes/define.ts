/**
 * How a route is declared: one call registers the handler with Hono and its description with the
 * OpenAPI registry, from the same zod schema that validates its body. Bodies are read here, once:
 * size-capped (413), parsed as JSON whatever the Content-Type (curl's `-d` sends form encoding),
 * and validated into a 422 that names each offending field.
 */

import type { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type Role, requireRole } from "../middleware/auth";
import { MAX_BODY_BYTES } from "../protocol/constants";
import { GclError } from "../protocol/errors";
import { ErrorSchema } from "../protocol/schemas";

export type AppEnv = { Bindings: Env };
export type App = OpenAPIHono<AppEnv>;
export type AppContext = Context<AppEnv>;

export const API_PREFIX = "/api/v2/concurrency_limits";

type Method = "get" | "post" | "patch" | "delete";

export interface RouteSpec<Body extends z.ZodType | undefined> {
  method: Method;
  /** OpenAPI-style path under `API_PREFIX`, with `{param}` placeholders. */
  path: string;
  summary: string;
  role: Role;
  body?: Body;
  /** Whether an empty body is refused. @default true when `body` is set */
  bodyRequired?: boolean;
  /** Success status → description and optional response schema. */
  success: { status: number; description: string; schema?: z.ZodType };
  /** Error statuses this route can answer, beyond auth and validation. */
  errors?: number[];
}

type BodyOf<Body> = Body extends z.ZodType ? z.infer<Body> : undefined;

/** Each app's registered paths, to tell a wrong method (405) from an unknown path (404). */
const knownPaths = new WeakMap<App, { pattern: RegExp; method: string }[]>();

export function defineRoute<Body extends z.ZodType | undefined>(
  app: App,
  spec: RouteSpec<Body>,
  handler: (c: AppContext, body: BodyOf<Body>) => Promise<Response>,
): void {
  const honoPath = API_PREFIX + spec.path.replace(/\{(\w+)\}/g, ":$1");
  const bodySchema = spec.body;
  const required = spec.bodyRequired ?? true;
  const routes = knownPaths.get(app) ?? [];
  knownPaths.set(app, routes);
  routes.push({
    pattern: new RegExp(`^${(API_PREFIX + spec.path).replace(/\{\w+\}/g, "[^/]+")}/?$`),
    method: spec.method.toUpperCase(),
  });
  app.on(
    spec.method.toUpperCase(),
    honoPath,
    requireRole(spec.role),
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new GclError("payload_too_large", `request body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
    async (c) => {
      const body = bodySchema ? parseBody(bodySchema, await readJson(c), required) : undefined;
      return handler(c, body as BodyOf<Body>);
    },
  );
  register(app, spec);
}

/** The methods a path exists for, or an empty list when no route has it. */
export function allowedMethods(app: App, path: string): string[] {
  return (knownPaths.get(app) ?? []).filter((route) => route.pattern.test(path)).map((route) => route.method);
}

async function readJson(c: AppContext): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new GclError("invalid_json", `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Validates a request body (`undefined` when absent) into its schema's type, or a 422 naming each field. */
export function parseBody<Schema extends z.ZodType>(schema: Schema, raw: unknown, required: boolean): z.infer<Schema> {
  if (raw === undefined) {
    if (required) {
      throw new GclError("invalid_request", "request body is required", {
        errors: [{ path: "", message: "request body is required" }],
      });
    }
    raw = {};
  }
  const result = schema.safeParse(raw);
  if (result.success) {
    return result.data;
  }
  const errors = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
  const detail = errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join("; ");
  throw new GclError("invalid_request", detail, { errors });
}

const STATUS_TEXT: Record<number, string> = {
  401: "Missing or invalid bearer token",
  403: "The client token may not use this route",
  404: "Concurrency Limit not found",
  409: "A limit with this name exists",
  410: "Lease not found - it may have expired or been revoked",
  413: "Request body over 64 KiB",
  422: "Invalid request",
  423: "Locked: slots unavailable; see the Retry-After header",
  503: "Auth is not configured",
};

function register(app: App, spec: RouteSpec<z.ZodType | undefined>): void {
  const errorResponse = (status: number) => ({
    description: STATUS_TEXT[status] ?? "Error",
    content: { "application/json": { schema: ErrorSchema } },
  });
  const responses: Record<string, object> = {
    [spec.success.status]: spec.success.schema
      ? { description: spec.success.description, content: { "application/json": { schema: spec.success.schema } } }
      : { description: spec.success.description },
  };
  for (const status of [401, 403, 503, ...(spec.body ? [413, 422] : []), ...(spec.errors ?? [])]) {
    responses[status] = errorResponse(status);
  }
  const params = [...spec.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  app.openAPIRegistry.registerPath({
    method: spec.method,
    path: API_PREFIX + spec.path,
    summary: spec.summary,
    security: [{ bearer: [] }],
    ...(params.length > 0
      ? { parameters: params.map((name) => ({ name, in: "path" as const, required: true, schema: { type: "string" as const } })) }
      : {}),
    ...(spec.body
      ? { request: { body: { required: spec.bodyRequired ?? true, content: { "application/json": { schema: spec.body } } } } }
      : {}),
    responses,
  });
}
