import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { activeSlots, api, controlClock, createLimit, takeLease, uniqueName } from "../helpers/api";

describe("lease expiry", () => {
  it("reclaims an expired lease when the alarm fires, with nobody calling", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const clock = await controlClock(name);
    const lease = await takeLease([name], 1, { lease_duration: 5 });
    const stub = env.LIMITS.getByName(name);
    const alarmAt = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(alarmAt).toBe(Date.parse(lease.body.expires_at) + 1);

    await clock.advance(5_001);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const rows = await runInDurableObject(stub, (_, state) =>
      state.storage.sql.exec("SELECT COUNT(*) AS n FROM tickets").one(),
    );
    expect(rows.n).toBe(0);
    expect(await activeSlots(name)).toBe(0);
  });

  it("counts a lease up to its expiry instant and not one millisecond after", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const clock = await controlClock(name);
    const lease = await takeLease([name], 1, { lease_duration: 2 });
    await clock.advance(2_000);
    expect(await activeSlots(name)).toBe(1);
    expect((await takeLease([name])).status).toBe(423);
    await clock.advance(1);
    expect(await activeSlots(name)).toBe(0);
    // A dead lease cannot be renewed back to life, and releasing it changes nothing.
    expect((await api("POST", `/leases/${lease.body.lease_id}/renew`, {})).status).toBe(410);
    expect((await api("POST", "/decrement-with-lease", { lease_id: lease.body.lease_id })).status).toBe(204);
    expect((await takeLease([name])).status).toBe(200);
  });

  it("keeps a renewed lease past its first expiry and re-arms the alarm", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const clock = await controlClock(name);
    const lease = await takeLease([name], 1, { lease_duration: 2 });
    await clock.advance(1_500);
    expect((await api("POST", `/leases/${lease.body.lease_id}/renew`, { lease_duration: 2 })).status).toBe(204);
    await clock.advance(1_000);
    const stub = env.LIMITS.getByName(name);
    await runDurableObjectAlarm(stub);
    expect(await activeSlots(name)).toBe(1);
    await clock.advance(1_001);
    await runDurableObjectAlarm(stub);
    expect(await activeSlots(name)).toBe(0);
  });

  it("lets a multi-name reservation whose commit never came expire on its own", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const clock = await controlClock(name);
    const stub = env.LIMITS.getByName(name);
    // No wait: the reservation is held for the pending margin (10 s) after its wait.
    const reservation = await stub.reserve({
      ticket: "orphan",
      requestId: null,
      kind: "lease",
      leaseId: null,
      slots: 1,
      mode: "concurrency",
      leaseMs: 60_000,
      holder: null,
      waitMs: 0,
    });
    expect(reservation.status).toBe("reserved");
    expect((await takeLease([name])).status).toBe(423);
    await clock.advance(10_001);
    await runDurableObjectAlarm(stub);
    expect((await takeLease([name])).status).toBe(200);
  });
});

describe("rate limits (continuous decay)", () => {
  it("frees slots continuously, keeping fractions, and admits again once enough has leaked", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 10, { slot_decay_per_second: 5 });
    const clock = await controlClock(name);
    expect((await api("POST", "/increment", { names: [name], slots: 10, mode: "rate_limit" })).status).toBe(200);
    const refused = await api("POST", "/increment", { names: [name], slots: 5, mode: "rate_limit" });
    expect(refused.status).toBe(423);
    // The exact wait for 5 slots at 5/s is 1 s, jittered upward only.
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(1.1);

    await clock.advance(300);
    expect(await activeSlots(name)).toBe(9); // 8.5 held, rounded up
    await clock.advance(700);
    expect((await api("POST", "/increment", { names: [name], slots: 5, mode: "rate_limit" })).status).toBe(200);
    await clock.advance(3_000);
    expect(await activeSlots(name)).toBe(0);
  });

  it("does not reset accrued decay on a PATCH (Prefect's D-3 quirk is not copied)", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 10, { slot_decay_per_second: 0.1 });
    const clock = await controlClock(name);
    await api("POST", "/increment", { names: [name], slots: 10, mode: "rate_limit" });
    await clock.advance(30_500);
    expect(await activeSlots(name)).toBe(7);
    await api("PATCH", `/${name}`, { limit: 11 });
    expect(await activeSlots(name)).toBe(7);
  });

  it("does not free a lease's slots twice on a decaying limit (Prefect's C-11 is not copied)", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 2, { slot_decay_per_second: 1 });
    const clock = await controlClock(name);
    const lease = await takeLease([name], 2);
    await api("POST", "/decrement-with-lease", { lease_id: lease.body.lease_id });
    expect(await activeSlots(name)).toBe(2);
    await clock.advance(1_000);
    expect(await activeSlots(name)).toBe(1);
  });
});
