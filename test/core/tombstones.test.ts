import { describe, it } from "vitest";
import { requestIdTaken } from "../../src/core/admission";
import { deleteLimit } from "../../src/core/settings";
import { type LimitState, putTombstone } from "../../src/core/state";
import { commitReservation, expire, release, TOMBSTONE_MS, withdrawTicket } from "../../src/core/tickets";
import { acquireLease, increment, limitState, reserveSlots, T0 } from "./fixtures";

/** Whether `requestId` is taken at `now`, as an operation sees it (what is due expired first). */
function takenAt(state: LimitState, requestId: string, now: number): boolean {
  expire(state, now);
  return requestIdTaken(state, requestId, now);
}

describe("request ids", () => {
  it("are free when never used, and a request without one never collides", ({ expect }) => {
    const state = limitState();
    acquireLease(state, { slots: 1, durationMs: 1_000 }, T0);

    expect(requestIdTaken(state, "req", T0)).toBe(false);
    expect(requestIdTaken(state, null, T0)).toBe(false);
  });

  it("are taken while the ticket lives, for TOMBSTONE_MS after its end inclusive, then free", ({ expect }) => {
    const state = limitState();
    const lease = acquireLease(state, { slots: 1, durationMs: 60_000, requestId: "req" }, T0);

    expect(takenAt(state, "req", T0 + 30_000)).toBe(true);
    expect(state.requestIds.get("req")).toBe(lease.id);

    release(state, lease.leaseId, T0 + 30_000);
    expect(state.requestIds.has("req")).toBe(false);
    expect(state.tombstones.get("req")).toBe(T0 + 30_000 + TOMBSTONE_MS);
    expect(takenAt(state, "req", T0 + 30_000 + TOMBSTONE_MS)).toBe(true);
    expect(takenAt(state, "req", T0 + 30_000 + TOMBSTONE_MS + 1)).toBe(false);
    // Forgotten once passed, so the map does not grow without end.
    expect(state.tombstones.has("req")).toBe(false);
  });

  it("stay taken after a lease expires, counted from the expiry that removed it", ({ expect }) => {
    const state = limitState();
    acquireLease(state, { slots: 1, durationMs: 1_000, requestId: "req" }, T0);

    expect(takenAt(state, "req", T0 + 5_000)).toBe(true);
    expect(state.tombstones.get("req")).toBe(T0 + 5_000 + TOMBSTONE_MS);
    expect(takenAt(state, "req", T0 + 5_001 + TOMBSTONE_MS)).toBe(false);
  });

  it("stay taken through an increment's undo window and after it folds", ({ expect }) => {
    const state = limitState();
    const ticket = increment(state, 1, T0, "concurrency", { undoMs: 2_000, requestId: "req" });

    expect(takenAt(state, "req", ticket.expiresAt)).toBe(true);
    expect(takenAt(state, "req", ticket.expiresAt + 1)).toBe(true);
    expect(state.anonymousSlots).toBe(1);
    expect(takenAt(state, "req", ticket.expiresAt + 1 + TOMBSTONE_MS)).toBe(true);
    expect(takenAt(state, "req", ticket.expiresAt + 2 + TOMBSTONE_MS)).toBe(false);
  });

  it("stay with the ticket from reservation to commit, and are tombstoned when it is withdrawn", ({ expect }) => {
    const state = limitState();
    reserveSlots(state, { id: "r1", slots: 1, pendingMs: 5_000, requestId: "req" }, T0);
    commitReservation(state, "r1", { leaseId: "r1.x", expiresAt: T0 + 60_000 }, T0 + 10);
    expect(state.requestIds.get("req")).toBe("r1");

    withdrawTicket(state, "r1", T0 + 100);

    expect(state.requestIds.has("req")).toBe(false);
    expect(takenAt(state, "req", T0 + 100 + TOMBSTONE_MS)).toBe(true);
    expect(takenAt(state, "req", T0 + 101 + TOMBSTONE_MS)).toBe(false);
  });

  it("stay taken after the limit is deleted", ({ expect }) => {
    const state = limitState();
    acquireLease(state, { slots: 1, durationMs: 60_000, requestId: "req" }, T0);

    deleteLimit(state, T0 + 10);

    expect(takenAt(state, "req", T0 + 10 + TOMBSTONE_MS)).toBe(true);
    expect(takenAt(state, "req", T0 + 11 + TOMBSTONE_MS)).toBe(false);
  });

  it("are not freed early by a second end: a tombstone is only ever extended", ({ expect }) => {
    const state = limitState();
    const lease = acquireLease(state, { slots: 1, durationMs: 60_000, requestId: "req" }, T0);
    release(state, lease.leaseId, T0 + 50_000);

    // A cancel that arrived from a machine whose clock is behind stamps an earlier end.
    putTombstone(state, "req", T0 + TOMBSTONE_MS);

    expect(state.tombstones.get("req")).toBe(T0 + 50_000 + TOMBSTONE_MS);
    expect(takenAt(state, "req", T0 + 50_000 + TOMBSTONE_MS)).toBe(true);
  });
});
