/**
 * How a route is declared: one call registers the handler with Hono and records its description
 * (for the OpenAPI document built by `scripts/openapi.mjs`), with the same schema that validates
 * its body. Bodies are read here, once: size-capped (413), parsed as JSON whatever the
 * Content-Type (curl's `-d` sends form encoding), and validated into a 422 that names each
 * offending field. Trailing slashes do not matter (the app is created with `strict: false`).
 */

import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type Role, requireRole } from "../middleware/auth";
import { API_PREFIX, MAX_BODY_BYTES } from "../protocol/constants";
import { GclError } from "../protocol/errors";
import { RESERVED_NAMES } from "../protocol/names";
import { parseBody, type Schema } from "../protocol/validation";

export { parseBody } from "../protocol/validation";

export type AppEnv = { Bindings: Env };
export type App = Hono<AppEnv>;
export type AppContext = Context<AppEnv>;

type Method = "get" | "post" | "patch" | "delete";

export interface RouteSpec<Body extends Schema<unknown> | undefined> {
  method: Method;
  /** OpenAPI-style path under `API_PREFIX`, with `{param}` placeholders. */
  path: string;
  summary: string;
  role: Role;
  body?: Body;
  /** Whether an empty body is refused. @default true when `body` is set */
  bodyRequired?: boolean;
  /** Success status → description and optional response schema. */
  success: { status: number; description: string; schema?: Schema<unknown> };
  /** Error statuses this route can answer, beyond auth and validation. */
  errors?: number[];
}

export type AnyRouteSpec = RouteSpec<Schema<unknown> | undefined>;

type BodyOf<Body> = Body extends Schema<infer T> ? T : undefined;

interface KnownRoute {
  spec: AnyRouteSpec;
  /** Path segments under the prefix; `{param}` matches any one segment (`{id_or_name}`: no reserved word). */
  segments: string[];
}

/** Each app's routes: for 405 answers (which methods a path has) and for the OpenAPI document. */
const knownRoutes = new WeakMap<App, KnownRoute[]>();

/** `/a/{b}/` → `["a", "{b}"]`: one trailing slash does not count, an empty segment (`//`) does. */
function segmentsOf(path: string): string[] {
  const trimmed = path.replace(/^\//, "").replace(/\/$/, "");
  return trimmed === "" ? [] : trimmed.split("/");
}

/** Whether a path segment is a word of the API, never a limit's name. */
function isReserved(segment: string): boolean {
  return RESERVED_NAMES.includes(segment);
}

function matches(route: KnownRoute, segments: readonly string[]): boolean {
  return (
    route.segments.length === segments.length &&
    route.segments.every((pattern, index) => {
      const segment = segments[index] ?? "";
      if (pattern === "{id_or_name}") {
        return !isReserved(segment);
      }
      return pattern.startsWith("{") || pattern === segment;
    })
  );
}

export function defineRoute<Body extends Schema<unknown> | undefined>(
  app: App,
  spec: RouteSpec<Body>,
  handler: (c: AppContext, body: BodyOf<Body>) => Promise<Response>,
): void {
  // Registered without a trailing slash: under `strict: false` Hono matches both spellings then.
  const honoPath = (API_PREFIX + spec.path.replace(/\{(\w+)\}/g, ":$1")).replace(/\/$/, "");
  const bodySchema = spec.body;
  const required = spec.bodyRequired ?? true;
  const routes = knownRoutes.get(app) ?? [];
  knownRoutes.set(app, routes);
  routes.push({ spec, segments: segmentsOf(spec.path) });
  app.on(
    spec.method.toUpperCase(),
    honoPath,
    async (c, next) => {
      // `GET …/increment` is the wrong method for a route, not a limit named "increment".
      const idOrName = c.req.param("id_or_name");
      if (idOrName !== undefined && isReserved(idOrName)) {
        return c.notFound();
      }
      return next();
    },
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
}

/** The route descriptions registered on `app`, in registration order. */
export function routeSpecs(app: App): AnyRouteSpec[] {
  return (knownRoutes.get(app) ?? []).map((route) => route.spec);
}

/** The methods a path exists for, or an empty list when no route has it. */
export function allowedMethods(app: App, path: string): string[] {
  if (!(path === API_PREFIX || path.startsWith(`${API_PREFIX}/`))) {
    return [];
  }
  const segments = segmentsOf(path.slice(API_PREFIX.length));
  const methods = (knownRoutes.get(app) ?? [])
    .filter((route) => matches(route, segments))
    .map((route) => route.spec.method.toUpperCase());
  return [...new Set(methods)];
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
