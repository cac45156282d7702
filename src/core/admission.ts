/**
 * Whether a request may take slots now, and what a refusal says (DESIGN §3.6, §3.7). Pure: the
 * check has no side effects; `refuse` only records the denied slots.
 */

import type { RuleCode } from "../protocol/errors";
import type { AcquireMode } from "../protocol/types";
import { deniedSlotsAt, EPSILON, heldSlots, settle } from "./decay";
import { estimatedRetryAfter, exactRetryAfter } from "./retry-after";
import type { LimitConfig, LimitState } from "./state";

/** A rule a request breaks on this limit, whatever its occupancy (a request id is checked elsewhere). */
export type InvalidCode = Exclude<RuleCode, "request_id_in_use">;

/** The outcome of the admission check, before anything is granted. */
export type Admission =
  | { status: "ok" }
  | { status: "inactive" }
  | { status: "missing" }
  | { status: "invalid"; code: InvalidCode }
  | { status: "full" };

/** Whether `requestId` is taken here: by a live ticket, a waiter, an ended or a cancelled request. */
export function requestIdTaken(state: LimitState, requestId: string | null, now: number): boolean {
  if (requestId === null) {
    return false;
  }
  if (state.requestIds.has(requestId)) {
    return true;
  }
  const until = state.tombstones.get(requestId);
  return until !== undefined && now <= until;
}

/** Slots asked for by the requests waiting in line. */
export function queuedSlots(state: LimitState): number {
  let total = 0;
  for (const waiter of state.queue) {
    total += waiter.slots;
  }
  return total;
}

/**
 * Decides whether `slots` can be taken now, without side effects. An `arrival` never overtakes
 * the queue: while anyone waits it is `full`, free slots or not (DESIGN §3.6). The queue's `head`
 * is judged on capacity alone. The rules are checked in Prefect's order: slots over the limit
 * before rate mode without decay.
 */
export function checkAdmission(
  state: LimitState,
  request: { slots: number; mode: AcquireMode },
  now: number,
  position: "arrival" | "head",
): Admission {
  const config = state.config;
  if (!config) {
    return { status: "missing" };
  }
  if (!config.active) {
    return { status: "inactive" };
  }
  if (request.slots > config.limit) {
    return { status: "invalid", code: "slots_exceed_limit" };
  }
  if (request.mode === "rate_limit" && config.slotDecayPerSecond <= 0) {
    return { status: "invalid", code: "rate_limit_without_decay" };
  }
  if (position === "arrival" && state.queue.length > 0) {
    return { status: "full" };
  }
  return heldSlots(state, now) + request.slots <= config.limit + EPSILON ? { status: "ok" } : { status: "full" };
}

/**
 * The admission of a new arrival that may not wait: a refusal is recorded in the denied-slot
 * bookkeeping and carries a Retry-After estimate (DESIGN §3.7).
 */
export function admit(
  state: LimitState,
  request: { slots: number; mode: AcquireMode },
  now: number,
  random: () => number,
): Exclude<Admission, { status: "full" }> | { status: "locked"; retryAfterSeconds: number } {
  const decision = checkAdmission(state, request, now, "arrival");
  return decision.status === "full" ? refuse(state, request.slots, now, random) : decision;
}

/** Records a refusal of `slots` and says when to come back, counting everyone queued ahead. */
export function refuse(
  state: LimitState,
  slots: number,
  now: number,
  random: () => number,
): { status: "locked"; retryAfterSeconds: number } {
  const retryAfterSeconds = retryAfter(state, slots, queuedSlots(state), now, random);
  settle(state, now);
  state.deniedSlots += slots;
  return { status: "locked", retryAfterSeconds };
}

function retryAfter(state: LimitState, slots: number, ahead: number, now: number, random: () => number): number {
  const config = state.config as LimitConfig;
  const decay = config.slotDecayPerSecond;
  const notDecaying = state.leasedSlots + state.anonymousSlots;
  if (decay > 0 && notDecaying + slots <= config.limit) {
    const excess = heldSlots(state, now) + ahead + slots - config.limit;
    return exactRetryAfter(Math.max(0, excess) / decay, random);
  }
  return estimatedRetryAfter(
    {
      name: config.name,
      limit: config.limit,
      slots,
      deniedSlots: deniedSlotsAt(state, now) + ahead,
      avgSlotOccupancySeconds: state.avgSlotOccupancySeconds,
    },
    random,
  );
}

/**
 * When decay alone will have made room for the head waiter (epoch ms), or null when it cannot:
 * then only a release, an expiry or a change of settings can.
 */
export function headFitsAt(state: LimitState, now: number): number | null {
  const waiter = state.queue[0];
  const config = state.config;
  if (!waiter || !config || config.slotDecayPerSecond <= 0) {
    return null;
  }
  if (state.leasedSlots + state.anonymousSlots + waiter.slots > config.limit) {
    return null;
  }
  const excess = heldSlots(state, now) + waiter.slots - config.limit;
  return now + Math.max(0, Math.ceil((excess / config.slotDecayPerSecond) * 1000));
}
