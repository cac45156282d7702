/**
 * The RPC entrypoint, called over a real service binding: `exports.default` is workerd's loopback
 * binding to this Worker's default export, so every call here is serialized as Workers RPC, as a
 * caller Worker's `env.GCL` would be. Failures must come back as values with the HTTP codes.
 */

import { exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import type { GclRpc } from "../../src/protocol/rpc";
import { api, uniqueName } from "../helpers/api";

const rpc = exports.default as unknown as GclRpc;

async function created(name: string, limit: number, extra: Record<string, unknown> = {}) {
  const result = await rpc.createLimit({ name, limit, ...extra });
  if (!result.ok) {
    throw new Error(`create failed: ${JSON.stringify(result.error)}`);
  }
  return result.value;
}

describe("RPC: limits", () => {
  it("creates, reads by name and by id, lists, updates and deletes", async ({ expect }) => {
    const name = uniqueName();
    const record = await created(name, 3);
    expect(record).toMatchObject({ name, limit: 3, active: true, active_slots: 0 });

    expect(await rpc.getLimit(name)).toEqual({ ok: true, value: record });
    expect(await rpc.getLimit(record.id)).toEqual({ ok: true, value: record });
    const list = await rpc.listLimits({ limit: 200 });
    expect(list.ok && list.value.map((limit) => limit.name)).toContain(name);
    expect((await rpc.listLimits()).ok).toBe(true);

    expect(await rpc.updateLimit(name, { limit: 5, active: false })).toEqual({ ok: true, value: null });
    expect(await rpc.getLimit(name)).toMatchObject({ ok: true, value: { limit: 5, active: false } });
    // The HTTP API sees the same state: one Worker, two doors.
    expect((await api("GET", `/${name}`)).body).toMatchObject({ limit: 5, active: false });

    expect(await rpc.deleteLimit(name)).toEqual({ ok: true, value: null });
    expect(await rpc.getLimit(name)).toEqual({
      ok: false,
      error: { code: "not_found", detail: "Concurrency Limit not found" },
    });
  });

  it("answers the HTTP error codes as values", async ({ expect }) => {
    const name = uniqueName();
    await created(name, 1);
    expect(await rpc.createLimit({ name, limit: 1 })).toMatchObject({ ok: false, error: { code: "already_exists" } });
    expect(await rpc.updateLimit(name, { name: "other" })).toMatchObject({
      ok: false,
      error: { code: "rename_not_supported", errors: [{ path: "name" }] },
    });
    expect(await rpc.deleteLimit(uniqueName("gone"))).toMatchObject({ ok: false, error: { code: "not_found" } });
    expect(await rpc.limitLeases(uniqueName("gone"))).toMatchObject({ ok: false, error: { code: "not_found" } });
  });

  it("validates input with the HTTP schemas: a 422 code naming each field", async ({ expect }) => {
    const bad = rpc as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    expect(await bad.createLimit?.({ name: "a/b", limit: -1, extra: true })).toMatchObject({
      ok: false,
      error: { code: "invalid_request", errors: expect.arrayContaining([expect.objectContaining({ path: "name" })]) },
    });
    expect(await bad.acquire?.({ names: ["x"], slots: 0 })).toMatchObject({
      ok: false,
      error: { code: "invalid_request", errors: [{ path: "slots" }] },
    });
    expect(await bad.acquire?.(undefined)).toMatchObject({ ok: false, error: { code: "invalid_request" } });
    expect(await bad.getLimit?.(42)).toMatchObject({
      ok: false,
      error: { code: "invalid_request", errors: [{ path: "id_or_name" }] },
    });
    // A string that names no lease is not invalid: it is a lease that is gone (410, as over HTTP).
    expect(await bad.renew?.("not-a-lease")).toMatchObject({ ok: false, error: { code: "lease_not_found" } });
    expect(await bad.renew?.(null)).toMatchObject({
      ok: false,
      error: { code: "invalid_request", errors: [{ path: "lease_id" }] },
    });
  });
});

describe("RPC: slots", () => {
  it("acquires under a lease, shows it, renews and releases it", async ({ expect }) => {
    const name = uniqueName();
    await created(name, 2);
    const grant = await rpc.acquire({ names: [name], slots: 2, lease_duration: 30, holder: { type: "test", id: "1" } });
    if (!grant.ok) {
      throw new Error(JSON.stringify(grant.error));
    }
    expect(grant.value.limits).toMatchObject([{ name, limit: 2 }]);
    expect(grant.value.limits[0]?.fencing_token).toBeGreaterThan(0);
    expect(await rpc.getLimit(name)).toMatchObject({ value: { active_slots: 2 } });
    expect(await rpc.limitLeases(name)).toMatchObject({
      ok: true,
      value: { leases: [{ lease_id: grant.value.lease_id, slots: 2, holder: { type: "test", id: "1" } }], waiting: 0 },
    });

    expect(await rpc.renew(grant.value.lease_id, { lease_duration: 60 })).toEqual({ ok: true, value: null });
    expect(await rpc.renew(grant.value.lease_id)).toEqual({ ok: true, value: null });
    expect(await rpc.release(grant.value.lease_id)).toEqual({ ok: true, value: null });
    expect(await rpc.getLimit(name)).toMatchObject({ value: { active_slots: 0 } });
    // Released twice is still fine; a renewal of a released lease is lease_not_found (HTTP 410).
    expect(await rpc.release(grant.value.lease_id)).toEqual({ ok: true, value: null });
    expect(await rpc.renew(grant.value.lease_id)).toMatchObject({ ok: false, error: { code: "lease_not_found" } });
  });

  it("frees a lease whose caller never releases it when the lease expires", async ({ expect }) => {
    const name = uniqueName();
    await created(name, 1);
    // A caller that dies holding the slot: nothing releases or renews it.
    const grant = await rpc.acquire({ names: [name], slots: 1, lease_duration: 1 });
    expect(grant.ok).toBe(true);
    expect(await rpc.getLimit(name)).toMatchObject({ value: { active_slots: 1 } });
    await expect
      .poll(async () => (await api("GET", `/${name}`)).body.active_slots, {
        timeout: 5_000,
      })
      .toBe(0);
    if (grant.ok) {
      expect(await rpc.renew(grant.value.lease_id)).toMatchObject({ ok: false, error: { code: "lease_not_found" } });
    }
  });

  it("refuses a full limit with locked and a retry_after_seconds, and slots over the limit", async ({ expect }) => {
    const name = uniqueName();
    await created(name, 1);
    const first = await rpc.acquire({ names: [name], slots: 1 });
    expect(first.ok).toBe(true);
    const second = await rpc.acquire({ names: [name], slots: 1 });
    expect(second).toMatchObject({ ok: false, error: { code: "locked", detail: "Locked" } });
    expect(!second.ok && second.error.retry_after_seconds).toBeGreaterThan(0);
    expect(await rpc.acquire({ names: [name], slots: 2 })).toMatchObject({
      ok: false,
      error: { code: "slots_exceed_limit" },
    });
  });

  it("waits in line with wait_seconds and is granted when the holder releases", async ({ expect }) => {
    const name = uniqueName();
    await created(name, 1);
    const first = await rpc.acquire({ names: [name], slots: 1 });
    if (!first.ok) {
      throw new Error("first grant refused");
    }
    const waiting = rpc.acquire({ names: [name], slots: 1, wait_seconds: 10 });
    await expect.poll(async () => (await api("GET", `/${name}/leases`)).body.waiting).toBe(1);
    await rpc.release(first.value.lease_id);
    const second = await waiting;
    expect(second.ok).toBe(true);
  });

  it("withdraws a waiting request by request_id with cancel", async ({ expect }) => {
    const name = uniqueName();
    await created(name, 1);
    await rpc.acquire({ names: [name], slots: 1 });
    const waiting = rpc.acquire({ names: [name], slots: 1, wait_seconds: 10, request_id: "rpc-cancel-1" });
    await expect.poll(async () => (await api("GET", `/${name}/leases`)).body.waiting).toBe(1);
    expect(await rpc.cancel({ names: [name], request_id: "rpc-cancel-1" })).toEqual({ ok: true, value: null });
    expect(await waiting).toMatchObject({ ok: false });
    expect((await api("GET", `/${name}/leases`)).body.waiting).toBe(0);
  });

  it("takes rate slots with increment and gives concurrency slots back with decrement", async ({ expect }) => {
    const rate = uniqueName("rate");
    const plain = uniqueName("plain");
    await created(rate, 5, { slot_decay_per_second: 1 });
    await created(plain, 2);
    expect(await rpc.increment({ names: [rate], slots: 2, mode: "rate_limit" })).toMatchObject({
      ok: true,
      value: [{ name: rate, limit: 5 }],
    });
    expect(await rpc.increment({ names: [plain], slots: 1, mode: "rate_limit" })).toMatchObject({
      ok: false,
      error: { code: "rate_limit_without_decay" },
    });
    expect(await rpc.increment({ names: [plain], slots: 2 })).toMatchObject({ ok: true });
    expect(await rpc.getLimit(plain)).toMatchObject({ value: { active_slots: 2 } });
    expect(await rpc.decrement({ names: [plain, uniqueName("gone")], slots: 2 })).toMatchObject({
      ok: true,
      value: [{ name: plain }],
    });
    expect(await rpc.getLimit(plain)).toMatchObject({ value: { active_slots: 0 } });
  });

  it("takes several names all or nothing", async ({ expect }) => {
    const [a, b] = [uniqueName("a"), uniqueName("b")];
    await created(a, 1);
    await created(b, 1);
    const grant = await rpc.acquire({ names: [b, a], slots: 1 });
    expect(grant).toMatchObject({ ok: true, value: { limits: [{ name: a }, { name: b }], missing: [] } });
    expect(await rpc.acquire({ names: [a, b], slots: 1 })).toMatchObject({ ok: false, error: { code: "locked" } });
    if (grant.ok) {
      await rpc.release(grant.value.lease_id);
    }
    expect(await rpc.getLimit(a)).toMatchObject({ value: { active_slots: 0 } });
    expect(await rpc.getLimit(b)).toMatchObject({ value: { active_slots: 0 } });
  });
});

describe("RPC: lease ids that name no lease", () => {
  it.for(["not-a-lease-id", "0b9e1c7a-3f2d-4e5a-9b8c-7d6e5f4a3b2c"])(
    "renews %s as lease_not_found and releases it as done, as HTTP does",
    async (leaseId, { expect }) => {
      expect(await rpc.renew(leaseId, { lease_duration: 30 })).toMatchObject({
        ok: false,
        error: { code: "lease_not_found" },
      });
      expect(await rpc.release(leaseId)).toEqual({ ok: true, value: null });
      expect((await api("POST", `/leases/${leaseId}/renew`, {})).status).toBe(410);
      expect((await api("POST", "/decrement-with-lease", { lease_id: leaseId })).status).toBe(204);
    },
  );
});
