import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { activeSlots, api, createLimit, takeLease, uniqueName } from "../helpers/api";

describe("POST /increment-with-lease", () => {
  it("grants a lease with limits, fencing tokens, missing names and an expiry", async ({ expect }) => {
    const name = uniqueName();
    const ghost = uniqueName("ghost");
    const created = await createLimit(name, 2);
    const before = Date.now();
    const response = await takeLease([name, ghost, name], 1, { lease_duration: 30 });
    expect(response.status).toBe(200);
    expect(response.body.limits).toEqual([{ id: created.id, name, limit: 2, fencing_token: expect.any(Number) }]);
    expect(response.body.missing).toEqual([ghost]);
    expect(typeof response.body.lease_id).toBe("string");
    const expiresAt = Date.parse(response.body.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 30_000);
    expect(await activeSlots(name)).toBe(1);
  });

  it("hands out fencing tokens that strictly increase per limit", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 10);
    const tokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      tokens.push((await takeLease([name])).body.limits[0].fencing_token);
    }
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
    expect(new Set(tokens).size).toBe(5);
  });

  it("answers 423 Locked with a decimal Retry-After when the limit is full", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);
    const response = await takeLease([name]);
    expect(response.status).toBe(423);
    expect(response.body).toEqual({ detail: "Locked", code: "locked" });
    const retryAfter = response.headers.get("Retry-After");
    expect(retryAfter).toMatch(/^\d+\.\d+$/);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeLessThanOrEqual(39);
    expect((await api("GET", `/${name}`)).body.denied_slots).toBe(1);
  });

  it("answers 422 with Prefect's text when slots exceed the limit, holding nothing", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 2);
    const response = await takeLease([name], 3);
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      detail: "Slots requested is greater than the limit",
      code: "slots_exceed_limit",
    });
    expect(await activeSlots(name)).toBe(0);
  });

  it("treats a limit of 0 as always too small (422)", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 0);
    expect((await takeLease([name])).body.code).toBe("slots_exceed_limit");
  });

  it("answers 422 naming the limit for rate_limit mode without decay", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 5);
    const response = await takeLease([name], 1, { mode: "rate_limit" });
    expect(response.status).toBe(422);
    expect(response.body.detail).toBe(
      `Only concurrency limits with slot decay can be used for rate limiting. The following limits do not have a decay configured: '${name}'`,
    );
  });

  it("skips an inactive limit: listed, but nothing held", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1, { active: false });
    const first = await takeLease([name]);
    const second = await takeLease([name]);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.limits.map((l: { name: string }) => l.name)).toEqual([name]);
    expect(await activeSlots(name)).toBe(0);
    // Re-enabling does not strand slots: the inactive-time leases never counted.
    await api("PATCH", `/${name}`, { active: true });
    expect(await activeSlots(name)).toBe(0);
  });

  it("answers with an empty lease when every name is unknown, creating nothing", async ({ expect }) => {
    const name = uniqueName();
    const response = await takeLease([name]);
    expect(response.status).toBe(200);
    expect(response.body.limits).toEqual([]);
    expect(response.body.missing).toEqual([name]);
    expect((await api("GET", `/${name}`)).status).toBe(404);
    expect((await api("POST", `/leases/${response.body.lease_id}/renew`, {})).status).toBe(204);
  });

  it.for([
    ["slots below 1", { slots: 0 }, "slots"],
    ["a lease under 1 s", { lease_duration: 0.5 }, "lease_duration"],
    ["a lease over a day", { lease_duration: 86_401 }, "lease_duration"],
    ["an unknown mode", { mode: "fast" }, "mode"],
    ["a holder with extra keys", { holder: { type: "a", id: "b", extra: 1 } }, "holder.extra"],
    ["wait_seconds over 60", { wait_seconds: 61 }, "wait_seconds"],
    ["more than 32 names", { names: Array.from({ length: 33 }, (_, i) => `n${i}`) }, "names"],
    ["a name with a percent sign", { names: ["50%"] }, "names.0"],
  ] as const)("answers 422 for %s", async ([, override, path], { expect }) => {
    const response = await api("POST", "/increment-with-lease", { names: ["x"], slots: 1, ...override });
    expect(response.status).toBe(422);
    expect(response.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("counts names after de-duplication: 33 copies of one name are one name", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const response = await takeLease(Array.from({ length: 33 }, () => name));
    expect(response.status).toBe(200);
    expect(response.body.limits).toHaveLength(1);
  });

  it("accepts wait_seconds and ignores unknown keys such as create_if_missing", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const response = await takeLease([name], 1, { wait_seconds: 0, create_if_missing: true });
    expect(response.status).toBe(200);
  });
});

describe("releasing and renewing", () => {
  it("releases with decrement-with-lease, idempotently", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 2);
    const lease = await takeLease([name], 2);
    expect(await activeSlots(name)).toBe(2);
    for (let i = 0; i < 2; i++) {
      const response = await api("POST", "/decrement-with-lease", { lease_id: lease.body.lease_id });
      expect(response.status).toBe(204);
      expect(await activeSlots(name)).toBe(0);
    }
  });

  it("answers as Prefect for a lease it does not know, even one it never issued: release 204, renew 410", async ({
    expect,
  }) => {
    const forged = `${crypto.randomUUID()}.${btoa(JSON.stringify([uniqueName()]))}`;
    expect((await api("POST", "/decrement-with-lease", { lease_id: forged })).status).toBe(204);
    expect((await api("POST", "/decrement-with-lease", { lease_id: "not-a-lease" })).status).toBe(204);
    const renewed = await api("POST", "/leases/not-a-lease/renew", {});
    expect(renewed.status).toBe(410);
    expect(renewed.body.code).toBe("lease_not_found");
  });

  it("renews a live lease (204) and answers 410 with Prefect's text for a gone one", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const lease = await takeLease([name]);
    const path = `/leases/${lease.body.lease_id}/renew`;
    expect((await api("POST", path, { lease_duration: 120 })).status).toBe(204);
    expect((await api("POST", path)).status).toBe(204);
    await api("POST", "/decrement-with-lease", { lease_id: lease.body.lease_id });
    const gone = await api("POST", path, {});
    expect(gone.status).toBe(410);
    expect(gone.body).toEqual({
      detail: "Lease not found - it may have expired or been revoked",
      code: "lease_not_found",
    });
  });

  it("renews the new expiry from now, not from the old expiry", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const lease = await takeLease([name], 1, { lease_duration: 600 });
    await api("POST", `/leases/${lease.body.lease_id}/renew`, { lease_duration: 5 });
    const listed = (await api("GET", `/${name}/leases`)).body.leases[0];
    expect(Date.parse(listed.expires_at) - Date.now()).toBeLessThanOrEqual(5_000);
  });
});

describe("POST /increment and /decrement", () => {
  it("takes and gives back anonymous slots, clamped at zero", async ({ expect }) => {
    const name = uniqueName();
    const created = await createLimit(name, 3);
    const taken = await api("POST", "/increment", { names: [name], slots: 2 });
    expect(taken.status).toBe(200);
    expect(taken.body).toEqual([{ id: created.id, name, limit: 3 }]);
    expect(await activeSlots(name)).toBe(2);
    expect((await api("POST", "/increment", { names: [name], slots: 2 })).status).toBe(423);
    const given = await api("POST", "/decrement", { names: [name, uniqueName()], slots: 5, occupancy_seconds: 4 });
    expect(given.body).toEqual([{ id: created.id, name, limit: 3 }]);
    expect(await activeSlots(name)).toBe(0);
  });

  it("answers [] for names that match nothing", async ({ expect }) => {
    const response = await api("POST", "/increment", { names: [uniqueName()], slots: 1 });
    expect(response.status).toBe(200);
    expect(response.body).toEqual([]);
    expect((await api("POST", "/increment", { names: [], slots: 1 })).body).toEqual([]);
  });

  it("does not let /decrement free a rate limit's slots (they leave only by decay)", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 2, { slot_decay_per_second: 0.001 });
    await api("POST", "/increment", { names: [name], slots: 2, mode: "rate_limit" });
    await api("POST", "/decrement", { names: [name], slots: 2 });
    expect(await activeSlots(name)).toBe(2);
    expect((await api("POST", "/increment", { names: [name], slots: 1, mode: "rate_limit" })).status).toBe(423);
  });
});

describe("concurrency invariants", () => {
  it("admits exactly 3 of 30 parallel acquisitions on a limit of 3", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 3);
    const responses = await Promise.all(Array.from({ length: 30 }, () => takeLease([name])));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 423)).toHaveLength(27);
    expect(await activeSlots(name)).toBe(3);
  });

  it("admits exactly 3 of 30 parallel calls straight to the limit object", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 3);
    const stub = env.LIMITS.getByName(name);
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        stub.acquire({
          ticket: `ticket-${i}`,
          requestId: null,
          kind: "lease",
          leaseId: `ticket-${i}.W10`,
          slots: 1,
          mode: "concurrency",
          leaseMs: 60_000,
          holder: null,
          waitMs: 0,
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === "granted")).toHaveLength(3);
  });

  it("refuses a multi-name request when one limit is full, leaving the free one untouched", async ({ expect }) => {
    const free = uniqueName("a-free");
    const full = uniqueName("b-full");
    await createLimit(free, 5);
    await createLimit(full, 1);
    await takeLease([full]);
    const response = await takeLease([free, full], 1);
    expect(response.status).toBe(423);
    expect(await activeSlots(free)).toBe(0);
    expect((await api("GET", `/${free}/leases`)).body.leases).toEqual([]);
  });

  it("holds every name of a multi-name lease and frees them all on release", async ({ expect }) => {
    const a = uniqueName("a");
    const b = uniqueName("b");
    await createLimit(a, 2);
    await createLimit(b, 2);
    const lease = await takeLease([b, a], 2);
    expect(lease.status).toBe(200);
    expect(lease.body.limits.map((l: { name: string }) => l.name)).toEqual([a, b].sort());
    expect([await activeSlots(a), await activeSlots(b)]).toEqual([2, 2]);
    expect((await api("POST", `/leases/${lease.body.lease_id}/renew`, {})).status).toBe(204);
    await api("POST", "/decrement-with-lease", { lease_id: lease.body.lease_id });
    expect([await activeSlots(a), await activeSlots(b)]).toEqual([0, 0]);
  });

  it("never over-admits overlapping multi-name requests fired in parallel", async ({ expect }) => {
    const a = uniqueName("a");
    const b = uniqueName("b");
    await createLimit(a, 2);
    await createLimit(b, 3);
    const bodies = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? [a, b] : [b, a]));
    const responses = await Promise.all(bodies.map((names) => takeLease(names)));
    const granted = responses.filter((r) => r.status === 200).length;
    expect(granted).toBeLessThanOrEqual(2);
    expect(granted).toBeGreaterThanOrEqual(1);
    expect(await activeSlots(a)).toBe(granted);
    expect(await activeSlots(b)).toBe(granted);
  });

  it("releases what a lease still holds when it is lost on one of its limits", async ({ expect }) => {
    const a = uniqueName("a");
    const b = uniqueName("b");
    await createLimit(a, 1);
    await createLimit(b, 1);
    const lease = await takeLease([a, b]);
    await api("DELETE", `/${b}`);
    expect((await api("POST", `/leases/${lease.body.lease_id}/renew`, {})).status).toBe(410);
    expect(await activeSlots(a)).toBe(0);
  });
});
