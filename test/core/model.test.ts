// Model-based property test of one limit: random sequences of acquire / increment / reserve /
// commit / cancel / release / renew / decrement / tick run against the core and against a
// trivial reference model kept here, and the invariants of DESIGN §3 are checked after every op.

import fc from "fast-check";
import { describe, type ExpectStatic, it } from "vitest";
import {
  admit,
  cancelReservation,
  commitReservation,
  decrement,
  deniedSlotsAt,
  grantIncrement,
  grantLease,
  heldSlots,
  rateSlotsAt,
  release,
  renew,
  reserve,
} from "../../src/core/limit";
import type { LimitState } from "../../src/core/state";
import { limitState, sumCounted, T0 } from "./fixtures";

const NUM_RUNS = 200;
/** Float slack between the core and the model, which re-base the bucket at different moments. */
const MODEL_TOLERANCE = 1e-6;

// ── Operations ──

/** Which id an op names (see `pick` below). */
interface Pick {
  row: boolean;
  index: number;
}

type Op =
  | { kind: "lease"; slots: number; durationMs: number; random: number }
  | { kind: "increment"; slots: number; random: number }
  | { kind: "reserve"; slots: number; pendingMs: number; asIncrement: boolean; random: number }
  | { kind: "commit"; pick: Pick; durationMs: number }
  | { kind: "cancel"; pick: Pick }
  | { kind: "release"; pick: Pick }
  | { kind: "renew"; pick: Pick; durationMs: number }
  | { kind: "decrement"; slots: number; occupancySeconds: number | undefined }
  | { kind: "tick"; ms: number }
  | { kind: "tickToExpiry"; pick: Pick; offsetMs: -1 | 0 | 1 };

const slots = fc.integer({ min: 1, max: 3 });
const durationMs = fc.integer({ min: 1, max: 8_000 });
/**
 * Which id an op names: mostly one of the model's rows (live, or dead but not yet dropped),
 * otherwise any id issued so far (counted back from the newest) or an unknown one.
 */
const pick: fc.Arbitrary<Pick> = fc.record({
  row: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  index: fc.nat({ max: 7 }),
});
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** Mostly short steps, so leases live across several ops; sometimes long ones that kill them. */
const tickMs = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 5_000 }));

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("lease" as const), slots, durationMs, random }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("increment" as const), slots, random }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("reserve" as const),
      slots,
      pendingMs: fc.integer({ min: 0, max: 3_000 }),
      asIncrement: fc.boolean(),
      random,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("commit" as const), pick, durationMs }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("release" as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("renew" as const), pick, durationMs }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("decrement" as const),
      slots,
      occupancySeconds: fc.option(fc.double({ min: 0.001, max: 100, noNaN: true }), { nil: undefined }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: tickMs }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("tickToExpiry" as const),
      pick,
      offsetMs: fc.constantFrom(-1 as const, 0 as const, 1 as const),
    }),
  },
);

const config = fc.record({
  limit: fc.integer({ min: 1, max: 5 }),
  decay: fc.oneof(fc.constant(0), fc.double({ min: 0.1, max: 5, noNaN: true })),
});

// ── Reference model ──

interface ModelRow {
  slots: number;
  expiresAt: number;
  pending: "lease" | "increment" | null;
}

/**
 * What one limit should hold, written as plainly as possible: rows with their expiry, anonymous
 * slots, and a bucket that leaks linearly and is re-based only when slots are poured in.
 */
class Model {
  readonly rows = new Map<string, ModelRow>();
  anonymous = 0;
  #bucket = 0;
  #bucketAt = T0;

  constructor(
    readonly limit: number,
    readonly decay: number,
  ) {}

  bucket(now: number): number {
    return this.decay > 0 ? Math.max(0, this.#bucket - (this.decay * (now - this.#bucketAt)) / 1_000) : 0;
  }

  /** Slots a row adds by itself: pending rows always; committed ones only without decay. */
  rowCount(row: ModelRow): number {
    return row.pending !== null || this.decay === 0 ? row.slots : 0;
  }

  /** Drops the rows dead at `now`: dead the instant `now > expiresAt`. */
  expire(now: number): void {
    for (const [id, row] of this.rows) {
      if (now > row.expiresAt) {
        this.rows.delete(id);
      }
    }
  }

  leased(): number {
    let sum = 0;
    for (const row of this.rows.values()) {
      sum += this.rowCount(row);
    }
    return sum;
  }

  held(now: number): number {
    this.expire(now);
    return this.leased() + this.anonymous + this.bucket(now);
  }

  /** Slots granted without a row: into the bucket with decay, else anonymous. */
  pour(slots: number, now: number): void {
    if (this.decay > 0) {
      this.#bucket = this.bucket(now) + slots;
      this.#bucketAt = now;
    } else {
      this.anonymous += slots;
    }
  }

  grantLease(id: string, row: { slots: number; expiresAt: number }, now: number): void {
    this.rows.set(id, { ...row, pending: null });
    if (this.decay > 0) {
      this.pour(row.slots, now);
    }
  }

  /** The committed, live row `id`, if any. */
  liveLease(id: string, now: number): ModelRow | undefined {
    this.expire(now);
    const row = this.rows.get(id);
    return row && row.pending === null ? row : undefined;
  }
}

// ── Runner ──

interface Run {
  state: LimitState;
  model: Model;
  now: number;
  ids: string[];
  lastFencingToken: number;
  counter: number;
}

function pickId(run: Run, { row, index }: Pick): string {
  const rows = [...run.model.rows.keys()];
  if (row && rows.length > 0) {
    return rows[index % rows.length] ?? "never-issued";
  }
  return run.ids[run.ids.length - 1 - (index % (run.ids.length + 1))] ?? "never-issued";
}

/** Admits against the core, checking the verdict against the model when it is not a hair's call. */
function checkedAdmit(run: Run, slots: number, random: number, expect: ExpectStatic): boolean {
  const { state, model, now } = run;
  const modelHeld = model.held(now);
  const admission = admit(state, { slots, mode: "concurrency" }, now, () => random);
  if (slots > model.limit) {
    expect(admission).toEqual({ status: "invalid", code: "slots_exceed_limit" });
    return false;
  }
  const margin = run.model.limit - (modelHeld + slots);
  if (Math.abs(margin) > MODEL_TOLERANCE) {
    expect(admission.status).toBe(margin > 0 ? "ok" : "locked");
  }
  if (admission.status === "locked") {
    expect(Number.isFinite(admission.retryAfterSeconds)).toBe(true);
    expect(admission.retryAfterSeconds).toBeGreaterThan(0);
    const notLeaking = model.leased() + model.anonymous;
    if (model.decay > 0 && notLeaking + slots <= model.limit) {
      // The exact wait: at the clock's first whole-millisecond reading not before it, the bucket
      // has leaked enough, even if no row expires meanwhile.
      const retryAt = now + Math.ceil(admission.retryAfterSeconds * 1_000);
      expect(model.bucket(retryAt) + notLeaking + slots).toBeLessThanOrEqual(model.limit + 1e-9);
    }
  } else {
    expect(admission.status).toBe("ok");
  }
  return admission.status === "ok";
}

function checkFencingToken(run: Run, token: number, expect: ExpectStatic): void {
  expect(token).toBeGreaterThan(run.lastFencingToken);
  run.lastFencingToken = token;
}

function apply(run: Run, step: Op, expect: ExpectStatic): void {
  const { state, model } = run;
  switch (step.kind) {
    case "lease": {
      if (checkedAdmit(run, step.slots, step.random, expect)) {
        run.counter += 1;
        const id = `L${run.counter}`;
        const expiresAt = run.now + step.durationMs;
        const lease = grantLease(state, { id, slots: step.slots, holder: null, expiresAt }, run.now);
        checkFencingToken(run, lease.fencingToken, expect);
        model.grantLease(id, { slots: step.slots, expiresAt }, run.now);
        run.ids.push(id);
      }
      return;
    }
    case "increment": {
      if (checkedAdmit(run, step.slots, step.random, expect)) {
        grantIncrement(state, step.slots, run.now);
        model.pour(step.slots, run.now);
      }
      return;
    }
    case "reserve": {
      if (checkedAdmit(run, step.slots, step.random, expect)) {
        run.counter += 1;
        const id = `R${run.counter}`;
        const kind = step.asIncrement ? "increment" : "lease";
        const pendingUntil = run.now + step.pendingMs;
        reserve(state, { id, kind, slots: step.slots, holder: null, pendingUntil }, run.now);
        model.rows.set(id, { slots: step.slots, expiresAt: pendingUntil, pending: kind });
        run.ids.push(id);
      }
      return;
    }
    case "commit": {
      const id = pickId(run, step.pick);
      run.counter += 1;
      const leaseId = `C${run.counter}`;
      const expiresAt = run.now + step.durationMs;
      const granted = commitReservation(state, id, { id: leaseId, expiresAt }, run.now);
      model.expire(run.now);
      const row = model.rows.get(id);
      if (!row?.pending) {
        expect(granted).toBeNull();
        return;
      }
      model.rows.delete(id);
      if (row.pending === "increment") {
        expect(granted).toBe("increment");
        model.pour(row.slots, run.now);
        return;
      }
      expect(granted).toMatchObject({ id: leaseId, slots: row.slots, pending: null, expiresAt });
      checkFencingToken(run, granted !== null && granted !== "increment" ? granted.fencingToken : 0, expect);
      model.grantLease(leaseId, { slots: row.slots, expiresAt }, run.now);
      run.ids.push(leaseId);
      return;
    }
    case "cancel": {
      const id = pickId(run, step.pick);
      cancelReservation(state, id);
      if (model.rows.get(id)?.pending) {
        model.rows.delete(id);
      }
      return;
    }
    case "release": {
      const id = pickId(run, step.pick);
      const live = model.liveLease(id, run.now);
      expect(release(state, id, run.now)).toBe(live !== undefined);
      if (live) {
        model.rows.delete(id);
      }
      expect(release(state, id, run.now)).toBe(false);
      return;
    }
    case "renew": {
      const id = pickId(run, step.pick);
      const live = model.liveLease(id, run.now);
      const expiresAt = run.now + step.durationMs;
      expect(renew(state, id, expiresAt, run.now)).toBe(live !== undefined);
      if (live) {
        live.expiresAt = expiresAt;
      }
      return;
    }
    case "decrement": {
      decrement(state, { slots: step.slots, occupancySeconds: step.occupancySeconds }, run.now);
      model.anonymous = Math.max(0, model.anonymous - step.slots);
      return;
    }
    case "tick": {
      run.now += step.ms;
      return;
    }
    case "tickToExpiry": {
      const row = model.rows.get(pickId(run, step.pick));
      if (row && row.expiresAt + step.offsetMs >= run.now) {
        run.now = row.expiresAt + step.offsetMs;
      }
      return;
    }
  }
}

function checkInvariants(run: Run, expect: ExpectStatic): void {
  const { state, model, now } = run;
  const held = heldSlots(state, now);

  expect(held).toBeLessThanOrEqual(model.limit + 1e-9);
  expect(rateSlotsAt(state, now)).toBeGreaterThanOrEqual(0);
  expect(state.rateSlots).toBeGreaterThanOrEqual(0);
  expect(deniedSlotsAt(state, now)).toBeGreaterThanOrEqual(0);
  expect(state.anonymousSlots).toBeGreaterThanOrEqual(0);

  // No dead row survives an access, and the rows are exactly the model's live ones.
  for (const lease of state.leases.values()) {
    expect(now).toBeLessThanOrEqual(lease.expiresAt);
  }
  model.expire(now);
  expect([...state.leases.keys()].sort()).toEqual([...model.rows.keys()].sort());

  expect(state.leasedSlots).toBe(sumCounted(state));
  expect(state.leasedSlots).toBe(model.leased());
  expect(state.anonymousSlots).toBe(model.anonymous);
  expect(Math.abs(held - model.held(now))).toBeLessThan(MODEL_TOLERANCE);
}

describe("one limit under random operations", () => {
  it("never exceeds its limit, never counts a dead lease, and agrees with the reference model", ({ expect }) => {
    fc.assert(
      fc.property(config, fc.array(op, { minLength: 1, maxLength: 60, size: "max" }), ({ limit, decay }, ops) => {
        const run: Run = {
          state: limitState({ limit, slotDecayPerSecond: decay }),
          model: new Model(limit, decay),
          now: T0,
          ids: [],
          lastFencingToken: 0,
          counter: 0,
        };
        for (const step of ops) {
          apply(run, step, expect);
          checkInvariants(run, expect);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
