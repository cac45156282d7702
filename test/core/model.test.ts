// Model-based property test of one limit: random sequences of lease / increment / reserve /
// commit / withdraw / release / renew / decrement / decay patch / tick run against the core and
// against the plain reference model in reference-model.ts, and the invariants of DESIGN §3 are
// checked after every op. Like the engine, every op but a tick starts with `expire`.

import fc from "fast-check";
import { describe, type ExpectStatic, it } from "vitest";
import { admit, requestIdTaken } from "../../src/core/admission";
import { deniedSlotsAt, heldSlots, rateSlotsAt } from "../../src/core/decay";
import { encodeLeaseId } from "../../src/core/lease-id";
import { updateLimit } from "../../src/core/settings";
import type { LimitState } from "../../src/core/state";
import {
  commitReservation,
  decrement,
  expire,
  grant,
  nextDueAt,
  release,
  renew,
  reserve,
  withdrawTicket,
} from "../../src/core/tickets";
import { leaseInfos } from "../../src/core/views";
import { limitState, sumCounted, T0 } from "./fixtures";
import { Model } from "./reference-model";

const NUM_RUNS = 200;
/** Float slack between the core and the model, which re-base the bucket at different moments. */
const MODEL_TOLERANCE = 1e-6;

// ── Operations ──

/** Which ticket an op names: mostly one of the model's rows, else any id issued or an unknown one. */
interface Pick {
  row: boolean;
  index: number;
}

type Grant = { slots: number; ms: number; requestId: string | null; random: number };
type Op =
  | ({ kind: "lease" | "increment" } & Grant)
  | ({ kind: "reserve"; asIncrement: boolean } & Grant)
  | { kind: "commit"; pick: Pick; ms: number }
  | { kind: "withdraw"; pick: Pick }
  | { kind: "release"; pick: Pick; forged: boolean }
  | { kind: "renew"; pick: Pick; ms: number; forged: boolean }
  | { kind: "decrement"; slots: number; occupancySeconds: number | undefined }
  | { kind: "patchDecay"; decay: number }
  | { kind: "tick"; ms: number }
  | { kind: "tickToExpiry"; pick: Pick; offsetMs: -1 | 0 | 1 };

const slots = fc.integer({ min: 1, max: 3 });
const ms = fc.integer({ min: 0, max: 8_000 });
const pick: fc.Arbitrary<Pick> = fc.record({
  row: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  index: fc.nat({ max: 7 }),
});
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
/** A small pool, so request ids collide with live tickets and tombstones. */
const requestId = fc.constantFrom(null, null, "a", "b", "c");
const decay = fc.oneof(fc.constant(0), fc.double({ min: 0.1, max: 5, noNaN: true }));
/** Mostly short steps, so tickets live across several ops; sometimes long ones that end them. */
const tickMs = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 5_000 }), fc.constant(61_000));

function grantOp<K extends "lease" | "increment">(kind: K) {
  return fc.record({ kind: fc.constant(kind), slots, ms, requestId, random });
}

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: grantOp("lease") },
  { weight: 3, arbitrary: grantOp("increment") },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("reserve" as const),
      slots,
      ms,
      requestId,
      random,
      asIncrement: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("commit" as const), pick, ms }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("release" as const), pick, forged: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("renew" as const), pick, ms, forged: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("decrement" as const),
      slots,
      occupancySeconds: fc.option(fc.double({ min: 0.001, max: 100, noNaN: true }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("patchDecay" as const), decay }) },
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

function leaseIdFor(id: string, forged: boolean): string {
  return forged ? `${id}.forged` : encodeLeaseId(id, ["db"]);
}

/** What the engine does first: a request id in use is refused, then admission is checked. */
function admitted(run: Run, step: Grant, expect: ExpectStatic): boolean {
  const { state, model, now } = run;
  const taken = model.requestIdTaken(step.requestId, now);
  expect(requestIdTaken(state, step.requestId, now)).toBe(taken);
  if (taken) {
    return false;
  }
  const modelHeld = model.held(now);
  const admission = admit(state, { slots: step.slots, mode: "concurrency" }, now, () => step.random);
  if (step.slots > model.limit) {
    expect(admission).toEqual({ status: "invalid", code: "slots_exceed_limit" });
    return false;
  }
  const margin = model.limit - (modelHeld + step.slots);
  if (Math.abs(margin) > MODEL_TOLERANCE) {
    expect(admission.status).toBe(margin > 0 ? "ok" : "locked");
  }
  if (admission.status === "locked") {
    expect(admission.retryAfterSeconds).toBeGreaterThanOrEqual(0.001);
    const notLeaking = model.counted() + model.anonymous;
    if (model.decay > 0 && notLeaking + step.slots <= model.limit) {
      // The exact wait: at the clock's first whole-millisecond reading not before it, the bucket
      // has leaked enough, even if no ticket ends meanwhile.
      const retryAt = now + Math.ceil(admission.retryAfterSeconds * 1_000);
      expect(model.bucket(retryAt) + notLeaking + step.slots).toBeLessThanOrEqual(model.limit + 1e-9);
    }
    return false;
  }
  expect(admission.status).toBe("ok");
  return true;
}

function newId(run: Run): string {
  run.counter += 1;
  const id = `T${run.counter}`;
  run.ids.push(id);
  return id;
}

function checkFencingToken(run: Run, token: number, expect: ExpectStatic): void {
  expect(token).toBeGreaterThan(run.lastFencingToken);
  run.lastFencingToken = token;
}

/** A grant never takes the limit over its capacity. */
function checkFits(run: Run, expect: ExpectStatic): void {
  expect(heldSlots(run.state, run.now)).toBeLessThanOrEqual(run.model.limit + 1e-9);
}

function apply(run: Run, step: Op, expect: ExpectStatic): void {
  const { state, model } = run;
  if (step.kind === "tick") {
    run.now += step.ms;
    return;
  }
  const now = run.now;
  const died = expire(state, now).map((lease) => lease.id);
  expect(died.sort()).toEqual(model.expire(now).sort());
  switch (step.kind) {
    case "lease":
    case "increment": {
      if (admitted(run, step, expect)) {
        const id = newId(run);
        const leaseId = step.kind === "lease" ? leaseIdFor(id, false) : null;
        const request = { id, requestId: step.requestId, kind: step.kind, leaseId, slots: step.slots, holder: null };
        const ticket = grant(state, request, now + step.ms, now);
        if (step.kind === "lease") {
          checkFencingToken(run, ticket.fencingToken, expect);
        } else {
          expect(ticket.fencingToken).toBe(0);
        }
        model.grant(id, { ...request, expiresAt: now + step.ms }, now);
        checkFits(run, expect);
      }
      return;
    }
    case "reserve": {
      if (admitted(run, step, expect)) {
        const id = newId(run);
        const kind = step.asIncrement ? "increment" : "lease";
        const request = {
          id,
          requestId: step.requestId,
          kind,
          leaseId: null,
          slots: step.slots,
          holder: null,
        } as const;
        reserve(state, request, now + step.ms, now);
        model.reserve(id, { ...request, expiresAt: now + step.ms }, now);
        checkFits(run, expect);
      }
      return;
    }
    case "commit": {
      const id = pickId(run, step.pick);
      const grantTo = { leaseId: leaseIdFor(id, false), expiresAt: now + step.ms };
      const granted = commitReservation(state, id, grantTo, now);
      const row = model.commit(id, grantTo, now);
      expect(granted === null).toBe(row === null);
      if (granted && row) {
        expect(granted).toMatchObject({ id, kind: row.kind, leaseId: row.leaseId, pending: false });
        if (row.kind === "lease") {
          checkFencingToken(run, granted.fencingToken, expect);
        }
      }
      return;
    }
    case "withdraw": {
      const id = pickId(run, step.pick);
      const refund = model.withdraw(id, now);
      expect(withdrawTicket(state, id, now)).toBe(refund !== null);
      expect(withdrawTicket(state, id, now)).toBe(false);
      if (refund) {
        const bucket = rateSlotsAt(state, now);
        expect(bucket).toBeGreaterThanOrEqual(refund.low - MODEL_TOLERANCE);
        expect(bucket).toBeLessThanOrEqual(refund.high + MODEL_TOLERANCE);
        model.adoptBucket(bucket, now);
      }
      return;
    }
    case "release": {
      const leaseId = leaseIdFor(pickId(run, step.pick), step.forged);
      expect(release(state, leaseId, now)).toBe(model.release(leaseId, now));
      expect(release(state, leaseId, now)).toBe(false);
      return;
    }
    case "renew": {
      const leaseId = leaseIdFor(pickId(run, step.pick), step.forged);
      const live = model.lease(leaseId);
      expect(renew(state, leaseId, now + step.ms)).toBe(live !== null);
      if (live) {
        live[1].expiresAt = now + step.ms;
      }
      return;
    }
    case "decrement": {
      decrement(state, { slots: step.slots, occupancySeconds: step.occupancySeconds }, now);
      model.decrement(step.slots);
      return;
    }
    case "patchDecay": {
      updateLimit(state, { slotDecayPerSecond: step.decay }, now);
      model.patchDecay(step.decay, now);
      return;
    }
    case "tickToExpiry": {
      const row = model.rows.get(pickId(run, step.pick));
      if (row && row.expiresAt + step.offsetMs >= now) {
        run.now = row.expiresAt + step.offsetMs;
      }
      return;
    }
  }
}

function checkInvariants(run: Run, expect: ExpectStatic): void {
  const { state, model, now } = run;

  // Reads are pure: they neither expire nor change anything.
  const before = [...state.tickets.keys()];
  const held = heldSlots(state, now);
  leaseInfos(state);
  expect([...state.tickets.keys()]).toEqual(before);

  expect(rateSlotsAt(state, now)).toBeGreaterThanOrEqual(0);
  expect(state.rateSlots).toBeGreaterThanOrEqual(0);
  expect(deniedSlotsAt(state, now)).toBeGreaterThanOrEqual(0);
  expect(state.anonymousSlots).toBeGreaterThanOrEqual(0);
  expect(Math.abs(held - model.held(now))).toBeLessThan(MODEL_TOLERANCE);

  // After expiry the tickets are exactly the model's live rows, field for field.
  expect(
    expire(state, now)
      .map((lease) => lease.id)
      .sort(),
  ).toEqual(model.expire(now).sort());
  expect([...state.tickets.keys()].sort()).toEqual([...model.rows.keys()].sort());
  for (const [id, row] of model.rows) {
    expect(state.tickets.get(id)).toMatchObject(row);
    // Nothing dead survives an expire, and what is live is in a heap to end it.
    expect(now).toBeLessThanOrEqual(row.expiresAt);
  }
  const next = nextDueAt(state);
  for (const row of model.rows.values()) {
    expect(next).not.toBeNull();
    expect(next as number).toBeLessThanOrEqual(row.expiresAt + 30_000);
  }
  for (const requestId of ["a", "b", "c"]) {
    expect(requestIdTaken(state, requestId, now)).toBe(model.requestIdTaken(requestId, now));
  }

  expect(state.leasedSlots).toBe(sumCounted(state));
  expect(state.leasedSlots).toBe(model.counted());
  expect(state.anonymousSlots).toBe(model.anonymous);
  const liveLeases = [...model.rows.values()].filter((row) => row.kind === "lease" && !row.pending);
  expect(
    leaseInfos(state)
      .map((info) => info.lease_id)
      .sort(),
  ).toEqual(liveLeases.map((row) => row.leaseId).sort());
}

describe("one limit under random operations", () => {
  // About 2 s alone; the slack is for a loaded machine running every project at once.
  it("never over-admits, never counts a dead ticket, and agrees with the reference model", { timeout: 30_000 }, ({
    expect,
  }) => {
    const config = fc.record({ limit: fc.integer({ min: 1, max: 5 }), decay });
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
