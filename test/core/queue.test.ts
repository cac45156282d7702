import { describe, it } from "vitest";
import { checkAdmission, headFitsAt, queuedSlots, refuse } from "../../src/core/admission";
import { heldSlots } from "../../src/core/decay";
import { dequeue, joinLine, readyHead } from "../../src/core/queue";
import type { LimitState } from "../../src/core/state";
import { updateLimit } from "../../src/core/settings";
import { release } from "../../src/core/tickets";
import { acquireLease, increment, limitState, MID_RANDOM, T0 } from "./fixtures";

const concurrency = "concurrency" as const;

/** A request joins the line, with a call waiting on it for a minute. */
function enqueue(
  state: LimitState,
  waiter: { id: string; requestId: string | null; slots: number; mode: "concurrency" | "rate_limit" },
): void {
  joinLine(
    state,
    { id: waiter.id, requestId: waiter.requestId, kind: "lease", leaseId: null, slots: waiter.slots, holder: null },
    { intent: "acquire", mode: waiter.mode, leaseMs: 60_000, waitUntil: T0 + 60_000 },
    T0,
  );
}

describe("the waiter queue", () => {
  it("makes an arrival wait behind the queue although slots are free (no overtaking)", ({ expect }) => {
    const state = limitState({ limit: 3 });
    acquireLease(state, { slots: 2, durationMs: 60_000 }, T0);
    enqueue(state, { id: "w", requestId: null, slots: 3, mode: concurrency });
    expect(checkAdmission(state, { slots: 1, mode: concurrency }, T0, "arrival")).toEqual({ status: "full" });
    expect(checkAdmission(state, { slots: 1, mode: concurrency }, T0, "head")).toEqual({ status: "ok" });
  });

  it("answers only the head, and only once it fits: a large head is not starved", ({ expect }) => {
    const state = limitState({ limit: 3 });
    const holder = acquireLease(state, { slots: 2, durationMs: 60_000 }, T0);
    enqueue(state, { id: "large", requestId: null, slots: 3, mode: concurrency });
    enqueue(state, { id: "small", requestId: null, slots: 1, mode: concurrency });
    expect(readyHead(state, T0)).toBeNull();
    release(state, holder.leaseId, T0);
    expect(readyHead(state, T0)).toEqual({
      waiter: { id: "large", requestId: null, slots: 3, mode: concurrency },
      decision: { status: "ok" },
    });
  });

  it("hands the head its outcome when the limit changes under it", ({ expect }) => {
    const state = limitState({ limit: 2 });
    acquireLease(state, { slots: 2, durationMs: 60_000 }, T0);
    enqueue(state, { id: "w", requestId: null, slots: 2, mode: concurrency });
    updateLimit(state, { active: false }, T0);
    expect(readyHead(state, T0)?.decision).toEqual({ status: "inactive" });
    updateLimit(state, { active: true, limit: 1 }, T0);
    expect(readyHead(state, T0)?.decision).toEqual({ status: "invalid", code: "slots_exceed_limit" });
  });

  it("removes waiters by id, once", ({ expect }) => {
    const state = limitState();
    enqueue(state, { id: "a", requestId: null, slots: 1, mode: concurrency });
    enqueue(state, { id: "b", requestId: null, slots: 4, mode: concurrency });
    expect(queuedSlots(state)).toBe(5);
    expect(dequeue(state, "a")).toBe(true);
    expect(dequeue(state, "a")).toBe(false);
    expect(state.queue.map((w) => w.id)).toEqual(["b"]);
  });

  it("says exactly when decay makes room for the head, and the head fits then", ({ expect }) => {
    const state = limitState({ limit: 5, slotDecayPerSecond: 5 });
    increment(state, 5, T0, "rate_limit");
    enqueue(state, { id: "w", requestId: null, slots: 2, mode: "rate_limit" });
    const fitsAt = headFitsAt(state, T0);
    expect(fitsAt).toBe(T0 + 400);
    expect(readyHead(state, (fitsAt as number) - 1)).toBeNull();
    expect(readyHead(state, fitsAt as number)?.decision).toEqual({ status: "ok" });
  });

  it("has no decay wake-up when only a release can make room", ({ expect }) => {
    const noDecay = limitState({ limit: 1 });
    acquireLease(noDecay, { slots: 1, durationMs: 60_000 }, T0);
    enqueue(noDecay, { id: "w", requestId: null, slots: 1, mode: concurrency });
    expect(headFitsAt(noDecay, T0)).toBeNull();
  });

  it("counts the slots queued ahead in the exact Retry-After of a rate limit", ({ expect }) => {
    const state = limitState({ limit: 5, slotDecayPerSecond: 5 });
    increment(state, 5, T0, "rate_limit");
    const alone = refuse(state, 1, T0, () => 0).retryAfterSeconds;
    enqueue(state, { id: "w", requestId: null, slots: 3, mode: "rate_limit" });
    const behind = refuse(state, 1, T0, () => 0).retryAfterSeconds;
    expect(alone).toBeCloseTo(0.2, 9);
    expect(behind).toBeCloseTo(0.8, 9);
    expect(heldSlots(state, T0)).toBe(5);
  });

  it("records a refusal in the denied slots", ({ expect }) => {
    const state = limitState({ limit: 1 });
    acquireLease(state, { slots: 1, durationMs: 60_000 }, T0);
    refuse(state, 3, T0, MID_RANDOM);
    expect(state.deniedSlots).toBe(3);
  });
});
