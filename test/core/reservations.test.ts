import { describe, it } from "vitest";
import { admit } from "../../src/core/admission";
import { heldSlots } from "../../src/core/decay";
import { commitReservation, expire, release, renew, withdrawTicket } from "../../src/core/tickets";
import { leaseInfos } from "../../src/core/views";
import { acquireLease, heldAt, limitState, MID_RANDOM, reserveSlots, sumCounted, T0 } from "./fixtures";

const IN_A_MINUTE = { leaseId: "r1.ZGI", expiresAt: T0 + 60_000 };

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

    expect(leaseInfos(state)).toEqual([]);
    expect(release(state, "r1", T0)).toBe(false);
    expect(release(state, IN_A_MINUTE.leaseId, T0)).toBe(false);
    expect(renew(state, IN_A_MINUTE.leaseId, T0 + 60_000)).toBe(false);
    expect(heldSlots(state, T0)).toBe(2);
  });

  it("commit into a lease under the same ticket with a fencing token, counted once", ({ expect }) => {
    // Changed on purpose: a commit keeps the ticket id (the lease id's prefix) instead of re-keying.
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000 }, T0);

    const granted = commitReservation(state, "r1", IN_A_MINUTE, T0 + 10);

    expect(granted).toMatchObject({ id: "r1", leaseId: "r1.ZGI", slots: 2, pending: false, acquiredAt: T0 + 10 });
    expect(granted?.fencingToken).toBeGreaterThan(0);
    expect([...state.tickets.keys()]).toEqual(["r1"]);
    expect(heldSlots(state, T0 + 10)).toBe(2);
    expect(state.leasedSlots).toBe(sumCounted(state));
    expect(release(state, "r1.ZGI", T0 + 20)).toBe(true);
  });

  it("commit an increment reservation into an increment ticket that folds later", ({ expect }) => {
    // Changed on purpose: the slots become anonymous only once the undo window passes.
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000, kind: "increment" }, T0);

    const granted = commitReservation(state, "r1", IN_A_MINUTE, T0 + 10);

    expect(granted).toMatchObject({ kind: "increment", leaseId: null, pending: false, fencingToken: 0 });
    expect(leaseInfos(state)).toEqual([]);
    expect(state.anonymousSlots).toBe(0);
    expect(heldAt(state, T0 + 60_000)).toBe(2);
    expect(heldAt(state, T0 + 60_001)).toBe(2);
    expect(state.tickets.size).toBe(0);
    expect(state.anonymousSlots).toBe(2);
  });

  it("free their slots when withdrawn, and cannot be committed afterwards", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000 }, T0);

    expect(withdrawTicket(state, "r1", T0)).toBe(true);

    expect(heldSlots(state, T0)).toBe(0);
    expect(commitReservation(state, "r1", IN_A_MINUTE, T0)).toBeNull();
    expect(withdrawTicket(state, "r1", T0)).toBe(false);
  });

  it("withdrawal of one ticket never touches another whose id it prefixes", ({ expect }) => {
    // The old prefix match released another request's lease; tickets are now matched exactly.
    const state = limitState({ limit: 5 });
    reserveSlots(state, { id: "abc", slots: 1, pendingMs: 5_000 }, T0);
    const other = acquireLease(state, { slots: 2, durationMs: 60_000, id: "abc-2" }, T0);

    withdrawTicket(state, "abc", T0);

    expect(state.tickets.has(other.id)).toBe(true);
    expect(heldSlots(state, T0)).toBe(2);
  });

  it("cannot be committed once expired, and stop counting", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000 }, T0);

    expire(state, T0 + 5_001);
    expect(commitReservation(state, "r1", IN_A_MINUTE, T0 + 5_001)).toBeNull();
    expect(heldSlots(state, T0 + 5_001)).toBe(0);
    expect(state.tickets.size).toBe(0);
  });

  it("can be committed at the last millisecond of its pending window", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 2, pendingMs: 5_000 }, T0);

    expire(state, T0 + 5_000);
    expect(commitReservation(state, "r1", IN_A_MINUTE, T0 + 5_000)).not.toBeNull();
    expect(heldAt(state, T0 + 5_001)).toBe(2);
  });

  it("cannot be committed twice", ({ expect }) => {
    const state = limitState({ limit: 3 });
    reserveSlots(state, { id: "r1", slots: 1, pendingMs: 5_000 }, T0);

    commitReservation(state, "r1", IN_A_MINUTE, T0);

    expect(commitReservation(state, "r1", { leaseId: "r1.b", expiresAt: T0 + 90_000 }, T0)).toBeNull();
    expect(state.tickets.get("r1")).toMatchObject({ leaseId: "r1.ZGI", expiresAt: T0 + 60_000 });
    expect(heldSlots(state, T0)).toBe(1);
  });
});
