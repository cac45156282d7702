import { exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import { api, createLimit, takeLease, uniqueName } from "../helpers/api";

describe("POST / (create)", () => {
  it("creates a limit and answers 201 with the full record", async ({ expect }) => {
    const name = uniqueName();
    const response = await api("POST", "/", { name, limit: 5, slot_decay_per_second: 0.5 });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      name,
      limit: 5,
      active: true,
      active_slots: 0,
      denied_slots: 0,
      slot_decay_per_second: 0.5,
      avg_slot_occupancy_seconds: 2,
    });
    expect(response.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(response.body.created)).not.toBeNaN();
  });

  it("refuses a second limit of the same name with 409", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const response = await api("POST", "/", { name, limit: 2 });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe("already_exists");
    expect((await api("GET", `/${name}`)).body.limit).toBe(1);
  });

  it.for([
    ["a name with a slash", { name: "a/b", limit: 1 }, "name"],
    ["an empty name", { name: "", limit: 1 }, "name"],
    ["a name over 200 characters", { name: "n".repeat(201), limit: 1 }, "name"],
    ["a negative limit", { name: "ok-neg", limit: -1 }, "limit"],
    ["a fractional limit", { name: "ok-frac", limit: 1.5 }, "limit"],
    ["a string limit", { name: "ok-str", limit: "2" }, "limit"],
    ["a missing limit", { name: "ok-missing" }, "limit"],
    ["an unknown field", { name: "ok-extra", limit: 1, id: "x" }, "id"],
    ["a negative decay", { name: "ok-decay", limit: 1, slot_decay_per_second: -1 }, "slot_decay_per_second"],
    ["a null active flag", { name: "ok-null", limit: 1, active: null }, "active"],
  ] as const)("answers 422 naming the field for %s", async ([, body, path], { expect }) => {
    const response = await api("POST", "/", body);
    expect(response.status).toBe(422);
    expect(response.body.code).toBe("invalid_request");
    expect(response.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    if (body.name.startsWith("ok-")) {
      expect((await api("GET", `/${encodeURIComponent(body.name)}`)).status).toBe(404);
    }
  });

  it("answers 422 invalid_json to a malformed body and 422 to a missing one", async ({ expect }) => {
    const malformed = await api("POST", "/", "{nope");
    expect(malformed.status).toBe(422);
    expect(malformed.body.code).toBe("invalid_json");
    const missing = await api("POST", "/", undefined);
    expect(missing.status).toBe(422);
    expect(missing.body.detail).toMatch(/body is required/);
  });

  it("reads JSON whatever the Content-Type says (curl -d sends form encoding)", async ({ expect }) => {
    const name = uniqueName();
    const response = await api(
      "POST",
      "/",
      { name, limit: 1 },
      { "content-type": "application/x-www-form-urlencoded" },
    );
    expect(response.status).toBe(201);
  });

  it("answers 413 to a body over 64 KiB and creates nothing", async ({ expect }) => {
    const name = uniqueName();
    const response = await api("POST", "/", { name, limit: 1, padding: "x".repeat(70_000) });
    expect(response.status).toBe(413);
    expect(response.body.code).toBe("payload_too_large");
    expect((await api("GET", `/${name}`)).status).toBe(404);
  });
});

describe("GET /{id_or_name}", () => {
  it("reads a limit by name and by id", async ({ expect }) => {
    const name = uniqueName("unicode ✓ tag:x");
    const created = await createLimit(name, 3);
    const byName = await api("GET", `/${encodeURIComponent(name)}`);
    expect(byName.status).toBe(200);
    expect(byName.body).toEqual(created);
    const byId = await api("GET", `/${created.id}`);
    expect(byId.body).toEqual(created);
  });

  it("answers 404 with Prefect's detail for an unknown name or id", async ({ expect }) => {
    for (const path of [`/${uniqueName()}`, `/${crypto.randomUUID()}`]) {
      const response = await api("GET", path);
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ detail: "Concurrency Limit not found", code: "not_found" });
    }
  });

  it("shows active_slots following leases", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 3);
    const lease = await takeLease([name], 2);
    expect((await api("GET", `/${name}`)).body.active_slots).toBe(2);
    await api("POST", "/decrement-with-lease", { lease_id: lease.body.lease_id });
    expect((await api("GET", `/${name}`)).body.active_slots).toBe(0);
  });
});

describe("POST /filter", () => {
  it("lists limits sorted by name, paged by limit and offset", async ({ expect }) => {
    const prefix = uniqueName("filter");
    for (const suffix of ["c", "a", "b"]) {
      await createLimit(`${prefix}-${suffix}`, 1);
    }
    const all = await api("POST", "/filter", {});
    const ours = all.body.map((r: { name: string }) => r.name).filter((n: string) => n.startsWith(prefix));
    expect(ours).toEqual([`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]);
    const names = all.body.map((r: { name: string }) => r.name);
    expect(names).toEqual([...names].sort());

    const index = names.indexOf(`${prefix}-b`);
    const page = await api("POST", "/filter", { offset: index, limit: 1 });
    expect(page.body.map((r: { name: string }) => r.name)).toEqual([`${prefix}-b`]);
    expect((await api("POST", "/filter", { limit: 0 })).body).toEqual([]);
  });

  it("accepts an empty body and refuses out-of-range paging with 422", async ({ expect }) => {
    expect((await api("POST", "/filter")).status).toBe(200);
    expect((await api("POST", "/filter", { limit: 201 })).status).toBe(422);
    expect((await api("POST", "/filter", { offset: -1 })).status).toBe(422);
  });
});

describe("PATCH /{id_or_name}", () => {
  it("updates the fields present and answers 204", async ({ expect }) => {
    const name = uniqueName();
    const created = await createLimit(name, 1);
    const response = await api("PATCH", `/${created.id}`, { limit: 7, active: false, denied_slots: 3 });
    expect(response.status).toBe(204);
    const record = (await api("GET", `/${name}`)).body;
    expect(record).toMatchObject({ limit: 7, active: false, denied_slots: 3 });
    expect(Date.parse(record.updated)).toBeGreaterThanOrEqual(Date.parse(created.updated));
  });

  it("sets anonymous slots with active_slots and leaves leases alone", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 5);
    await takeLease([name], 2);
    await api("PATCH", `/${name}`, { active_slots: 1 });
    expect((await api("GET", `/${name}`)).body.active_slots).toBe(3);
    await api("PATCH", `/${name}`, { active_slots: 0 });
    expect((await api("GET", `/${name}`)).body.active_slots).toBe(2);
  });

  it("refuses a rename with 422 rename_not_supported but accepts the current name", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const rename = await api("PATCH", `/${name}`, { name: "other" });
    expect(rename.status).toBe(422);
    expect(rename.body.code).toBe("rename_not_supported");
    expect((await api("PATCH", `/${name}`, { name, limit: 2 })).status).toBe(204);
  });

  it("answers 404 for an unknown limit and 422 for nulls or unknown fields, changing nothing", async ({ expect }) => {
    expect((await api("PATCH", `/${uniqueName()}`, { limit: 1 })).status).toBe(404);
    const name = uniqueName();
    await createLimit(name, 4);
    expect((await api("PATCH", `/${name}`, { limit: null })).status).toBe(422);
    expect((await api("PATCH", `/${name}`, { limit: 9, color: "red" })).status).toBe(422);
    expect((await api("GET", `/${name}`)).body.limit).toBe(4);
  });
});

describe("DELETE /{id_or_name}", () => {
  it("deletes a limit, revokes its leases, and frees the name", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 2);
    const lease = await takeLease([name]);
    expect((await api("DELETE", `/${name}`)).status).toBe(204);
    expect((await api("GET", `/${name}`)).status).toBe(404);
    expect((await api("POST", `/leases/${lease.body.lease_id}/renew`, {})).status).toBe(410);

    const again = await createLimit(name, 2);
    expect(again.active_slots).toBe(0);
    const next = await takeLease([name]);
    // Fencing tokens keep increasing across a delete: a guarded resource never sees one reused.
    expect(next.body.limits[0].fencing_token).toBeGreaterThan(lease.body.limits[0].fencing_token);
  });

  it("deletes by id and answers 404 the second time", async ({ expect }) => {
    const created = await createLimit(uniqueName(), 1);
    expect((await api("DELETE", `/${created.id}`)).status).toBe(204);
    expect((await api("DELETE", `/${created.id}`)).status).toBe(404);
  });
});

describe("GET /{id_or_name}/leases", () => {
  it("lists live leases with their holders, oldest first", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 3);
    const first = await takeLease([name], 1, { holder: { type: "task_run", id: "run-1" } });
    const second = await takeLease([name], 2);
    const response = await api("GET", `/${name}/leases`);
    expect(response.status).toBe(200);
    expect(response.body.waiting).toBe(0);
    expect(response.body.leases).toMatchObject([
      { lease_id: first.body.lease_id, slots: 1, holder: { type: "task_run", id: "run-1" } },
      { lease_id: second.body.lease_id, slots: 2, holder: null },
    ]);
    expect((await api("GET", `/${uniqueName()}/leases`)).status).toBe(404);
  });
});

describe("everything else", () => {
  it("answers /healthz without auth", async ({ expect }) => {
    const response = await exports.default.fetch("http://gcl.test/healthz");
    expect(await response.json()).toEqual({ ok: true });
  });

  it("serves an OpenAPI document listing every route", async ({ expect }) => {
    const response = await exports.default.fetch("http://gcl.test/openapi.json");
    const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace("/api/v2/concurrency_limits", "")}`),
    );
    expect(routes.sort()).toEqual(
      [
        "POST /",
        "GET /{id_or_name}",
        "POST /filter",
        "PATCH /{id_or_name}",
        "DELETE /{id_or_name}",
        "POST /increment",
        "POST /increment-with-lease",
        "POST /decrement",
        "POST /decrement-with-lease",
        "POST /cancel",
        "POST /leases/{lease_id}/renew",
        "GET /{id_or_name}/leases",
        "GET /{id_or_name}/wait",
        "GET /healthz",
        "GET /{id_or_name}/history",
      ].sort(),
    );
  });

  it("answers 405 to a wrong method and 404 route_not_found to an unknown path", async ({ expect }) => {
    const wrongMethod = await api("PUT", "/increment-with-lease", {});
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.code).toBe("method_not_allowed");
    const unknown = await exports.default.fetch("http://gcl.test/nowhere");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe("route_not_found");
  });
});
