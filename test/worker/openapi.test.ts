/**
 * `/openapi.json` is generated at build time (`npm run openapi`); this checks that the committed
 * document is what the app's routes and schemas build today, and that the Worker serves it.
 */

import { exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createApp } from "../../src/app";
import { routeSpecs } from "../../src/routes/define";
import { buildOpenApiDocument } from "../../src/routes/openapi";
import { openApiDocument } from "../../src/routes/openapi-document";

describe("/openapi.json", () => {
  it("is current: run `npm run openapi` after changing a route or a schema", ({ expect }) => {
    const built = buildOpenApiDocument(routeSpecs(createApp()), openApiDocument.info.version);
    expect(built).toEqual(openApiDocument);
  });

  it("is served as generated", async ({ expect }) => {
    const response = await exports.default.fetch("http://gcl.test/openapi.json");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(openApiDocument);
  });

  it("documents each request field with its bounds", ({ expect }) => {
    const schemas = openApiDocument.components.schemas;
    expect(schemas.CreateLimit.required).toEqual(["name", "limit"]);
    expect(schemas.CreateLimit.additionalProperties).toBe(false);
    expect(schemas.IncrementWithLease.properties.slots).toEqual({
      type: "integer",
      minimum: 1,
      maximum: 1_000_000_000,
    });
    expect(schemas.IncrementWithLease.properties.holder).toMatchObject({ type: "object", required: ["type", "id"] });
    expect(schemas.Limit.properties.avg_slot_occupancy_seconds).toEqual({ type: "number" });
  });
});
