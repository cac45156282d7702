import { describe, it } from "vitest";
import { admit } from "../../src/core/admission";
import { heldSlots, rateSlotsAt } from "../../src/core/decay";
import { updateLimit } from "../../src/core/settings";
import { decrement, expire, release } from "../../src/core/tickets";
import { limitRecord } from "../../src/core/views";
import { acquireLease, increment, limitState, MID_RANDOM, T0 } from "./fixtures";

describe("continuous decay", () => {
  // ── The leaky bucket ──

  it("leaks 10 slots at 0.1/s down to 6.95 after 30.5 s, which a read shows as 7", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 0.1 });
    increment(state, 10, T0);

    expect(heldSlots(state, T0 + 30_500)).toBeCloseTo(6.95, 9);
    expect(limitRecord(state, T0 + 30_500)?.active_slots).toBe(7);
  });

  it("keeps fractions across frequent writes instead of flooring them away (D-3 is not copied)", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 0.1 });
    increment(state, 10, T0);

    // Each denial writes the limit 0.5 s after the last one: 0.05 of a slot each time. Floor
    // arithmetic with a clock reset on every write would never free anything.
    for (let t = T0 + 500; t < T0 + 10_000; t += 500) {
      expect(admit(state, { slots: 1, mode: "rate_limit" }, t, MID_RANDOM).status).toBe("locked");
    }

    expect(heldSlots(state, T0 + 10_000)).toBeCloseTo(9, 9);
    expect(admit(state, { slots: 1, mode: "rate_limit" }, T0 + 10_000, MID_RANDOM).status).toBe("ok");
  });

  it("never leaks below zero, so a later grant starts from an empty bucket", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1 });
    increment(state, 3, T0);

    expect(rateSlotsAt(state, T0 + 3_600_000)).toBe(0);
    increment(state, 2, T0 + 3_600_000);
    expect(heldSlots(state, T0 + 3_600_000)).toBe(2);
  });

  it("refuses a burst and admits it once enough has leaked (vector 11: 5/s, limit 10)", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 5 });
    increment(state, 10, T0, "rate_limit");

    expect(admit(state, { slots: 5, mode: "rate_limit" }, T0, MID_RANDOM).status).toBe("locked");
    expect(admit(state, { slots: 5, mode: "rate_limit" }, T0 + 999, MID_RANDOM).status).toBe("locked");
    expect(admit(state, { slots: 5, mode: "rate_limit" }, T0 + 2_000, MID_RANDOM).status).toBe("ok");
  });

  it("puts concurrency-mode grants into the bucket too", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 2 });
    increment(state, 4, T0, "concurrency");

    expect(state.anonymousSlots).toBe(0);
    expect(heldSlots(state, T0 + 1_000)).toBeCloseTo(2, 9);
  });

  // ── Leases on a decaying limit ──

  it("does not free a lease's slots a second time when it is released (C-11 is not copied)", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1 });
    const lease = acquireLease(state, { slots: 4, durationMs: 60_000 }, T0);
    expect(heldSlots(state, T0)).toBe(4);

    expect(release(state, lease.leaseId, T0 + 1_000)).toBe(true);

    expect(heldSlots(state, T0 + 1_000)).toBeCloseTo(3, 9);
    expect(heldSlots(state, T0 + 3_000)).toBeCloseTo(1, 9);
  });

  it("does not free a lease's slots when it expires either: they leave only by decay", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1 });
    const lease = acquireLease(state, { slots: 4, durationMs: 1_000 }, T0);

    expect(expire(state, lease.expiresAt + 1).map((dead) => dead.id)).toEqual([lease.id]);
    expect(heldSlots(state, lease.expiresAt + 1)).toBeCloseTo(2.999, 9);
  });

  it("never lets /decrement touch the bucket", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1 });
    increment(state, 5, T0);

    decrement(state, { slots: 5 }, T0);

    expect(heldSlots(state, T0)).toBe(5);
    expect(heldSlots(state, T0 + 1_000)).toBeCloseTo(4, 9);
  });

  // ── PATCH keeps accrued decay ──

  it("keeps the decay accrued before a PATCH, the opposite of Prefect (vector 10)", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 0.1 });
    increment(state, 10, T0);

    updateLimit(state, {}, T0 + 30_500);
    expect(limitRecord(state, T0 + 30_500)?.active_slots).toBe(7);

    updateLimit(state, { limit: 12 }, T0 + 30_500);
    expect(heldSlots(state, T0 + 40_500)).toBeCloseTo(5.95, 9);
  });

  it("applies a new decay rate only from the moment it is patched", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 0.1 });
    increment(state, 10, T0);

    updateLimit(state, { slotDecayPerSecond: 1 }, T0 + 10_000);

    expect(heldSlots(state, T0 + 10_000)).toBeCloseTo(9, 9);
    expect(heldSlots(state, T0 + 12_000)).toBeCloseTo(7, 9);
  });

  it("drops the bucket when decay is patched to 0: nothing would ever free it", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1 });
    increment(state, 8, T0);

    updateLimit(state, { slotDecayPerSecond: 0 }, T0 + 1_000);

    expect(heldSlots(state, T0 + 1_000)).toBe(0);
    expect(heldSlots(state, T0 + 100_000)).toBe(0);
  });
});

describe("a clock that steps back", () => {
  it("does not make the same period leak twice", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1 });
    increment(state, 10, T0, "rate_limit");
    // A write stamped 5 s in the past (the object moved to a machine whose clock is behind).
    increment(state, 1, T0 + 3_000, "rate_limit");
    updateLimit(state, { limit: 10 }, T0 - 5_000);
    expect(rateSlotsAt(state, T0 + 3_000)).toBeCloseTo(8, 9);
  });
});
