import { describe, it } from "vitest";
import { admit } from "../../src/core/admission";
import { heldSlots } from "../../src/core/decay";
import { createState } from "../../src/core/state";
import { expire } from "../../src/core/tickets";
import { acquireLease, increment, limitState, MID_RANDOM, T0 } from "./fixtures";

describe("admit", () => {
  // ── Outcomes ──

  it("admits a request that fits next to what is held", ({ expect }) => {
    const state = limitState({ limit: 10 });
    increment(state, 7, T0);

    expect(admit(state, { slots: 3, mode: "concurrency" }, T0, MID_RANDOM)).toEqual({ status: "ok" });
  });

  it("refuses a request one slot over the limit as locked, with a positive Retry-After", ({ expect }) => {
    const state = limitState({ limit: 10 });
    increment(state, 8, T0);

    const admission = admit(state, { slots: 3, mode: "concurrency" }, T0, MID_RANDOM);

    expect(admission.status).toBe("locked");
    expect(admission.status === "locked" && admission.retryAfterSeconds).toBeGreaterThan(0);
  });

  it("does not take any slots, whatever it answers", ({ expect }) => {
    const state = limitState({ limit: 2 });

    admit(state, { slots: 2, mode: "concurrency" }, T0, MID_RANDOM);
    admit(state, { slots: 2, mode: "concurrency" }, T0, MID_RANDOM);

    expect(heldSlots(state, T0)).toBe(0);
  });

  it("judges the state as given: a dead lease counts until expire runs (the caller expires first)", ({ expect }) => {
    // Changed on purpose: admission no longer expires rows itself; every engine operation calls
    // `expire(state, now)` before it reads.
    const state = limitState({ limit: 2 });
    const lease = acquireLease(state, { slots: 2, durationMs: 1_000 }, T0);

    expect(admit(state, { slots: 1, mode: "concurrency" }, lease.expiresAt + 1, MID_RANDOM).status).toBe("locked");
    expire(state, lease.expiresAt + 1);
    expect(admit(state, { slots: 2, mode: "concurrency" }, lease.expiresAt + 1, MID_RANDOM)).toEqual({ status: "ok" });
  });

  it("answers missing when no limit of the name exists", ({ expect }) => {
    expect(admit(createState(), { slots: 1, mode: "concurrency" }, T0, MID_RANDOM)).toEqual({ status: "missing" });
  });

  it("answers inactive for a disabled limit, even when it is full", ({ expect }) => {
    const state = limitState({ limit: 1, activeSlots: 1, active: false });

    expect(admit(state, { slots: 1, mode: "concurrency" }, T0, MID_RANDOM)).toEqual({ status: "inactive" });
  });

  it("does not check slots against the limit of an inactive limit (A-6.2)", ({ expect }) => {
    const state = limitState({ limit: 1, active: false });

    expect(admit(state, { slots: 5, mode: "concurrency" }, T0, MID_RANDOM)).toEqual({ status: "inactive" });
  });

  // ── Invalid requests ──

  it.for([
    { limit: 10, slots: 11 },
    { limit: 1, slots: 2 },
    { limit: 0, slots: 1 },
  ])("refuses $slots slots on a limit of $limit as slots_exceed_limit", ({ limit, slots }, { expect }) => {
    const state = limitState({ limit });

    expect(admit(state, { slots, mode: "concurrency" }, T0, MID_RANDOM)).toEqual({
      status: "invalid",
      code: "slots_exceed_limit",
    });
    expect(heldSlots(state, T0)).toBe(0);
  });

  it("accepts slots equal to the limit", ({ expect }) => {
    expect(admit(limitState({ limit: 4 }), { slots: 4, mode: "concurrency" }, T0, MID_RANDOM)).toEqual({
      status: "ok",
    });
  });

  it("refuses rate_limit mode on a limit without decay as rate_limit_without_decay", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 0 });

    expect(admit(state, { slots: 1, mode: "rate_limit" }, T0, MID_RANDOM)).toEqual({
      status: "invalid",
      code: "rate_limit_without_decay",
    });
  });

  it("accepts rate_limit mode on a limit with decay", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1 });

    expect(admit(state, { slots: 1, mode: "rate_limit" }, T0, MID_RANDOM)).toEqual({ status: "ok" });
  });

  it("does not record an invalid request as denied", ({ expect }) => {
    const state = limitState({ limit: 1 });

    admit(state, { slots: 2, mode: "concurrency" }, T0, MID_RANDOM);
    admit(state, { slots: 1, mode: "rate_limit" }, T0, MID_RANDOM);

    expect(state.deniedSlots).toBe(0);
  });
});
