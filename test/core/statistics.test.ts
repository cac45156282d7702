import { describe, it } from "vitest";
import { admit } from "../../src/core/admission";
import { deniedSlotsAt } from "../../src/core/decay";
import { updateLimit } from "../../src/core/settings";
import { decrement, expire, release } from "../../src/core/tickets";
import { limitRecord } from "../../src/core/views";
import { acquireLease, increment, limitState, MID_RANDOM, reserveSlots, T0 } from "./fixtures";

// ── Denied-slot bookkeeping (D-4, D-5) ──

describe("denied slots", () => {
  it("grow by the requested slots with every refusal", ({ expect }) => {
    const state = limitState({ limit: 10, activeSlots: 10 });

    admit(state, { slots: 3, mode: "concurrency" }, T0, MID_RANDOM);
    expect(deniedSlotsAt(state, T0)).toBe(3);

    admit(state, { slots: 2, mode: "concurrency" }, T0, MID_RANDOM);
    expect(deniedSlotsAt(state, T0)).toBe(5);
  });

  it("do not grow when a request is admitted", ({ expect }) => {
    const state = limitState({ limit: 10, deniedSlots: 4 });

    increment(state, 3, T0);

    expect(deniedSlotsAt(state, T0)).toBe(4);
  });

  it("decay at the limit's decay rate when it has one (decay 2, denied 20, 5 s → 10)", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 2, deniedSlots: 20 });

    expect(deniedSlotsAt(state, T0 + 5_000)).toBeCloseTo(10, 9);
  });

  it("decay at 1/min(avg, 10 s) on a tag: limit (avg 120, denied 10, 30.5 s → 7)", ({ expect }) => {
    const state = limitState({ name: "tag:etl", limit: 10, deniedSlots: 10 });
    state.avgSlotOccupancySeconds = 120;

    expect(deniedSlotsAt(state, T0 + 30_500)).toBeCloseTo(6.95, 9);
    expect(limitRecord(state, T0 + 30_500)?.denied_slots).toBe(7);
  });

  it("decay at 1/min(avg, 30 s) on any other limit (avg 120, denied 30, 30.5 s → 29)", ({ expect }) => {
    const state = limitState({ name: "db", limit: 10, deniedSlots: 30 });
    state.avgSlotOccupancySeconds = 120;

    expect(deniedSlotsAt(state, T0 + 30_500)).toBeCloseTo(30 - 30.5 / 30, 9);
    expect(limitRecord(state, T0 + 30_500)?.denied_slots).toBe(29);
  });

  it("decay at 1/avg when the average is below the cap (avg 2: 0.5/s)", ({ expect }) => {
    const state = limitState({ limit: 10, deniedSlots: 10 });

    expect(deniedSlotsAt(state, T0 + 3_000)).toBeCloseTo(8.5, 9);
  });

  it("decay no faster than 10/s, however short the average", ({ expect }) => {
    const state = limitState({ limit: 10, deniedSlots: 10 });
    state.avgSlotOccupancySeconds = 0.001;

    expect(deniedSlotsAt(state, T0 + 500)).toBeCloseTo(5, 9);
  });

  it("never decay below zero", ({ expect }) => {
    const state = limitState({ limit: 10, deniedSlots: 3 });

    expect(deniedSlotsAt(state, T0 + 3_600_000)).toBe(0);
  });

  it("count a refusal from the decayed value, not the stored one (vector 5)", ({ expect }) => {
    const state = limitState({ limit: 10, activeSlots: 10, deniedSlots: 10 });

    admit(state, { slots: 1, mode: "concurrency" }, T0 + 1_000, MID_RANDOM);

    expect(deniedSlotsAt(state, T0 + 1_000)).toBeCloseTo(10.5, 9);
  });

  it("keep the decay accrued at the old rate when the average changes", ({ expect }) => {
    const state = limitState({ limit: 10, deniedSlots: 10 });

    decrement(state, { slots: 1, occupancySeconds: 100 }, T0 + 2_000);

    expect(state.avgSlotOccupancySeconds).toBeCloseTo(6.9, 9);
    expect(deniedSlotsAt(state, T0 + 2_000)).toBeCloseTo(9, 9);
    expect(deniedSlotsAt(state, T0 + 2_000 + 6_900)).toBeCloseTo(8, 9);
  });

  it("keep the decay accrued at the old rate when the decay is patched", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1, deniedSlots: 10 });

    updateLimit(state, { slotDecayPerSecond: 4 }, T0 + 2_000);

    expect(deniedSlotsAt(state, T0 + 3_000)).toBeCloseTo(4, 9);
  });
});

// ── Average occupancy (D-6) ──

describe("average slot occupancy", () => {
  it("moves from 2.0 to 2.15 when one slot of a limit of 10 is held for 5 s", ({ expect }) => {
    const state = limitState({ limit: 10 });
    const lease = acquireLease(state, { slots: 1, durationMs: 60_000 }, T0);

    release(state, lease.leaseId, T0 + 5_000);

    expect(state.avgSlotOccupancySeconds).toBeCloseTo(2.15, 12);
  });

  it("counts the occupancy per slot", ({ expect }) => {
    const state = limitState({ limit: 10 });
    const lease = acquireLease(state, { slots: 2, durationMs: 60_000 }, T0);

    release(state, lease.leaseId, T0 + 5_000);

    expect(state.avgSlotOccupancySeconds).toBeCloseTo(2 + (2.5 - 2) / 20, 12);
  });

  it("is updated by a decrement that gives its occupancy, approaching it monotonically (vector 13)", ({ expect }) => {
    const state = limitState({ limit: 10 });
    const seen: number[] = [];

    for (let i = 0; i < 50; i += 1) {
      decrement(state, { slots: 1, occupancySeconds: 5 }, T0);
      seen.push(state.avgSlotOccupancySeconds);
    }

    expect(seen[0]).toBeCloseTo(2.15, 12);
    for (let i = 1; i < seen.length; i += 1) {
      expect(seen[i]).toBeGreaterThan(seen[i - 1] ?? Number.POSITIVE_INFINITY);
      expect(seen[i]).toBeLessThan(5);
    }
  });

  it("floors one slot's occupancy at 0.1 s (vector 14)", ({ expect }) => {
    const state = limitState({ limit: 10 });
    state.avgSlotOccupancySeconds = 0.1;

    decrement(state, { slots: 1, occupancySeconds: 0.001 }, T0);

    expect(state.avgSlotOccupancySeconds).toBe(0.1);
  });

  it("is not changed by a decrement without an occupancy", ({ expect }) => {
    const state = limitState({ limit: 10, activeSlots: 3 });

    decrement(state, { slots: 1 }, T0 + 5_000);

    expect(state.avgSlotOccupancySeconds).toBe(2);
  });

  it("takes a lease's whole life when it expires", ({ expect }) => {
    const state = limitState({ limit: 10 });
    const lease = acquireLease(state, { slots: 1, durationMs: 5_000 }, T0);

    expire(state, lease.expiresAt + 1);

    expect(state.avgSlotOccupancySeconds).toBeCloseTo(2.15, 12);
  });

  it("ignores reservations that expire uncommitted", ({ expect }) => {
    const state = limitState({ limit: 10 });
    reserveSlots(state, { id: "r1", slots: 1, pendingMs: 5_000 }, T0);

    expire(state, T0 + 5_001);

    expect(state.avgSlotOccupancySeconds).toBe(2);
  });

  it("is skipped for a limit of 0 instead of dividing by zero", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 1, durationMs: 60_000 }, T0);
    updateLimit(state, { limit: 0 }, T0);

    decrement(state, { slots: 1, occupancySeconds: 5 }, T0 + 5_000);
    release(state, lease.leaseId, T0 + 5_000);

    expect(state.avgSlotOccupancySeconds).toBe(2);
  });
});
