import fc from "fast-check";
import { describe, it } from "vitest";
import { type DueEntry, popDue, pushDue } from "../../src/core/due";
import { putTombstone } from "../../src/core/state";
import { expire, nextDueAt, release, renew } from "../../src/core/tickets";
import { acquireLease, heldAt, increment, limitState, T0 } from "./fixtures";

const NUM_RUNS = 200;

function drain(heap: DueEntry[]): DueEntry[] {
  const out: DueEntry[] = [];
  for (let entry = popDue(heap); entry !== undefined; entry = popDue(heap)) {
    out.push(entry);
  }
  return out;
}

describe("the due heap", () => {
  it("pops every entry pushed, earliest first, whatever the order of pushes", ({ expect }) => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 50 }), { maxLength: 60 }), (moments) => {
        const heap: DueEntry[] = [];
        for (const [i, at] of moments.entries()) {
          pushDue(heap, { at, key: `t${i}` });
        }

        const popped = drain(heap);

        expect(popped.map((entry) => entry.at)).toEqual([...moments].sort((a, b) => a - b));
        expect(popped.map((entry) => entry.key).sort()).toEqual(moments.map((_, i) => `t${i}`).sort());
        expect(heap).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("keeps the earliest entry on top between pops and pushes", ({ expect }) => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }), { maxLength: 80 }),
        (ops) => {
          const heap: DueEntry[] = [];
          const reference: number[] = [];
          for (const at of ops) {
            if (at === undefined) {
              reference.sort((a, b) => a - b);
              expect(popDue(heap)?.at).toBe(reference.shift());
            } else {
              pushDue(heap, { at, key: "t" });
              reference.push(at);
            }
            expect(heap[0]?.at).toBe(reference.length > 0 ? Math.min(...reference) : undefined);
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it("answers undefined when empty", ({ expect }) => {
    expect(popDue([])).toBeUndefined();
  });
});

describe("stale heap entries", () => {
  it("a renewed lease's old entry surfaces first and is skipped: the lease lives on", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 2, durationMs: 1_000 }, T0);
    renew(state, lease.leaseId, T0 + 10_000);

    // The alarm may fire at the stale moment; expiring then ends nothing.
    expect(nextDueAt(state)).toBe(T0 + 1_000);
    expect(expire(state, T0 + 1_001)).toEqual([]);
    expect(heldAt(state, T0 + 1_001)).toBe(2);
    expect(nextDueAt(state)).toBe(T0 + 10_000);
    expect(expire(state, T0 + 10_001).map((dead) => dead.id)).toEqual([lease.id]);
    expect(nextDueAt(state)).toBeNull();
  });

  it("a released lease's entry ends nothing, and does not touch a lease granted since", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const released = acquireLease(state, { slots: 2, durationMs: 1_000 }, T0);
    release(state, released.leaseId, T0 + 10);
    const other = acquireLease(state, { slots: 3, durationMs: 60_000 }, T0 + 10);

    expect(expire(state, T0 + 1_001)).toEqual([]);
    expect(heldAt(state, T0 + 1_001)).toBe(3);
    expect(state.tickets.has(other.id)).toBe(true);
  });

  it("a lease renewed to an earlier moment ends then, and its later entry is skipped", ({ expect }) => {
    const state = limitState({ limit: 5 });
    const lease = acquireLease(state, { slots: 1, durationMs: 10_000 }, T0);
    renew(state, lease.leaseId, T0 + 500);

    expect(expire(state, T0 + 501).map((dead) => dead.id)).toEqual([lease.id]);
    expect(expire(state, T0 + 10_001)).toEqual([]);
    expect(state.avgSlotOccupancySeconds).toBeCloseTo(2 + (0.5 - 2) / 10, 12);
  });

  it("a tombstone extended to a later moment outlives its first entry", ({ expect }) => {
    const state = limitState();
    putTombstone(state, "req", T0 + 1_000);
    putTombstone(state, "req", T0 + 5_000);

    expire(state, T0 + 1_001);
    expect(state.tombstones.get("req")).toBe(T0 + 5_000);
    expire(state, T0 + 5_001);
    expect(state.tombstones.has("req")).toBe(false);
  });

  it("waits with housekeeping (folds, tombstones) up to 30 s after its moment, never with expiries", ({ expect }) => {
    const state = limitState({ limit: 5 });
    increment(state, 1, T0, "concurrency", { undoMs: 1_000 });
    expect(nextDueAt(state)).toBe(T0 + 1_000 + 30_000);

    const lease = acquireLease(state, { slots: 1, durationMs: 2_000 }, T0);
    expect(nextDueAt(state)).toBe(lease.expiresAt);
  });
});
