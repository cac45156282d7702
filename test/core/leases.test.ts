import { describe, it } from "vitest";
import { admit } from "../../src/core/admission";
import { heldSlots } from "../../src/core/decay";
import { encodeLeaseId } from "../../src/core/lease-id";
import { createLimit, deleteLimit } from "../../src/core/settings";
import { commitReservation, expire, nextDueAt, release, renew } from "../../src/core/tickets";
import { acquireLease, heldAt, LIMIT_ID, limitState, MID_RANDOM, reserveSlots, T0 } from "./fixtures";

const IN_A_MINUTE = { leaseId: "r1.ZGI", expiresAt: T0 + 60_000 };

describe("lease expiry", () => {
  // ── Exact expiry ──

  it("still counts a lease at the very millisecond it expires", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 2, durationMs: 1_000 }, T0);

    expect(heldAt(state, lease.expiresAt)).toBe(2);
    expect(state.tickets.has(lease.id)).toBe(true);
  });

  it("stops counting a lease one millisecond after it expires", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 2, durationMs: 1_000 }, T0);

    expect(heldAt(state, lease.expiresAt + 1)).toBe(0);
    expect(state.tickets.has(lease.id)).toBe(false);
    expect(state.leasedSlots).toBe(0);
  });

  it("admits into the slots of a lease that died one millisecond ago, once expired", ({ expect }) => {
    const state = limitState({ limit: 2 });
    const lease = acquireLease(state, { slots: 2, durationMs: 1_000 }, T0);

    expire(state, lease.expiresAt);
    expect(admit(state, { slots: 2, mode: "concurrency" }, lease.expiresAt, MID_RANDOM).status).toBe("locked");
    expire(state, lease.expiresAt + 1);
    expect(admit(state, { slots: 2, mode: "concurrency" }, lease.expiresAt + 1, MID_RANDOM).status).toBe("ok");
  });

  it("returns the committed leases it removes, and only the dead ones", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const short = acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);
    const long = acquireLease(state, { slots: 1, durationMs: 5_000 }, T0);

    const expired = expire(state, T0 + 2_000);

    expect(expired.map((lease) => lease.id)).toEqual([short.id]);
    expect([...state.tickets.keys()]).toEqual([long.id]);
  });

  it("reports the earliest expiry for the alarm, and none once every lease is gone", ({ expect }) => {
    const state = limitState({ limit: 5 });
    acquireLease(state, { slots: 1, durationMs: 3_000 }, T0);
    const first = acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);

    expect(nextDueAt(state)).toBe(first.expiresAt);
    expire(state, T0 + 3_001);
    expect(nextDueAt(state)).toBeNull();
  });

  it("expires a lease by its renewed expiry, not its first one", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);

    expire(state, T0 + 900);
    expect(renew(state, lease.leaseId, T0 + 900 + 5_000)).toBe(true);

    expect(heldAt(state, T0 + 1_001)).toBe(1);
    expect(heldAt(state, T0 + 5_900)).toBe(1);
    expect(heldAt(state, T0 + 5_901)).toBe(0);
  });
});

describe("renew", () => {
  it("cannot bring a dead lease back once expiry has run", ({ expect }) => {
    // `renew` trusts its caller to have expired what is due (every engine operation does).
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);

    expire(state, lease.expiresAt + 1);
    expect(renew(state, lease.leaseId, lease.expiresAt + 60_000)).toBe(false);
    expect(heldAt(state, lease.expiresAt + 1)).toBe(0);
  });

  it("renews a lease at the millisecond it expires", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);

    expire(state, lease.expiresAt);
    expect(renew(state, lease.leaseId, lease.expiresAt + 1_000)).toBe(true);
    expect(state.tickets.get(lease.id)?.expiresAt).toBe(lease.expiresAt + 1_000);
  });

  it("answers false for an unknown id, a bare ticket id, or a forged tail on a live ticket", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);

    expect(renew(state, "nope", T0 + 1_000)).toBe(false);
    expect(renew(state, lease.id, T0 + 1_000)).toBe(false);
    expect(renew(state, encodeLeaseId(lease.id, ["other"]), T0 + 1_000)).toBe(false);
    expect(state.tickets.get(lease.id)?.expiresAt).toBe(T0 + 1_000);
  });

  it("keeps the slots and the fencing token of the lease", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 3, durationMs: 1_000 }, T0);

    renew(state, lease.leaseId, T0 + 10_000);

    expect(state.tickets.get(lease.id)).toMatchObject({ slots: 3, counted: 3, fencingToken: lease.fencingToken });
    expect(state.leasedSlots).toBe(3);
  });
});

describe("release", () => {
  it("frees the lease's slots and answers true", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 3, durationMs: 10_000 }, T0);

    expect(release(state, lease.leaseId, T0 + 100)).toBe(true);
    expect(heldSlots(state, T0 + 100)).toBe(0);
  });

  it("is idempotent: a second release of the same lease is a false no-op", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const kept = acquireLease(state, { slots: 2, durationMs: 10_000 }, T0);
    const released = acquireLease(state, { slots: 3, durationMs: 10_000 }, T0);

    release(state, released.leaseId, T0 + 100);

    expect(release(state, released.leaseId, T0 + 200)).toBe(false);
    expect(heldSlots(state, T0 + 200)).toBe(2);
    expect(state.tickets.has(kept.id)).toBe(true);
  });

  it("answers false for a dead lease and frees nothing more", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const dead = acquireLease(state, { slots: 2, durationMs: 1_000 }, T0);
    acquireLease(state, { slots: 1, durationMs: 10_000 }, T0);

    expire(state, dead.expiresAt + 1);
    expect(release(state, dead.leaseId, dead.expiresAt + 1)).toBe(false);
    expect(heldSlots(state, dead.expiresAt + 1)).toBe(1);
  });

  it("answers false for an unknown id or a lease id whose tail does not match", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 2, durationMs: 10_000 }, T0);

    expect(release(state, "nope", T0)).toBe(false);
    expect(release(state, lease.id, T0)).toBe(false);
    expect(release(state, `${lease.id}.forged`, T0)).toBe(false);
    expect(heldSlots(state, T0)).toBe(2);
  });
});

// ── Fencing tokens and delete ──

describe("fencing tokens", () => {
  it("increase strictly with every grant, leases and commits alike", ({ expect }) => {
    const state = limitState({ limit: 10 });
    const first = acquireLease(state, { slots: 1, durationMs: 60_000 }, T0);
    reserveSlots(state, { id: "r1", slots: 1, pendingMs: 5_000 }, T0);
    const second = acquireLease(state, { slots: 1, durationMs: 60_000 }, T0);
    const committed = commitReservation(state, "r1", IN_A_MINUTE, T0);
    const third = acquireLease(state, { slots: 1, durationMs: 60_000 }, T0);

    const tokens = [first, second, committed, third].map((lease) => lease?.fencingToken);
    // Token 1 went to the limit's generation at create.
    expect(tokens).toEqual([2, 3, 4, 5]);
  });

  it("keep increasing after the limit is deleted and created again", ({ expect }) => {
    const state = limitState({ limit: 10 });
    const before = acquireLease(state, { slots: 1, durationMs: 60_000 }, T0);

    deleteLimit(state, T0);
    createLimit(
      state,
      { id: LIMIT_ID, name: "db", limit: 10, active: true, slotDecayPerSecond: 0, activeSlots: 0, deniedSlots: 0 },
      T0 + 1,
    );
    const after = acquireLease(state, { slots: 1, durationMs: 60_000 }, T0 + 1);

    expect(after.fencingToken).toBeGreaterThan(before.fencingToken);
  });
});

describe("deleteLimit", () => {
  it("revokes every lease and reservation, and the limit then answers missing", ({ expect }) => {
    const state = limitState({ limit: 10 });
    const lease = acquireLease(state, { slots: 2, durationMs: 60_000 }, T0);
    reserveSlots(state, { id: "r1", slots: 1, pendingMs: 5_000 }, T0);

    deleteLimit(state, T0);

    expect(state.tickets.size).toBe(0);
    expect(state.leasedSlots).toBe(0);
    expect(release(state, lease.leaseId, T0)).toBe(false);
    expect(renew(state, lease.leaseId, T0 + 60_000)).toBe(false);
    expect(commitReservation(state, "r1", IN_A_MINUTE, T0)).toBeNull();
    expect(admit(state, { slots: 1, mode: "concurrency" }, T0, MID_RANDOM)).toEqual({ status: "missing" });
  });

  it("leaves nothing held for a limit created again under the same name", ({ expect }) => {
    const state = limitState({ limit: 2, slotDecayPerSecond: 0 });
    acquireLease(state, { slots: 2, durationMs: 60_000 }, T0);

    deleteLimit(state, T0);
    createLimit(
      state,
      { id: LIMIT_ID, name: "db", limit: 2, active: true, slotDecayPerSecond: 0, activeSlots: 0, deniedSlots: 0 },
      T0 + 1,
    );

    expect(heldAt(state, T0 + 1)).toBe(0);
    expect(admit(state, { slots: 2, mode: "concurrency" }, T0 + 1, MID_RANDOM).status).toBe("ok");
  });
});
