import { describe, it } from "vitest";
import { admit } from "../../src/core/admission";
import { heldSlots, rateSlotsAt } from "../../src/core/decay";
import { updateLimit } from "../../src/core/settings";
import { decrement } from "../../src/core/tickets";
import { createState } from "../../src/core/state";
import { limitRecord } from "../../src/core/views";
import { acquireLease, heldAt, increment, limitState, MID_RANDOM, T0 } from "./fixtures";

// ── Anonymous slots: /increment and /decrement ──

describe("anonymous slots", () => {
  it("are added by an increment on a limit without decay only when it folds, and do not expire", ({ expect }) => {
    // Changed on purpose: an increment is first a ticket (undoable until `expiresAt`) that counts
    // through `counted`; `anonymousSlots` rises only when its undo window passes.
    const state = limitState({ limit: 10 });
    const ticket = increment(state, 3, T0, "concurrency", { undoMs: 5_000 });

    expect(state.anonymousSlots).toBe(0);
    expect(state.leasedSlots).toBe(3);
    expect(heldAt(state, ticket.expiresAt)).toBe(3);
    expect(state.tickets.has(ticket.id)).toBe(true);

    expect(heldAt(state, ticket.expiresAt + 1)).toBe(3);
    expect(state.tickets.has(ticket.id)).toBe(false);
    expect(state.anonymousSlots).toBe(3);
    expect(state.leasedSlots).toBe(0);
    expect(heldAt(state, T0 + 86_400_000)).toBe(3);
  });

  it("are freed by a decrement", ({ expect }) => {
    const state = limitState({ limit: 10 });
    increment(state, 3, T0);

    decrement(state, { slots: 2 }, T0);

    expect(heldSlots(state, T0)).toBe(1);
  });

  it("are clamped at 0 by a decrement larger than what is held (vector 12)", ({ expect }) => {
    const state = limitState({ limit: 10, activeSlots: 10 });

    decrement(state, { slots: 100 }, T0);

    expect(state.anonymousSlots).toBe(0);
    expect(limitRecord(state, T0)?.active_slots).toBe(0);
  });

  it("are not taken by an increment on an inactive limit (vector 4)", ({ expect }) => {
    const state = limitState({ limit: 10, active: false });
    const ticket = increment(state, 3, T0);

    expect(heldSlots(state, T0)).toBe(0);
    expect(heldAt(state, ticket.expiresAt + 1)).toBe(0);
    expect(state.anonymousSlots).toBe(0);
  });

  it("are freed by a decrement on a limit disabled since, so disabling never strands them", ({ expect }) => {
    const state = limitState({ limit: 10 });
    increment(state, 4, T0);
    updateLimit(state, { active: false }, T0);

    decrement(state, { slots: 4 }, T0);
    updateLimit(state, { active: true }, T0);

    expect(heldSlots(state, T0)).toBe(0);
  });

  it("are the only thing a decrement frees: leases stay", ({ expect }) => {
    const state = limitState({ limit: 10 });
    acquireLease(state, { slots: 3, durationMs: 60_000 }, T0);
    increment(state, 1, T0);

    decrement(state, { slots: 10 }, T0);

    expect(heldSlots(state, T0)).toBe(3);
    expect(state.leasedSlots).toBe(3);
  });

  it("ignore a decrement on a missing limit", ({ expect }) => {
    const state = createState();

    decrement(state, { slots: 1, occupancySeconds: 5 }, T0);

    expect(state.anonymousSlots).toBe(0);
    expect(state.dirty.counters).toBe(false);
  });
});

// ── PATCH active_slots and denied_slots ──

describe("updateLimit slot counts", () => {
  it("sets the anonymous count of a limit without decay and leaves leases alone", ({ expect }) => {
    const state = limitState({ limit: 10 });
    const lease = acquireLease(state, { slots: 3, durationMs: 60_000 }, T0);
    increment(state, 2, T0);

    updateLimit(state, { activeSlots: 0 }, T0);
    expect(heldSlots(state, T0)).toBe(3);

    updateLimit(state, { activeSlots: 4 }, T0);
    expect(heldSlots(state, T0)).toBe(7);
    expect(state.tickets.get(lease.id)?.counted).toBe(3);
  });

  it("sets the bucket of a decaying limit, which then leaks from the patched value", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1 });
    increment(state, 9, T0);

    updateLimit(state, { activeSlots: 6 }, T0 + 1_000);

    expect(rateSlotsAt(state, T0 + 1_000)).toBe(6);
    expect(heldSlots(state, T0 + 3_000)).toBeCloseTo(4, 9);
  });

  it("sets the bucket when decay and active_slots are patched together", ({ expect }) => {
    const state = limitState({ limit: 10 });
    increment(state, 5, T0);

    updateLimit(state, { slotDecayPerSecond: 2, activeSlots: 6 }, T0);

    expect(state.anonymousSlots).toBe(0);
    expect(heldSlots(state, T0 + 1_000)).toBeCloseTo(4, 9);
  });

  it("allows a limit below what is held and then refuses until usage drains", ({ expect }) => {
    const state = limitState({ limit: 10 });
    increment(state, 6, T0);

    updateLimit(state, { limit: 4 }, T0);

    expect(admit(state, { slots: 1, mode: "concurrency" }, T0, MID_RANDOM).status).toBe("locked");
    decrement(state, { slots: 3 }, T0);
    expect(admit(state, { slots: 1, mode: "concurrency" }, T0, MID_RANDOM).status).toBe("ok");
  });

  it("sets denied slots, which decay from the moment they are patched", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 2 });

    updateLimit(state, { deniedSlots: 20 }, T0 + 50_000);

    expect(limitRecord(state, T0 + 50_000)?.denied_slots).toBe(20);
    expect(limitRecord(state, T0 + 55_000)?.denied_slots).toBe(10);
  });

  it("creates a limit with the given slot counts", ({ expect }) => {
    const state = limitState({ limit: 10, activeSlots: 4, deniedSlots: 3 });

    expect(limitRecord(state, T0)).toMatchObject({ active_slots: 4, denied_slots: 3, limit: 10 });
  });
});
