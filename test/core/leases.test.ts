import { describe, it } from "vitest";
import {
  admit,
  cancelReservation,
  commitReservation,
  createLimit,
  deleteLimit,
  earliestExpiry,
  expire,
  heldSlots,
  release,
  renew,
  reserve,
} from "../../src/core/limit";
import type { LimitState } from "../../src/core/state";
import { leaseInfos } from "../../src/core/views";
import { acquireLease, LIMIT_ID, limitState, MID_RANDOM, sumCounted, T0 } from "./fixtures";

/** Reserves after an ok admission, as the limit object's first phase does. */
function reserveSlots(
  state: LimitState,
  request: { id: string; slots: number; pendingMs: number; kind?: "lease" | "increment" },
  now: number,
): void {
  const admission = admit(state, { slots: request.slots, mode: "concurrency" }, now, MID_RANDOM);
  if (admission.status !== "ok") {
    throw new Error(`reservation refused: ${JSON.stringify(admission)}`);
  }
  reserve(
    state,
    { id: request.id, kind: request.kind ?? "lease", slots: request.slots, holder: null, pendingUntil: now + request.pendingMs },
    now,
  );
}

describe("lease expiry", () => {
  // ── Exact expiry ──

  it("still counts a lease at the very millisecond it expires", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 2, durationMs: 1_000 }, T0);

    expect(heldSlots(state, lease.expiresAt)).toBe(2);
    expect(state.leases.has(lease.id)).toBe(true);
  });

  it("stops counting a lease one millisecond after it expires", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 2, durationMs: 1_000 }, T0);

    expect(heldSlots(state, lease.expiresAt + 1)).toBe(0);
    expect(state.leases.has(lease.id)).toBe(false);
    expect(state.leasedSlots).toBe(0);
  });

  it("admits into the slots of a lease that died one millisecond ago", ({ expect }) => {
    const state = limitState({ limit: 2 });
    const lease = acquireLease(state, { slots: 2, durationMs: 1_000 }, T0);

    expect(admit(state, { slots: 2, mode: "concurrency" }, lease.expiresAt, MID_RANDOM).status).toBe("locked");
    expect(admit(state, { slots: 2, mode: "concurrency" }, lease.expiresAt + 1, MID_RANDOM).status).toBe("ok");
  });

  it("returns the committed leases it removes, and only the dead ones", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const short = acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);
    const long = acquireLease(state, { slots: 1, durationMs: 5_000 }, T0);

    const expired = expire(state, T0 + 2_000);

    expect(expired.map((lease) => lease.id)).toEqual([short.id]);
    expect([...state.leases.keys()]).toEqual([long.id]);
  });

  it("reports the earliest expiry for the alarm, and none once every lease is gone", ({ expect }) => {
    const state = limitState({ limit: 5 });
    acquireLease(state, { slots: 1, durationMs: 3_000 }, T0);
    const first = acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);

    expect(earliestExpiry(state)).toBe(first.expiresAt);
    expire(state, T0 + 3_001);
    expect(earliestExpiry(state)).toBeNull();
  });

  it("expires a lease by its renewed expiry, not its first one", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);

    expect(renew(state, lease.id, T0 + 900 + 5_000, T0 + 900)).toBe(true);

    expect(heldSlots(state, T0 + 1_001)).toBe(1);
    expect(heldSlots(state, T0 + 5_900)).toBe(1);
    expect(heldSlots(state, T0 + 5_901)).toBe(0);
  });
});

describe("renew", () => {
  it("cannot bring a dead lease back, even before anything expired it", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);

    expect(renew(state, lease.id, lease.expiresAt + 60_000, lease.expiresAt + 1)).toBe(false);
    expect(heldSlots(state, lease.expiresAt + 1)).toBe(0);
  });

  it("renews a lease at the millisecond it expires", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);

    expect(renew(state, lease.id, lease.expiresAt + 1_000, lease.expiresAt)).toBe(true);
    expect(state.leases.get(lease.id)?.expiresAt).toBe(lease.expiresAt + 1_000);
  });

  it("answers false for an unknown id", ({ expect }) => {
    expect(renew(limitState(), "nope", T0 + 1_000, T0)).toBe(false);
  });

  it("keeps the slots and the fencing token of the lease", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 3, durationMs: 1_000 }, T0);

    renew(state, lease.id, T0 + 10_000, T0 + 500);

    expect(state.leases.get(lease.id)).toMatchObject({ slots: 3, counted: 3, fencingToken: lease.fencingToken });
    expect(state.leasedSlots).toBe(3);
  });
});

describe("release", () => {
  it("frees the lease's slots and answers true", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 3, durationMs: 10_000 }, T0);

    expect(release(state, lease.id, T0 + 100)).toBe(true);
    expect(heldSlots(state, T0 + 100)).toBe(0);
  });

  it("is idempotent: a second release of the same lease is a false no-op", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const kept = acquireLease(state, { slots: 2, durationMs: 10_000 }, T0);
    const released = acquireLease(state, { slots: 3, durationMs: 10_000 }, T0);

    release(state, released.id, T0 + 100);

    expect(release(state, released.id, T0 + 200)).toBe(false);
    expect(heldSlots(state, T0 + 200)).toBe(2);
    expect(state.leases.has(kept.id)).toBe(true);
  });

  it("answers false for a dead lease and frees nothing more", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const dead = acquireLease(state, { slots: 2, durationMs: 1_000 }, T0);
    acquireLease(state, { slots: 1, durationMs: 10_000 }, T0);

    expect(release(state, dead.id, dead.expiresAt + 1)).toBe(false);
    expect(heldSlots(state, dead.expiresAt + 1)).toBe(1);
  });

  it("answers false for an unknown id", ({ expect }) => {
    expect(release(limitState(), "nope", T0)).toBe(false);
  });
});

// ── Two-phase reservations ──

describe("reservations", () => {
  it("count toward occupancy while pending", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000 }, T0);

    expect(heldSlots(state, T0)).toBe(2);
    expect(admit(state, { slots: 2, mode: "concurrency" }, T0, MID_RANDOM).status).toBe("locked");
  });

  it("are not listed as leases, and cannot be released or renewed as one", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000 }, T0);

    expect(leaseInfos(state, T0)).toEqual([]);
    expect(release(state, "r1", T0)).toBe(false);
    expect(renew(state, "r1", T0 + 60_000, T0)).toBe(false);
    expect(heldSlots(state, T0)).toBe(2);
  });

  it("commit into a lease with a new id and a fencing token, keeping the slots counted once", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000 }, T0);

    const granted = commitReservation(state, "r1", { id: "lease-a", expiresAt: T0 + 60_000 }, T0 + 10);

    expect(granted).toMatchObject({ id: "lease-a", slots: 2, pending: null, expiresAt: T0 + 60_000, acquiredAt: T0 + 10 });
    expect(granted !== null && granted !== "increment" && granted.fencingToken).toBeGreaterThan(0);
    expect([...state.leases.keys()]).toEqual(["lease-a"]);
    expect(heldSlots(state, T0 + 10)).toBe(2);
    expect(state.leasedSlots).toBe(sumCounted(state));
  });

  it("commit an increment reservation into anonymous slots", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000, kind: "increment" }, T0);

    expect(commitReservation(state, "r1", { id: "unused", expiresAt: T0 + 60_000 }, T0 + 10)).toBe("increment");
    expect(state.leases.size).toBe(0);
    expect(state.anonymousSlots).toBe(2);
    expect(heldSlots(state, T0 + 60_001)).toBe(2);
  });

  it("free their slots when cancelled", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000 }, T0);

    cancelReservation(state, "r1");

    expect(heldSlots(state, T0)).toBe(0);
    expect(commitReservation(state, "r1", { id: "lease-a", expiresAt: T0 + 60_000 }, T0)).toBeNull();
  });

  it("cancel does not touch a committed lease", ({ expect }) => {
    const state = limitState({ limit: 3 });
    const lease = acquireLease(state, { slots: 2, durationMs: 60_000 }, T0);

    cancelReservation(state, lease.id);

    expect(heldSlots(state, T0)).toBe(2);
  });

  it("cannot be committed once expired, and stop counting", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000 }, T0);

    expect(commitReservation(state, "r1", { id: "lease-a", expiresAt: T0 + 60_000 }, T0 + 5_001)).toBeNull();
    expect(heldSlots(state, T0 + 5_001)).toBe(0);
    expect(state.leases.size).toBe(0);
  });

  it("can be committed at the last millisecond of its pending window", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000 }, T0);

    expect(commitReservation(state, "r1", { id: "lease-a", expiresAt: T0 + 60_000 }, T0 + 5_000)).not.toBeNull();
  });

  it("cannot be committed twice", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 1, pendingMs: 5_000 }, T0);

    commitReservation(state, "r1", { id: "lease-a", expiresAt: T0 + 60_000 }, T0);

    expect(commitReservation(state, "r1", { id: "lease-b", expiresAt: T0 + 60_000 }, T0)).toBeNull();
    expect(commitReservation(state, "lease-a", { id: "lease-c", expiresAt: T0 + 60_000 }, T0)).toBeNull();
    expect(heldSlots(state, T0)).toBe(1);
  });
});

// ── Fencing tokens and delete ──

describe("fencing tokens", () => {
  it("increase strictly with every grant, leases and commits alike", ({ expect }) => {
    const state = limitState({ limit: 10 });
    const first = acquireLease(state, { slots: 1, durationMs: 60_000 }, T0);
    reserveSlots(state, { id: "r1", slots: 1, pendingMs: 5_000 }, T0);
    const second = acquireLease(state, { slots: 1, durationMs: 60_000 }, T0);
    const committed = commitReservation(state, "r1", { id: "lease-r", expiresAt: T0 + 60_000 }, T0);
    const third = acquireLease(state, { slots: 1, durationMs: 60_000 }, T0);

    const tokens = [first, second, committed, third].map((lease) =>
      lease === null || lease === "increment" ? Number.NaN : lease.fencingToken,
    );
    expect(tokens).toEqual([1, 2, 3, 4]);
  });

  it("keep increasing after the limit is deleted and created again", ({ expect }) => {
    const state = limitState({ limit: 10 });
    const before = acquireLease(state, { slots: 1, durationMs: 60_000 }, T0);

    deleteLimit(state);
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

    deleteLimit(state);

    expect(state.leases.size).toBe(0);
    expect(state.leasedSlots).toBe(0);
    expect(release(state, lease.id, T0)).toBe(false);
    expect(renew(state, lease.id, T0 + 60_000, T0)).toBe(false);
    expect(commitReservation(state, "r1", { id: "x", expiresAt: T0 + 60_000 }, T0)).toBeNull();
    expect(admit(state, { slots: 1, mode: "concurrency" }, T0, MID_RANDOM)).toEqual({ status: "missing" });
  });

  it("leaves nothing held for a limit created again under the same name", ({ expect }) => {
    const state = limitState({ limit: 2, slotDecayPerSecond: 0 });
    acquireLease(state, { slots: 2, durationMs: 60_000 }, T0);

    deleteLimit(state);
    createLimit(
      state,
      { id: LIMIT_ID, name: "db", limit: 2, active: true, slotDecayPerSecond: 0, activeSlots: 0, deniedSlots: 0 },
      T0 + 1,
    );

    expect(heldSlots(state, T0 + 1)).toBe(0);
    expect(admit(state, { slots: 2, mode: "concurrency" }, T0 + 1, MID_RANDOM).status).toBe("ok");
  });
});
