/**
 * Routes as a person types them (issue 16): trailing slashes do not matter, a wrong method gets a
 * 405 listing the real ones, a wrong prefix gets a hint, and the API's own path words are never
 * read as limit names.
 */

import { exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import { RESERVED_NAMES } from "../../src/protocol/names";
import { API, api, createLimit, takeLease, uniqueName } from "../helpers/api";

async function raw(method: string, url: string) {
  const response = await exports.default.fetch(url, { method });
  return {
    status: response.status,
    allow: response.headers.get("Allow"),
    body: (await response.json()) as { code: string; detail: string },
  };
}

describe("trailing slashes", () => {
  it("are optional on every route", async ({ expect }) => {
    const name = uniqueName();
    const created = await api("POST", "", { name, limit: 2 });
    expect(created.status).toBe(201);
    expect((await api("GET", `/${name}/`)).body).toEqual(created.body);
    expect((await api("PATCH", `/${name}/`, { limit: 3 })).status).toBe(204);
    const lease = await api("POST", "/increment-with-lease/", { names: [name], slots: 1 });
    expect(lease.status).toBe(200);
    expect((await api("POST", `/leases/${lease.body.lease_id}/renew/`)).status).toBe(204);
    expect((await api("GET", `/${name}/leases/`)).body.leases).toHaveLength(1);
    expect((await api("POST", "/decrement-with-lease/", { lease_id: lease.body.lease_id })).status).toBe(204);
    expect((await api("POST", "/filter/", {})).status).toBe(200);
    expect((await api("DELETE", `/${name}/`)).status).toBe(204);
    expect((await api("GET", `/${name}`)).status).toBe(404);
  });

  it("create works with and without the slash after the prefix", async ({ expect }) => {
    expect((await api("POST", "/", { name: uniqueName(), limit: 1 })).status).toBe(201);
    expect((await api("POST", "", { name: uniqueName(), limit: 1 })).status).toBe(201);
  });
});

describe("405 Method Not Allowed", () => {
  it("lists the methods the path really has, in the detail and the Allow header", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    for (const path of [`/${name}`, `/${name}/`]) {
      const response = await api("PUT", path, {});
      expect(response.status).toBe(405);
      expect(response.body).toMatchObject({
        code: "method_not_allowed",
        detail: `PUT is not allowed on /api/v2/concurrency_limits/${name}; use GET, PATCH, DELETE`,
      });
      expect(response.headers.get("Allow")).toBe("GET, PATCH, DELETE");
    }
    const collection = await api("GET", "");
    expect(collection.status).toBe(405);
    expect(collection.body.detail).toBe("GET is not allowed on /api/v2/concurrency_limits; use POST");
  });

  it("answers a path word of the API with a wrong method as such, not as a missing limit", async ({ expect }) => {
    for (const word of ["increment", "increment-with-lease", "decrement", "decrement-with-lease", "filter", "cancel"]) {
      for (const method of ["GET", "PATCH", "DELETE"]) {
        const response = await api(method, `/${word}`);
        expect(response.status, `${method} /${word}`).toBe(405);
        expect(response.body.detail).toBe(`${method} is not allowed on /api/v2/concurrency_limits/${word}; use POST`);
      }
      expect((await api("GET", `/${word}/`)).status).toBe(405);
    }
  });

  it("never reads a reserved word as a limit name, on any route", async ({ expect }) => {
    for (const word of RESERVED_NAMES) {
      for (const path of [`/${word}`, `/${word}/leases`]) {
        const response = await api("GET", path);
        expect(response.body.code, `GET ${path}`).not.toBe("not_found");
        expect([404, 405]).toContain(response.status);
      }
    }
  });
});

describe("404 for unknown paths", () => {
  it("suggests the API prefix when a path has the wrong one", async ({ expect }) => {
    const v1 = await raw("GET", "http://gcl.test/api/concurrency_limits/db");
    expect(v1.status).toBe(404);
    expect(v1.body).toMatchObject({
      code: "route_not_found",
      detail: "no route for GET /api/concurrency_limits/db; did you mean /api/v2/concurrency_limits/db?",
    });
    const bare = await raw("POST", "http://gcl.test/concurrency_limits/increment");
    expect(bare.body.detail).toContain("did you mean /api/v2/concurrency_limits/increment?");
    const elsewhere = await raw("GET", "http://gcl.test/limits");
    expect(elsewhere.body.detail).toBe(
      "no route for GET /limits; the API lives under /api/v2/concurrency_limits (see /openapi.json)",
    );
  });

  it("points out an empty path segment instead of blaming the method", async ({ expect }) => {
    const response = await raw("POST", `${API}//increment`);
    expect(response.status).toBe(404);
    expect(response.body.detail).toBe(
      "no route for POST /api/v2/concurrency_limits//increment; the path has an empty segment (//)",
    );
  });

  it("points to /openapi.json for an unknown path under the prefix", async ({ expect }) => {
    const response = await raw("GET", `${API}/a/b/c`);
    expect(response.status).toBe(404);
    expect(response.body.detail).toBe(
      "no route for GET /api/v2/concurrency_limits/a/b/c; /openapi.json lists every route",
    );
  });
});

describe("names a URL could not address", () => {
  it("are refused on create with a 422 naming the field", async ({ expect }) => {
    for (const word of RESERVED_NAMES) {
      const response = await api("POST", "/", { name: word, limit: 1 });
      expect(response.status).toBe(422);
      expect(response.body.errors).toEqual([
        {
          path: "name",
          message: expect.stringContaining(`'${word}' cannot be a limit name: it is the name of a route`),
        },
      ]);
    }
  });

  it("are still skipped as missing when acquired, as Prefect skips unknown names", async ({ expect }) => {
    const response = await takeLease(["filter"]);
    expect(response.status).toBe(200);
    expect(response.body.missing).toEqual(["filter"]);
  });
});

describe("create", () => {
  it("accepts a Cloudflare location hint and refuses an unknown one, listing the allowed ones", async ({ expect }) => {
    expect((await api("POST", "/", { name: uniqueName(), limit: 1, location_hint: "weur" })).status).toBe(201);
    const wrong = await api("POST", "/", { name: uniqueName(), limit: 1, location_hint: "mars" });
    expect(wrong.status).toBe(422);
    expect(wrong.body.errors[0]).toEqual({
      path: "location_hint",
      message: 'must be one of "wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me", got "mars"',
    });
  });

  it("answers the README's messages: a missing field is required, a misspelt one gets a suggestion", async ({
    expect,
  }) => {
    const response = await api("POST", "/", { name: uniqueName(), limits: 5 });
    expect(response.status).toBe(422);
    expect(response.body.detail).toBe(
      'limit: is required: an integer from 0 to 1000000000; limits: is not a known field; did you mean "limit"?',
    );
    const empty = await api("POST", "/", { name: "", limit: 1 });
    expect(empty.body).toMatchObject({
      detail: "name: must not be empty",
      code: "invalid_request",
      errors: [{ path: "name", message: "must not be empty" }],
    });
  });
});

describe("records", () => {
  it("round avg_slot_occupancy_seconds to milliseconds", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    for (const occupancy_seconds of [0.7, 1 / 3, 4.7400312499999995]) {
      await api("POST", "/increment", { names: [name], slots: 1 });
      await api("POST", "/decrement", { names: [name], slots: 1, occupancy_seconds });
    }
    const average: number = (await api("GET", `/${name}`)).body.avg_slot_occupancy_seconds;
    expect(average).toBeGreaterThan(0);
    expect(Math.round(average * 1000) / 1000).toBe(average);
    expect(String(average)).toMatch(/^\d+(\.\d{1,3})?$/);
  });
});
