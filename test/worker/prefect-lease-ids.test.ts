/**
 * UUID lease ids for Prefect's client (src/prefect/lease-ids.ts, src/objects/lease-directory.ts):
 * Prefect's client gets a UUID that renews and releases; everyone else keeps the native id and
 * never touches the directory; unknown ids answer as Prefect (renew 410, release 204); a failed
 * directory write gives the slots back and answers 503; directory rows end with their lease.
 */

import {
  createExecutionContext,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import Worker from "../../src/index";
import { DIRECTORY_GRACE_MS, type LeaseDirectory } from "../../src/objects/lease-directory";
import { API, activeSlots, api, controlClock, createLimit, uniqueName } from "../helpers/api";

/** What Prefect 3's client sends with every request (client/base.py). */
const PREFECT = { "User-Agent": "prefect/3.4.0 (API 0.8.4)", "X-PREFECT-API-VERSION": "0.8.4" };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function prefectLease(names: string[], slots = 1, extra: Record<string, unknown> = {}) {
  return api(
    "POST",
    "/increment-with-lease",
    { names, slots, mode: "concurrency", lease_duration: 300.0, ...extra },
    PREFECT,
  );
}

/** Calls the Worker with a replaced env (a failing or forbidden lease directory). */
async function callWith(
  overrides: Partial<Env>,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const ctx = createExecutionContext();
  const request = new Request(API + path, { method, headers, body: JSON.stringify(body) });
  const response = await new Worker(ctx, { ...env, ...overrides }).fetch(request);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** A lease directory namespace whose every call fails, or that fails the test if it is used at all. */
function brokenDirectory(reason: string): Env["LEASE_DIRECTORY"] {
  const fail = () => Promise.reject(new Error(reason));
  const stub = { put: fail, renew: fail, take: fail };
  return { getByName: () => stub } as unknown as Env["LEASE_DIRECTORY"];
}

function shardOf(uuid: string) {
  return env.LEASE_DIRECTORY.getByName(uuid.slice(0, 2));
}

describe("lease ids Prefect's client can parse", () => {
  it("gives Prefect's client a UUID that renews and releases", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 2);
    const granted = await prefectLease([name], 2, { holder: { type: "task_run", id: crypto.randomUUID() } });
    expect(granted.status).toBe(200);
    expect(granted.body.lease_id).toMatch(UUID);
    expect(await activeSlots(name)).toBe(2);
    const renew = await api("POST", `/leases/${granted.body.lease_id}/renew`, { lease_duration: 300.0 }, PREFECT);
    expect(renew.status).toBe(204);
    const release = await api("POST", "/decrement-with-lease", { lease_id: granted.body.lease_id }, PREFECT);
    expect(release.status).toBe(204);
    expect(await activeSlots(name)).toBe(0);
    // Released is gone, as in Prefect: release again is a no-op, renew is 410.
    expect((await api("POST", "/decrement-with-lease", { lease_id: granted.body.lease_id }, PREFECT)).status).toBe(204);
    const late = await api("POST", `/leases/${granted.body.lease_id}/renew`, { lease_duration: 300.0 }, PREFECT);
    expect(late.status).toBe(410);
  });

  it("recognises Prefect's client by its User-Agent or by X-PREFECT-API-VERSION alone", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 5);
    const byAgent = await api(
      "POST",
      "/increment-with-lease",
      { names: [name], slots: 1 },
      { "User-Agent": "prefect/3.0.0" },
    );
    const byVersion = await api(
      "POST",
      "/increment-with-lease",
      { names: [name], slots: 1 },
      { "X-PREFECT-API-VERSION": "0.8.4" },
    );
    expect(byAgent.body.lease_id).toMatch(UUID);
    expect(byVersion.body.lease_id).toMatch(UUID);
  });

  it("releases every limit of a multi-name lease by its UUID", async ({ expect }) => {
    const [a, b] = [uniqueName("a"), uniqueName("b")];
    await createLimit(a, 1);
    await createLimit(b, 1);
    const granted = await prefectLease([b, a]);
    expect(granted.body.lease_id).toMatch(UUID);
    expect(granted.body.limits.map((limit: { name: string }) => limit.name)).toEqual([a, b]);
    expect(await activeSlots(a)).toBe(1);
    expect((await api("POST", "/decrement-with-lease", { lease_id: granted.body.lease_id }, PREFECT)).status).toBe(204);
    expect([await activeSlots(a), await activeSlots(b)]).toEqual([0, 0]);
  });

  it("gives a UUID to a request whose names all do not exist", async ({ expect }) => {
    const granted = await prefectLease([uniqueName("ghost")]);
    expect(granted.status).toBe(200);
    expect(granted.body.lease_id).toMatch(UUID);
    expect(granted.body.limits).toEqual([]);
    expect((await api("POST", "/decrement-with-lease", { lease_id: granted.body.lease_id }, PREFECT)).status).toBe(204);
  });

  it("keeps the native id and never calls the directory for everyone else", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const forbidden = { LEASE_DIRECTORY: brokenDirectory("the native path must not use the directory") };
    const granted = await callWith(forbidden, "POST", "/increment-with-lease", { names: [name], slots: 1 });
    expect(granted.status).toBe(200);
    expect(granted.body.lease_id).toContain(".");
    expect((await callWith(forbidden, "POST", `/leases/${granted.body.lease_id}/renew`, {})).status).toBe(204);
    expect(
      (await callWith(forbidden, "POST", "/decrement-with-lease", { lease_id: granted.body.lease_id })).status,
    ).toBe(204);
    expect(await activeSlots(name)).toBe(0);
  });

  it("lets Prefect's client release a native id too (it parses only what it is given)", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const native = await api("POST", "/increment-with-lease", { names: [name], slots: 1 });
    expect((await api("POST", "/decrement-with-lease", { lease_id: native.body.lease_id }, PREFECT)).status).toBe(204);
    expect(await activeSlots(name)).toBe(0);
  });
});

describe("unknown lease ids answer as Prefect's server does", () => {
  it.for<[string, string]>([
    ["an unknown UUID", crypto.randomUUID()],
    ["an upper-case unknown UUID", crypto.randomUUID().toUpperCase()],
    ["a string this service never issued", "not-a-lease"],
    ["a dotted string that is not ours", "abc.%%%"],
  ])("%s: renew → 410 with Prefect's text, release → 204", async ([, leaseId], { expect }) => {
    const renew = await api("POST", `/leases/${encodeURIComponent(leaseId)}/renew`, { lease_duration: 300.0 }, PREFECT);
    expect(renew.status).toBe(410);
    expect(renew.body).toEqual({
      detail: "Lease not found - it may have expired or been revoked",
      code: "lease_not_found",
    });
    expect((await api("POST", "/decrement-with-lease", { lease_id: leaseId }, PREFECT)).status).toBe(204);
  });
});

describe("exactness when the directory fails", () => {
  it.for([1, 2])(
    "gives a %i-name grant back and answers 503 unavailable when the directory write fails",
    async (count, { expect }) => {
      const names = Array.from({ length: count }, () => uniqueName());
      for (const name of names) {
        await createLimit(name, 1);
      }
      const failing = { LEASE_DIRECTORY: brokenDirectory("directory down") };
      const response = await callWith(
        failing,
        "POST",
        "/increment-with-lease",
        { names, slots: 1, lease_duration: 300.0 },
        PREFECT,
      );
      expect(response.status).toBe(503);
      expect(response.body.code).toBe("unavailable");
      for (const name of names) {
        expect(await activeSlots(name)).toBe(0);
      }
      // Not leaked: the slots can be taken again at once.
      expect((await prefectLease(names)).status).toBe(200);
    },
  );

  it("undoes the grant exactly on a rate limit too: the bucket is refunded, not left to leak", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1, { slot_decay_per_second: 0.001 });
    const failing = { LEASE_DIRECTORY: brokenDirectory("directory down") };
    const response = await callWith(
      failing,
      "POST",
      "/increment-with-lease",
      { names: [name], slots: 1, lease_duration: 300.0 },
      PREFECT,
    );
    expect(response.status).toBe(503);
    // A release would leave the slot in the bucket for 1,000 s; a withdrawal takes it back.
    expect(await activeSlots(name)).toBe(0);
    expect((await prefectLease([name])).status).toBe(200);
  });

  it("answers 503, not 500, when renew or release cannot reach the directory", async ({ expect }) => {
    const failing = { LEASE_DIRECTORY: brokenDirectory("directory down") };
    const uuid = crypto.randomUUID();
    const renew = await callWith(failing, "POST", `/leases/${uuid}/renew`, {}, PREFECT);
    const release = await callWith(failing, "POST", "/decrement-with-lease", { lease_id: uuid }, PREFECT);
    expect([renew.status, release.status]).toEqual([503, 503]);
  });
});

describe("directory rows live as long as their lease", () => {
  it("stores each UUID in the shard named by its first two hex digits, and release removes it", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const { lease_id: uuid } = (await prefectLease([name])).body;
    const shard = shardOf(uuid);
    const row = () =>
      runInDurableObject(
        shard,
        (_: LeaseDirectory, state) =>
          state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM leases WHERE uuid = ?", uuid).one().n,
      );
    expect(await row()).toBe(1);
    await api("POST", "/decrement-with-lease", { lease_id: uuid }, PREFECT);
    expect(await row()).toBe(0);
  });

  it("extends the row on renew, so a renewed lease outlives its first duration", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const { lease_id: uuid, expires_at } = (await prefectLease([name], 1, { lease_duration: 60 })).body;
    const rowExpiry = () =>
      runInDurableObject(
        shardOf(uuid),
        (_: LeaseDirectory, state) =>
          state.storage.sql.exec<{ at: number }>("SELECT expires_at AS at FROM leases WHERE uuid = ?", uuid).one().at,
      );
    expect(await rowExpiry()).toBe(Date.parse(expires_at) + DIRECTORY_GRACE_MS);
    const before = Date.now();
    expect((await api("POST", `/leases/${uuid}/renew`, { lease_duration: 3600 }, PREFECT)).status).toBe(204);
    expect(await rowExpiry()).toBeGreaterThanOrEqual(before + 3_600_000 + DIRECTORY_GRACE_MS);
  });

  it("reclaims expired rows with its alarm and never answers one past its expiry", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const { lease_id: uuid } = (await prefectLease([name], 1, { lease_duration: 60 })).body;
    const shard = shardOf(uuid);
    // Move the directory's clock past the lease and its grace.
    await runInDurableObject(shard, (directory: LeaseDirectory) => {
      const later = Date.now() + 60_000 + DIRECTORY_GRACE_MS + 1;
      directory.now = () => later;
    });
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    const left = await runInDurableObject(
      shard,
      (_: LeaseDirectory, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM leases WHERE uuid = ?", uuid).one().n,
    );
    expect(left).toBe(0);
    expect((await api("POST", `/leases/${uuid}/renew`, {}, PREFECT)).status).toBe(410);
  });

  it("answers 410 and drops the row when the lease itself has expired on its limit", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const clock = await controlClock(name);
    const { lease_id: uuid } = (await prefectLease([name], 1, { lease_duration: 60 })).body;
    await clock.advance(61_000);
    const renew = await api("POST", `/leases/${uuid}/renew`, { lease_duration: 300.0 }, PREFECT);
    expect(renew.status).toBe(410);
    const rows = await runInDurableObject(
      shardOf(uuid),
      (_: LeaseDirectory, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM leases WHERE uuid = ?", uuid).one().n,
    );
    expect(rows).toBe(0);
  });

  it("keeps its one alarm at the earliest row, whatever order rows come in", async ({ expect }) => {
    const shard = env.LEASE_DIRECTORY.getByName("alarm-order");
    const now = Date.now();
    const [long, short] = [crypto.randomUUID(), crypto.randomUUID()];
    await shard.put(long, "long.W10", now + 3_600_000);
    await shard.put(short, "short.W10", now + 60_000);
    const alarmAt = () => runInDurableObject(shard, (_: LeaseDirectory, state) => state.storage.getAlarm());
    expect(await alarmAt()).toBe(now + 60_000 + DIRECTORY_GRACE_MS + 1);
    await runInDurableObject(shard, (directory: LeaseDirectory) => {
      directory.now = () => now + 60_000 + DIRECTORY_GRACE_MS + 1;
    });
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await shard.renew(short, now)).toBeNull();
    expect(await shard.renew(long, now)).toBe("long.W10");
    expect(await alarmAt()).toBe(now + 3_600_000 + DIRECTORY_GRACE_MS + 1);
  });
});
