/**
 * Prefect's own server tests for this API (PrefectHQ/prefect
 * `tests/server/orchestration/api/test_concurrency_limits_v2.py` @ ce79dd3d), replayed over HTTP:
 * each check names the Prefect test it comes from and asserts what that test asserts, as far as
 * HTTP can see it (Prefect also reads its database; here the same facts are read through the API).
 * Requests carry Prefect's client headers, as Prefect's client sends them. The tests edge-gcl
 * differs on by design are listed, with the reason, in the README ("From Prefect (Python)").
 * Storage is per file, so names are unique and "all limits" means "at least these".
 */

import { describe, it } from "vitest";
import { api, controlClock, uniqueName } from "../helpers/api";

const PREFECT = { "User-Agent": "prefect/3.4.0 (API 0.8.4)", "X-PREFECT-API-VERSION": "0.8.4" };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ENDPOINTS = ["increment", "increment-with-lease"] as const;
type Endpoint = (typeof ENDPOINTS)[number];

// biome-ignore lint/suspicious/noExplicitAny: the checks read answers field by field, as Prefect's tests do
type Json = any;

const call = (method: string, path: string, body?: unknown) => api<Json>(method, path, body, PREFECT);

/** Prefect's fixtures: `concurrency_limit` (10), `locked_concurrency_limit` (10 of 10 taken), … */
async function limit(fields: Record<string, unknown>, prefix = "test_limit"): Promise<Json> {
  const response = await call("POST", "/", { name: uniqueName(prefix), limit: 10, ...fields });
  if (response.status !== 201) {
    throw new Error(`fixture failed: ${response.status} ${JSON.stringify(response.body)}`);
  }
  return response.body;
}

const read = async (idOrName: string): Promise<Json> => (await call("GET", `/${idOrName}`)).body;

/** The limits list of either increment endpoint's answer. */
function limitsOf(endpoint: Endpoint, body: Json): Json[] {
  return endpoint === "increment" ? body : body.limits;
}

function increment(endpoint: Endpoint, names: string[], slots: number, mode = "concurrency") {
  return call("POST", `/${endpoint}`, { names, slots, mode });
}

describe("limits CRUD", () => {
  it("test_create_concurrency_limit", async ({ expect }) => {
    const response = await call("POST", "/", { name: uniqueName("limiter"), limit: 42 });
    expect(response.status).toBe(201);
    expect(response.body.id).toBeTruthy();
  });

  it("test_read_concurrency_limit_by_id / _by_name", async ({ expect }) => {
    const created = await limit({});
    for (const key of [created.id, created.name]) {
      const response = await call("GET", `/${key}`);
      expect(response.status).toBe(200);
      expect(response.body.id).toBe(created.id);
    }
  });

  it("test_read_concurrency_limit_returns_decayed_active_slots / test_read_all_…_returns_decayed_active_slots", async ({
    expect,
  }) => {
    const created = await limit({ active_slots: 10, slot_decay_per_second: 0.1 }, "decaying-limit");
    const clock = await controlClock(created.name);
    await clock.advance(30_500);
    expect((await call("GET", `/${created.id}`)).body.active_slots).toBe(7);
    const all: Json[] = (await call("POST", "/filter")).body;
    expect(all.find((record) => record.id === created.id)?.active_slots).toBe(7);
  });

  it("test_read_concurrency_non_existent_limit", async ({ expect }) => {
    expect((await call("GET", `/${crypto.randomUUID()}`)).status).toBe(404);
  });

  it("test_read_all_concurrency_limits (filter with no body)", async ({ expect }) => {
    const made = [
      await limit({}),
      await limit({ active_slots: 10 }, "locked_limit"),
      await limit({ slot_decay_per_second: 1 }),
    ];
    const response = await call("POST", "/filter");
    expect(response.status).toBe(200);
    const ids = new Set(response.body.map((record: Json) => record.id));
    for (const created of made) {
      expect(ids.has(created.id)).toBe(true);
    }
  });

  it("test_update_concurrency_non_existent_limit", async ({ expect }) => {
    expect((await call("PATCH", `/${crypto.randomUUID()}`, { name: "new-name" })).status).toBe(404);
  });

  it("test_delete_concurrency_limit_by_id / _by_name / _non_existent_limit", async ({ expect }) => {
    for (const key of ["id", "name"] as const) {
      const created = await limit({});
      expect((await call("DELETE", `/${created[key]}`)).status).toBe(204);
      expect((await call("GET", `/${created.id}`)).status).toBe(404);
    }
    expect((await call("DELETE", `/${crypto.randomUUID()}`)).status).toBe(404);
  });
});

describe.for(ENDPOINTS)("POST /%s", (endpoint) => {
  it("test_increment_concurrency_limit_slots_gt_zero_422", async ({ expect }) => {
    expect((await increment(endpoint, ["my-limit"], 0)).status).toBe(422);
  });

  it("test_increment_concurrency_limit_slots_with_unknown_name", async ({ expect }) => {
    const response = await increment(endpoint, [uniqueName("foo-bar-limit")], 1);
    expect(response.status).toBe(200);
    expect(limitsOf(endpoint, response.body)).toEqual([]);
  });

  it("test_increment_concurrency_limit_multi", async ({ expect }) => {
    const [one, other] = [await limit({}), await limit({}, "other_limit")];
    const response = await increment(endpoint, [one.name, other.name], 1);
    expect(response.status).toBe(200);
    expect(
      limitsOf(endpoint, response.body)
        .map((l: Json) => l.id)
        .sort(),
    ).toEqual([one.id, other.id].sort());
    expect([(await read(one.id)).active_slots, (await read(other.id)).active_slots]).toEqual([1, 1]);
  });

  it("test_increment_concurrency_limit_inactive", async ({ expect }) => {
    const inactive = await limit({ active: false }, "inactive_limit");
    const response = await increment(endpoint, [inactive.name], 1);
    expect(response.status).toBe(200);
    expect(limitsOf(endpoint, response.body).map((l: Json) => l.id)).toEqual([inactive.id]);
    expect((await read(inactive.id)).active_slots).toBe(0);
  });

  it("test_increment_concurrency_limit_locked", async ({ expect }) => {
    const locked = await limit({ active_slots: 10 }, "locked_limit");
    expect((await increment(endpoint, [locked.name], 1)).status).toBe(423);
    expect((await read(locked.id)).active_slots).toBe(10);
  });

  it("test_increment_concurrency_limit_locked_no_decay_retry_after_header", async ({ expect }) => {
    const locked = await limit({ active_slots: 10, denied_slots: 10 }, "locked_limit");
    expect(locked.avg_slot_occupancy_seconds).toBe(2);
    const response = await increment(endpoint, [locked.name], 1);
    expect(response.status).toBe(423);
    const expected = 2.0 * ((1 + 10) / 10);
    expect(Math.abs(Number(response.headers.get("Retry-After")) - expected)).toBeLessThan(expected * 0.5);
  });

  it("test_increment_concurrency_limit_locked_respects_low_avg", async ({ expect }) => {
    const locked = await limit({ active_slots: 10, denied_slots: 10 }, "tag:quick-tasks");
    const response = await increment(endpoint, [locked.name], 1);
    expect(response.status).toBe(423);
    const retryAfter = Number(response.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(1);
    expect(retryAfter).toBeLessThan(5);
  });

  it("test_increment_concurrency_limit_caps_retry_after_with_high_denied_slots (default avg occupancy)", async ({
    expect,
  }) => {
    const locked = await limit({ limit: 30, active_slots: 30, denied_slots: 16_000 }, "moderate-avg-limit");
    const response = await increment(endpoint, [locked.name], 1);
    expect(response.status).toBe(423);
    expect(Number(response.headers.get("Retry-After"))).toBeLessThan(60);
  });

  it("test_increment_concurrency_limit_slot_request_higher_than_limit (status and detail)", async ({ expect }) => {
    const created = await limit({});
    const response = await increment(endpoint, [created.name], 11);
    expect(response.status).toBe(422);
    expect(response.body.detail).toBe("Slots requested is greater than the limit");
    expect((await read(created.id)).active_slots).toBe(0);
  });

  it("test_increment_concurrency_limit_rate_limit_mode", async ({ expect }) => {
    const decaying = await limit({ slot_decay_per_second: 1.0 }, "test_limit_with_decay");
    const clock = await controlClock(decaying.name);
    expect((await increment(endpoint, [decaying.name], 1, "rate_limit")).status).toBe(200);
    await clock.advance(0);
    expect((await read(decaying.id)).active_slots).toBe(1);
  });

  it("test_increment_concurrency_limit_rate_limit_mode_doesnt_create_by_default", async ({ expect }) => {
    const name = uniqueName("ignored_limit");
    expect((await increment(endpoint, [name], 1, "rate_limit")).status).toBe(200);
    expect((await call("GET", `/${name}`)).status).toBe(404);
  });

  it("test_increment_concurrency_limit_rate_limit_mode_limit_without_decay (status and detail)", async ({ expect }) => {
    const created = await limit({});
    const response = await increment(endpoint, [created.name], 1, "rate_limit");
    expect(response.status).toBe(422);
    expect(response.body.detail).toBe(
      "Only concurrency limits with slot decay can be used for rate limiting. " +
        `The following limits do not have a decay configured: '${created.name}'`,
    );
    expect((await read(created.id)).active_slots).toBe(0);
  });
});

describe("POST /increment and /increment-with-lease, one endpoint each", () => {
  it("test_increment_concurrency_limit_simple", async ({ expect }) => {
    const created = await limit({});
    const response = await increment("increment", [created.name], 1);
    expect(response.status).toBe(200);
    expect(response.body.map((l: Json) => l.id)).toEqual([created.id]);
    expect((await read(created.id)).active_slots).toBe(1);
  });

  it("test_increment_concurrency_limit_with_lease_simple", async ({ expect }) => {
    const created = await limit({});
    const response = await increment("increment-with-lease", [created.name], 1);
    expect(response.status).toBe(200);
    expect(response.body.limits.map((l: Json) => l.id)).toEqual([created.id]);
    // uuid.UUID(lease_id) parses, and the lease covers this limit with 1 slot.
    expect(response.body.lease_id).toMatch(UUID);
    const leases = (await call("GET", `/${created.name}/leases`)).body.leases;
    expect(leases.map((lease: Json) => lease.slots)).toEqual([1]);
  });

  it("test_increment_concurrency_limit_with_lease_and_holder / _with_different_holder_types", async ({ expect }) => {
    const created = await limit({});
    for (const type of ["flow_run", "task_run", "deployment"]) {
      const holder = { type, id: crypto.randomUUID() };
      const response = await call("POST", "/increment-with-lease", {
        names: [created.name],
        slots: 1,
        mode: "concurrency",
        holder,
      });
      expect(response.status).toBe(200);
      expect(response.body.lease_id).toMatch(UUID);
      expect("holder" in response.body).toBe(false);
      const leases = (await call("GET", `/${created.name}/leases`)).body.leases;
      expect(leases.map((lease: Json) => lease.holder)).toContainEqual(holder);
      expect((await call("POST", "/decrement-with-lease", { lease_id: response.body.lease_id })).status).toBe(204);
    }
  });

  it("test_increment_concurrency_limit_with_invalid_holder (extra field, missing id)", async ({ expect }) => {
    const created = await limit({});
    for (const holder of [
      { type: "task_run", id: crypto.randomUUID(), extra_field: "should_not_be_allowed" },
      { type: "flow_run" },
    ]) {
      const response = await call("POST", "/increment-with-lease", {
        names: [created.name],
        slots: 1,
        mode: "concurrency",
        holder,
      });
      expect(response.status).toBe(422);
    }
  });

  it("test_increment_concurrency_limit_with_lease_no_holder", async ({ expect }) => {
    const created = await limit({});
    const response = await increment("increment-with-lease", [created.name], 1);
    expect(response.status).toBe(200);
    expect(response.body.lease_id).toBeTruthy();
  });

  it("test_increment_concurrency_limit_with_lease_ttl", async ({ expect }) => {
    const created = await limit({});
    const now = Date.now();
    const response = await call("POST", "/increment-with-lease", {
      names: [created.name],
      slots: 1,
      mode: "concurrency",
      lease_duration: 60,
    });
    expect(response.status).toBe(200);
    expect(response.body.lease_id).toMatch(UUID);
    const expiration = Date.parse(response.body.expires_at);
    expect(expiration).toBeGreaterThanOrEqual(now + 60_000);
    expect(expiration).toBeLessThanOrEqual(now + 65_000);
  });

  it("test_increment_concurrency_limit_with_lease_ttl_out_of_range (30 days)", async ({ expect }) => {
    const created = await limit({});
    const response = await call("POST", "/increment-with-lease", {
      names: [created.name],
      slots: 1,
      mode: "concurrency",
      lease_duration: 60 * 60 * 24 * 30,
    });
    expect(response.status).toBe(422);
  });
});

describe("decrement, release and renew", () => {
  it("test_decrement_concurrency_limit_slots_gt_zero_422", async ({ expect }) => {
    expect((await call("POST", "/decrement", { names: ["my-limit"], slots: 0, mode: "concurrency" })).status).toBe(422);
  });

  it("test_decrement_concurrency_limit", async ({ expect }) => {
    const [locked, free] = [await limit({ active_slots: 10 }, "locked_limit"), await limit({})];
    const response = await call("POST", "/decrement", { names: [free.name, locked.name], slots: 1 });
    expect(response.status).toBe(200);
    expect(response.body.map((l: Json) => l.id).sort()).toEqual([free.id, locked.id].sort());
    expect((await read(free.id)).active_slots).toBe(0);
    expect((await read(locked.id)).active_slots).toBe(9);
  });

  it("test_decrement_concurrency_limit_with_lease", async ({ expect }) => {
    const created = await limit({});
    const granted = await increment("increment-with-lease", [created.name], 2);
    expect(granted.status).toBe(200);
    expect((await read(created.id)).active_slots).toBe(2);
    const released = await call("POST", "/decrement-with-lease", { lease_id: granted.body.lease_id });
    expect(released.status).toBe(204);
    // The lease is gone: renewing it is 410.
    expect((await call("POST", `/leases/${granted.body.lease_id}/renew`, { lease_duration: 600 })).status).toBe(410);
    expect((await read(created.id)).active_slots).toBe(0);
  });

  it("test_renew_concurrency_lease / _with_legacy_implementation", async ({ expect }) => {
    const created = await limit({});
    const granted = await call("POST", "/increment-with-lease", {
      names: [created.name],
      slots: 1,
      mode: "concurrency",
      lease_duration: 20,
    });
    const before = Date.now();
    const response = await call("POST", `/leases/${granted.body.lease_id}/renew`, { lease_duration: 600 });
    expect(response.status).toBe(204);
    const after = Date.now();
    const [lease] = (await call("GET", `/${created.name}/leases`)).body.leases;
    const expiration = Date.parse(lease.expires_at);
    // The lease's own timestamps are whole milliseconds; allow the one it may round down.
    expect(expiration).toBeGreaterThanOrEqual(before + 600_000 - 1);
    expect(expiration).toBeLessThanOrEqual(after + 600_000);
  });

  it("test_renew_concurrency_lease_not_found / _with_legacy_implementation_not_found", async ({ expect }) => {
    const response = await call("POST", `/leases/${crypto.randomUUID()}/renew`, { lease_duration: 600 });
    expect(response.status).toBe(410);
  });
});
