// Issue 12, over HTTP: each request is one tracked ticket. Every numbered case of the issue, and
// variants of it (other orders, names, kinds), fails on the code before tickets.

import { env, runInDurableObject } from "cloudflare:test";
import { describe, it } from "vitest";
import { CATALOG_NAME } from "../../src/objects/catalog-object";
import type { LimitObject } from "../../src/objects/limit-object";
import {
  activeSlots,
  api,
  controlClock,
  createLimit,
  eventually,
  takeLease,
  uniqueName,
  waitingOn,
} from "../helpers/api";

async function leaseCount(name: string): Promise<number> {
  return (await api("GET", `/${encodeURIComponent(name)}/leases`)).body.leases.length;
}

describe("a request_id is one request (1, 2)", () => {
  it.for(["increment-with-lease", "increment"] as const)(
    "refuses a second %s with the same request_id, so a limit of 2 never has 3 holders",
    async (route, { expect }) => {
      const a = uniqueName("a");
      const b = uniqueName("b");
      await createLimit(a, 2);
      await createLimit(b, 2);
      const body = { names: [a, b], slots: 1, request_id: `dup-${route}` };
      expect((await api("POST", `/${route}`, body)).status).toBe(200);
      const again = await api("POST", `/${route}`, body);
      expect(again.status).toBe(409);
      expect(again.body.code).toBe("request_id_in_use");
      expect((await api("POST", `/${route}`, { names: [a, b], slots: 1 })).status).toBe(200);
      expect(await activeSlots(a)).toBe(2);
      expect(await activeSlots(b)).toBe(2);
      expect((await api("POST", `/${route}`, { names: [a], slots: 1 })).status).toBe(423);
    },
  );

  it("refuses a reused request_id on one name too, and keeps the first grant", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 3);
    const first = await takeLease([name], 1, { request_id: "one-name" });
    expect(first.status).toBe(200);
    expect((await takeLease([name], 1, { request_id: "one-name" })).status).toBe(409);
    expect(await leaseCount(name)).toBe(1);
    expect((await api("POST", "/decrement-with-lease", { lease_id: first.body.lease_id })).status).toBe(204);
    // Its end leaves a tombstone: the id stays taken for a while.
    expect((await takeLease([name], 1, { request_id: "one-name" })).status).toBe(409);
  });

  it("a refused request with a reused id never releases the first request's lease", async ({ expect }) => {
    const x = uniqueName("x");
    const y = uniqueName("y");
    const z = uniqueName("z");
    await createLimit(x, 5);
    await createLimit(y, 5);
    await createLimit(z, 1);
    expect((await takeLease([z])).status).toBe(200);
    const first = await takeLease([x, y], 1, { request_id: "dup2" });
    expect(first.status).toBe(200);
    // Same id, x and a full z: refused, and its clean-up touches only what it took itself.
    expect((await takeLease([x, z], 1, { request_id: "dup2" })).status).toBe(409);
    // A different id, x and a full z: locked, and again nothing of the first request moves.
    expect((await takeLease([x, z], 1, { request_id: "other" })).status).toBe(423);
    expect(await leaseCount(x)).toBe(1);
    expect(await activeSlots(x)).toBe(1);
    expect(await activeSlots(y)).toBe(1);
    const renewed = await api("POST", `/leases/${first.body.lease_id}/renew`, {});
    expect(renewed.status).toBe(204);
  });
});

describe("decay switched off (3)", () => {
  it.for([1, 2])("still counts live leases of %i slots once the bucket is dropped", async (slots, { expect }) => {
    const name = uniqueName();
    await createLimit(name, 2, { slot_decay_per_second: 1 });
    const lease = await takeLease([name], slots);
    expect(lease.status).toBe(200);
    expect((await api("PATCH", `/${name}`, { slot_decay_per_second: 0 })).status).toBe(204);
    expect(await activeSlots(name)).toBe(slots);
    expect((await takeLease([name], 2)).status).toBe(423);
    expect((await api("POST", "/decrement-with-lease", { lease_id: lease.body.lease_id })).status).toBe(204);
    expect(await activeSlots(name)).toBe(0);
    expect((await takeLease([name], 2)).status).toBe(200);
  });
});

describe("/increment grants can be undone (4)", () => {
  it("frees the slot of an increment withdrawn by /cancel", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    expect((await api("POST", "/increment", { names: [name], slots: 1, request_id: "i1" })).status).toBe(200);
    expect(await activeSlots(name)).toBe(1);
    expect((await api("POST", "/cancel", { names: [name], request_id: "i1" })).status).toBe(204);
    expect(await activeSlots(name)).toBe(0);
    // Once, not twice: a second cancel frees nobody else's slot.
    expect((await api("POST", "/increment", { names: [name], slots: 1 })).status).toBe(200);
    expect((await api("POST", "/cancel", { names: [name], request_id: "i1" })).status).toBe(204);
    expect(await activeSlots(name)).toBe(1);
  });

  it("refunds the bucket of a decaying limit for a withdrawn rate grant, on every name", async ({ expect }) => {
    const a = uniqueName("a");
    const b = uniqueName("b");
    await createLimit(a, 2, { slot_decay_per_second: 0.001 });
    await createLimit(b, 2, { slot_decay_per_second: 0.001 });
    const body = { names: [a, b], slots: 2, mode: "rate_limit", request_id: "rate-1" };
    expect((await api("POST", "/increment", body)).status).toBe(200);
    expect((await api("POST", "/increment", { ...body, request_id: "rate-2" })).status).toBe(423);
    expect((await api("POST", "/cancel", { names: [a, b], request_id: "rate-1" })).status).toBe(204);
    expect(await activeSlots(a)).toBe(0);
    expect(await activeSlots(b)).toBe(0);
    expect((await api("POST", "/increment", { ...body, request_id: "rate-3" })).status).toBe(200);
  });

  it("folds an increment into the anonymous count after its undo window, where /decrement frees it", async ({
    expect,
  }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const clock = await controlClock(name);
    expect((await api("POST", "/increment", { names: [name], slots: 1, request_id: "fold" })).status).toBe(200);
    await clock.advance(61_000);
    // Past the window the grant is anonymous: a cancel finds nothing to undo.
    expect((await api("POST", "/cancel", { names: [name], request_id: "fold" })).status).toBe(204);
    expect(await activeSlots(name)).toBe(1);
    expect((await api("POST", "/decrement", { names: [name], slots: 1 })).status).toBe(200);
    expect(await activeSlots(name)).toBe(0);
  });
});

describe("cancels that overtake their request (9)", () => {
  it.for(["increment", "increment-with-lease"] as const)(
    "refuses a %s that arrives after its cancel",
    async (route, { expect }) => {
      const a = uniqueName("a");
      const b = uniqueName("b");
      await createLimit(a, 2);
      await createLimit(b, 2);
      expect((await api("POST", "/cancel", { names: [a, b], request_id: `early-${route}` })).status).toBe(204);
      const late = await api("POST", `/${route}`, { names: [a, b], slots: 1, request_id: `early-${route}` });
      expect(late.status).toBe(409);
      expect(await activeSlots(a)).toBe(0);
      expect(await activeSlots(b)).toBe(0);
    },
  );

  it("withdraws a waiting request by its cancel, giving its place back", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const holder = await takeLease([name]);
    const waiting = api("POST", "/increment-with-lease", {
      names: [name],
      slots: 1,
      wait_seconds: 30,
      request_id: "w1",
    });
    await eventually(async () => (await waitingOn(name)) === 1);
    expect((await api("POST", "/cancel", { names: [name], request_id: "w1" })).status).toBe(204);
    expect((await waiting).status).toBe(423);
    expect(await waitingOn(name)).toBe(0);
    expect((await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id })).status).toBe(204);
    expect(await activeSlots(name)).toBe(0);
  });
});

describe("a request invalid on any name is refused before it waits (9)", () => {
  it("answers 422 at once although an earlier name is full and the request may wait", async ({ expect }) => {
    const full = uniqueName("a-full");
    const small = uniqueName("b-small");
    await createLimit(full, 2);
    await createLimit(small, 1);
    await takeLease([full], 2);
    // Checked name by name, this request would wait on the full limit for a minute first.
    const response = await takeLease([full, small], 2, { wait_seconds: 60 });
    expect(response.status).toBe(422);
    expect(response.body.code).toBe("slots_exceed_limit");
    expect(await waitingOn(full)).toBe(0);
  });

  it("names every limit without decay in rate mode, and checks slots over the limit first", async ({ expect }) => {
    const a = uniqueName("a-nodecay");
    const b = uniqueName("b-nodecay");
    const c = uniqueName("c-small");
    await createLimit(a, 5);
    await createLimit(b, 5);
    await createLimit(c, 1, { slot_decay_per_second: 1 });
    const both = await api("POST", "/increment", { names: [b, a], slots: 1, mode: "rate_limit" });
    expect(both.status).toBe(422);
    expect(both.body.detail).toContain(`'${a},${b}'`);
    const ordered = await api("POST", "/increment", { names: [a, c], slots: 2, mode: "rate_limit" });
    expect(ordered.body.code).toBe("slots_exceed_limit");
  });

  it("bounds the line: a request past the bound is refused at once with queue_full", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    await runInDurableObject(env.LIMITS.getByName(name), (instance: LimitObject) => {
      instance.maxWaiters = 2;
    });
    const holder = await takeLease([name]);
    const waiters = [1, 2].map(() => takeLease([name], 1, { wait_seconds: 30 }));
    await eventually(async () => (await waitingOn(name)) === 2);
    const refused = await takeLease([name], 1, { wait_seconds: 30 });
    expect(refused.status).toBe(423);
    expect(refused.body.code).toBe("queue_full");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    const [first] = await Promise.all([waiters[0]]);
    expect(first?.status).toBe(200);
    await api("POST", "/decrement-with-lease", { lease_id: first?.body.lease_id });
    expect((await waiters[1])?.status).toBe(200);
  });
});

describe("catalog and limit object agree (6)", () => {
  it("keeps a limit created while its predecessor's delete was still being indexed", async ({ expect }) => {
    const name = uniqueName();
    const old = await createLimit(name, 1);
    const stub = env.LIMITS.getByName(name);
    // Delete's first half: the limit object forgets the limit...
    const deleted = await stub.remove();
    expect(deleted?.id).toBe(old.id);
    // ...a create runs in between...
    const created = await createLimit(name, 2);
    // ...and the delete's index write lands last.
    await env.CATALOG.getByName(CATALOG_NAME).drop(name, deleted?.generation ?? 0);
    expect((await api("GET", `/${created.id}`)).body.name).toBe(name);
    expect((await api("GET", `/${old.id}`)).status).toBe(404);
    const listed = (await api("POST", "/filter", {})).body.map((record: { name: string }) => record.name);
    expect(listed).toContain(name);
  });

  it("ends consistent after racing deletes and creates of one name", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    for (let round = 0; round < 5; round += 1) {
      await Promise.all([api("DELETE", `/${name}`), api("POST", "/", { name, limit: 1 }), api("DELETE", `/${name}`)]);
      const byName = await api("GET", `/${name}`);
      const listed = (await api("POST", "/filter", {})).body.some((record: { name: string }) => record.name === name);
      if (byName.status === 200) {
        expect((await api("GET", `/${byName.body.id}`)).body.name).toBe(name);
        expect(listed).toBe(true);
      } else {
        expect(byName.status).toBe(404);
        expect(listed).toBe(false);
      }
    }
  });
});

describe("names a URL cannot address (7)", () => {
  it.for([".", "..", "0b9e1c7a-3f2d-4e5a-9b8c-7d6e5f4a3b2c", "filter", "increment", "leases"])(
    "refuses to create a limit named %s",
    async (name, { expect }) => {
      const response = await api("POST", "/", { name, limit: 1 });
      expect(response.status).toBe(422);
      expect(response.body.errors[0].path).toBe("name");
    },
  );
});

describe("Retry-After stays a plain decimal (8)", () => {
  it("caps the wait of a tiny decay and refuses a decay below the floor", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 5, { slot_decay_per_second: 0.000001 });
    expect((await api("POST", "/increment", { names: [name], slots: 5, mode: "rate_limit" })).status).toBe(200);
    const refused = await api("POST", "/increment", { names: [name], slots: 5, mode: "rate_limit" });
    expect(refused.status).toBe(423);
    const header = refused.headers.get("retry-after") ?? "";
    expect(header).toMatch(/^\d+\.\d{3}$/);
    expect(Number(header)).toBeLessThanOrEqual(3600);
    const tiny = await api("POST", "/", { name: uniqueName(), limit: 1, slot_decay_per_second: 1e-12 });
    expect(tiny.status).toBe(422);
  });
});
