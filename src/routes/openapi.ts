/**
 * Builds the OpenAPI 3 document from the routes an app registered and their schemas. Run at build
 * time only (`npm run openapi` writes `src/routes/openapi-document.ts`, which the Worker serves as
 * is); a test checks that the committed document matches what this builds, so the Worker never
 * pays for generating it and the document never drifts from the routes.
 */

import type { JsonSchema, Schema } from "../protocol/validation";
import { ErrorSchema } from "../protocol/schemas";
import { API_PREFIX } from "../protocol/constants";
import type { AnyRouteSpec } from "./define";

const STATUS_TEXT: Record<number, string> = {
  401: "Missing or invalid bearer token",
  403: "The client token may not use this route",
  404: "Concurrency Limit not found",
  409: "A limit with this name exists",
  410: "Lease not found - it may have expired or been revoked",
  413: "Request body over 64 KiB",
  422: "Invalid request",
  423: "Locked: slots unavailable; see the Retry-After header",
  503: "Auth is not configured (`auth_not_configured`), a limit object is briefly unavailable (`unavailable`), or overloaded (`overloaded`: come back after the Retry-After header, not at once)",
};

export function buildOpenApiDocument(specs: readonly AnyRouteSpec[], version: string): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  const ref = (schema: Schema<unknown>): JsonSchema => {
    const name = schema.component;
    if (name === undefined) {
      return schema.toJson(ref);
    }
    if (!(name in components)) {
      components[name] = {}; // claimed first, so a schema that contains itself cannot loop
      components[name] = schema.toJson(ref);
    }
    return { $ref: `#/components/schemas/${name}` };
  };
  const json = (schema: Schema<unknown>) => ({ "application/json": { schema: ref(schema) } });

  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of specs) {
    const responses: Record<string, JsonSchema> = {
      [spec.success.status]: spec.success.schema
        ? { description: spec.success.description, content: json(spec.success.schema) }
        : { description: spec.success.description },
    };
    for (const status of [401, 403, 503, ...(spec.body ? [413, 422] : []), ...(spec.errors ?? [])]) {
      responses[status] = { description: STATUS_TEXT[status] ?? "Error", content: json(ErrorSchema) };
    }
    const params = [...spec.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
    const path = API_PREFIX + spec.path;
    paths[path] ??= {};
    paths[path][spec.method] = {
      summary: spec.summary,
      security: [{ bearer: [] }],
      ...(params.length > 0
        ? { parameters: params.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })) }
        : {}),
      ...(spec.body ? { requestBody: { required: spec.bodyRequired ?? true, content: json(spec.body) } } : {}),
      responses,
    };
  }
  paths["/healthz"] = {
    get: { summary: "Liveness (no auth)", responses: { 200: { description: '`{"ok": true}`' } } },
  };
  return {
    openapi: "3.0.3",
    info: {
      title: "edge-gcl",
      version,
      description: "Global concurrency limits and rate limits, one Durable Object per limit.",
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } }, schemas: components },
    paths,
  };
}
