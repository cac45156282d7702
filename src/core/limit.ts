/**
 * The accounting of one limit (DESIGN §3): admission, grants, two-phase reservations for
 * multi-name requests, release, renewal, exact expiry, continuous decay, denied-slot bookkeeping
 * and the occupancy average. Pure: `now` (epoch ms) and `random` are arguments. Used by
 * `objects/limit-object.ts`; imports only `./state`, `./retry-after` and the protocol constants.
 */

import type { AcquireMode } from "../protocol/types";
import { estimatedRetryAfter, exactRetryAfter, maxWaitSeconds } from "./retry-after";
import {
  deleteLease,
  INITIAL_AVG_OCCUPANCY_SECONDS,
  type Holder,
  type Lease,
  type LimitConfig,
  type LimitState,
  putLease,
  type ReservationKind,
  touchCounters,
  type Waiter,
} from "./state";

/** Slack for float sums of decaying slots: a bucket that is full to 1e-9 counts as full. */
const EPSILON = 1e-9;
/** Prefect's floor on one slot's occupancy in the average (D-6). */
const MIN_OCCUPANCY_SECONDS = 0.1;

/** The outcome of the admission check, before anything is granted. */
export type Admission =
  | { status: "ok" }
  | { status: "inactive" }
  | { status: "missing" }
  | { status: "invalid"; code: "slots_exceed_limit" | "rate_limit_without_decay" }
  | { status: "locked"; retryAfterSeconds: number };

// ── Derived values ──

/** The rate slots still in the bucket at `now`: they leak continuously, fractions kept. */
export function rateSlotsAt(state: LimitState, now: number): number {
  const decay = state.config?.slotDecayPerSecond ?? 0;
  if (decay <= 0 || state.rateSlots <= 0) {
    return Math.max(0, state.rateSlots);
  }
  return Math.max(0, state.rateSlots - (decay * Math.max(0, now - state.rateSlotsAt)) / 1000);
}

/** Slots held at `now`: live lease rows, anonymous slots and the decayed bucket. */
export function heldSlots(state: LimitState, now: number): number {
  expire(state, now);
  return state.leasedSlots + state.anonymousSlots + rateSlotsAt(state, now);
}

/** The rate at which denied slots are forgotten (D-4), per second. */
function deniedDecayPerSecond(state: LimitState): number {
  const config = state.config;
  if (!config) {
    return 0;
  }
  if (config.slotDecayPerSecond > 0) {
    return config.slotDecayPerSecond;
  }
  const perSlot = Math.min(state.avgSlotOccupancySeconds, maxWaitSeconds(config.name));
  return 1 / Math.max(MIN_OCCUPANCY_SECONDS, perSlot);
}

export function deniedSlotsAt(state: LimitState, now: number): number {
  const elapsedSeconds = Math.max(0, now - state.deniedSlotsAt) / 1000;
  return Math.max(0, state.deniedSlots - deniedDecayPerSecond(state) * elapsedSeconds);
}

/** Re-bases the decaying quantities at `now`, before anything they depend on changes. */
function settle(state: LimitState, now: number): void {
  state.rateSlots = rateSlotsAt(state, now);
  state.deniedSlots = deniedSlotsAt(state, now);
  // A clock that steps back (an object moved to another machine) must not make time leak twice.
  state.rateSlotsAt = Math.max(state.rateSlotsAt, now);
  state.deniedSlotsAt = Math.max(state.deniedSlotsAt, now);
  touchCounters(state);
}

/** The earliest time a lease row dies, for the alarm; null when there is none. */
export function earliestExpiry(state: LimitState): number | null {
  let earliest = Number.POSITIVE_INFINITY;
  for (const lease of state.leases.values()) {
    earliest = Math.min(earliest, lease.expiresAt);
  }
  state.nextExpiryAt = earliest;
  return Number.isFinite(earliest) ? earliest : null;
}

// ── Expiry ──

/**
 * Removes every row that is dead at `now` (`now > expiresAt`) and returns the committed leases
 * among them. Called first by every operation, so a dead lease never counts and never renews.
 */
export function expire(state: LimitState, now: number): Lease[] {
  if (now <= state.nextExpiryAt) {
    return [];
  }
  const expired: Lease[] = [];
  for (const lease of [...state.leases.values()]) {
    if (now > lease.expiresAt) {
      deleteLease(state, lease.id);
      if (!lease.pending) {
        recordOccupancy(state, lease.slots, (lease.expiresAt - lease.acquiredAt) / 1000, now);
        expired.push(lease);
        state.expiredLeases += 1; // observe(#14): a lost holder
      }
    }
  }
  earliestExpiry(state);
  return expired;
}

// ── Admission and grants ──

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
 * is judged on capacity alone.
 */
export function checkAdmission(
  state: LimitState,
  request: { slots: number; mode: AcquireMode },
  now: number,
  position: "arrival" | "head",
): Exclude<Admission, { status: "locked" }> | { status: "full" } {
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
 * Decides whether `slots` can be taken now by a new arrival. A refusal is recorded in the
 * denied-slot bookkeeping and carries a Retry-After estimate (DESIGN §3.7).
 */
export function admit(
  state: LimitState,
  request: { slots: number; mode: AcquireMode },
  now: number,
  random: () => number,
): Admission {
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

// ── The waiter queue (DESIGN §3.6) ──

export function enqueue(state: LimitState, waiter: Waiter): void {
  state.queue.push(waiter);
}

/** Takes a waiter out of line (granted, timed out or abandoned); false when it is not there. */
export function dequeue(state: LimitState, id: string): boolean {
  const index = state.queue.findIndex((waiter) => waiter.id === id);
  if (index < 0) {
    return false;
  }
  state.queue.splice(index, 1);
  return true;
}

/**
 * The head waiter, if it should be answered now: it fits, or the limit changed under it
 * (inactive, deleted, now too small). Null while it must keep waiting. Strict FIFO: nobody behind
 * a waiting head is considered, so a large request is never starved by small ones.
 */
export function readyHead(
  state: LimitState,
  now: number,
): { waiter: Waiter; decision: Exclude<Admission, { status: "locked" }> } | null {
  const waiter = state.queue[0];
  if (!waiter) {
    return null;
  }
  const decision = checkAdmission(state, waiter, now, "head");
  return decision.status === "full" ? null : { waiter, decision };
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

/** Slots a grant adds to occupancy: none on an inactive limit (it is skipped, A-6.5). */
function countedSlots(state: LimitState, slots: number): number {
  return state.config?.active ? slots : 0;
}

/** Moves a grant's slots into the leaky bucket on a limit with decay: they leave only by decay. */
function bucketOnDecay(state: LimitState, lease: Lease, now: number): void {
  if ((state.config?.slotDecayPerSecond ?? 0) > 0 && lease.counted > 0) {
    settle(state, now);
    state.rateSlots += lease.counted;
    lease.counted = 0;
  }
}

function nextFencingToken(state: LimitState): number {
  state.lastFencingToken += 1;
  touchCounters(state);
  return state.lastFencingToken;
}

/** Grants a lease after `admit` said ok or inactive. Returns the stored row. */
export function grantLease(
  state: LimitState,
  grant: { id: string; slots: number; holder: Holder | null; expiresAt: number },
  now: number,
): Lease {
  const lease: Lease = {
    id: grant.id,
    slots: grant.slots,
    counted: countedSlots(state, grant.slots),
    holder: grant.holder,
    acquiredAt: now,
    expiresAt: grant.expiresAt,
    pending: null,
    fencingToken: nextFencingToken(state),
  };
  bucketOnDecay(state, lease, now);
  putLease(state, lease);
  return lease;
}

/** Grants slots without a lease (`/increment`) after `admit` said ok or inactive. */
export function grantIncrement(state: LimitState, slots: number, now: number): void {
  grantCounted(state, countedSlots(state, slots), now);
}

/** Adds slots held without a lease: to the bucket on a decaying limit, else as anonymous slots. */
function grantCounted(state: LimitState, counted: number, now: number): void {
  if (counted === 0) {
    return;
  }
  if ((state.config?.slotDecayPerSecond ?? 0) > 0) {
    settle(state, now);
    state.rateSlots += counted;
  } else {
    state.anonymousSlots += counted;
    touchCounters(state);
  }
}

// ── Two-phase reservations (multi-name requests, DESIGN §3.5) ──

/** Holds slots as a pending row until `pendingUntil`, after `admit` said ok or inactive. */
export function reserve(
  state: LimitState,
  reservation: { id: string; kind: ReservationKind; slots: number; holder: Holder | null; pendingUntil: number },
  now: number,
): void {
  putLease(state, {
    id: reservation.id,
    slots: reservation.slots,
    counted: countedSlots(state, reservation.slots),
    holder: reservation.holder,
    acquiredAt: now,
    expiresAt: reservation.pendingUntil,
    pending: reservation.kind,
    fencingToken: 0,
  });
}

/**
 * Turns reservation `id` into its grant: a lease row keyed `lease.id` that expires at
 * `lease.expiresAt`, or anonymous/bucket slots for an increment. Null when the reservation is
 * gone (expired, cancelled or deleted with its limit).
 */
export function commitReservation(
  state: LimitState,
  id: string,
  lease: { id: string; expiresAt: number },
  now: number,
): Lease | "increment" | null {
  expire(state, now);
  const reservation = state.leases.get(id);
  if (!reservation?.pending) {
    return null;
  }
  deleteLease(state, id);
  if (reservation.pending === "increment") {
    grantCounted(state, reservation.counted, now);
    return "increment";
  }
  const granted: Lease = {
    ...reservation,
    id: lease.id,
    acquiredAt: now,
    expiresAt: lease.expiresAt,
    pending: null,
    fencingToken: nextFencingToken(state),
  };
  bucketOnDecay(state, granted, now);
  putLease(state, granted);
  return granted;
}

/** Drops a pending reservation; a no-op for anything else. */
export function cancelReservation(state: LimitState, id: string): void {
  if (state.leases.get(id)?.pending) {
    deleteLease(state, id);
  }
}

/** Whether row or waiter `id` belongs to the request `nonce` (its reservation, or its lease `<nonce>.…`). */
export function belongsTo(id: string, nonce: string): boolean {
  return id === nonce || id.startsWith(`${nonce}.`);
}

/**
 * Gives back whatever the request `nonce` holds here: a pending reservation is dropped, a granted
 * lease released. Used when a request is abandoned (its client went away or cancelled it), so a
 * grant nobody will receive does not hold slots until it expires. True when anything was held.
 */
export function withdraw(state: LimitState, nonce: string, now: number): boolean {
  let held = false;
  for (const [id, lease] of [...state.leases]) {
    if (!belongsTo(id, nonce)) {
      continue;
    }
    if (lease.pending) {
      cancelReservation(state, id);
      held = true;
    } else {
      held = release(state, id, now) || held;
    }
  }
  return held;
}

// ── Holding: release, renew, decrement ──

/** Releases a live lease (idempotent: false when it is already gone). */
export function release(state: LimitState, id: string, now: number): boolean {
  expire(state, now);
  const lease = state.leases.get(id);
  if (!lease || lease.pending) {
    return false;
  }
  deleteLease(state, id);
  recordOccupancy(state, lease.slots, (now - lease.acquiredAt) / 1000, now);
  return true;
}

/** Extends a live lease to `expiresAt`; false when it is dead or unknown (it cannot come back). */
export function renew(state: LimitState, id: string, expiresAt: number, now: number): boolean {
  expire(state, now);
  const lease = state.leases.get(id);
  if (!lease || lease.pending) {
    return false;
  }
  putLease(state, { ...lease, expiresAt });
  return true;
}

/**
 * Frees anonymous slots (`/decrement`), clamped at zero. Never touches leases or the bucket: a
 * decaying limit's slots come back only by decay (Prefect's C-11 double free is not copied).
 * Applies to inactive limits too, so disabling a limit can never strand slots.
 */
export function decrement(
  state: LimitState,
  request: { slots: number; occupancySeconds?: number | undefined },
  now: number,
): void {
  if (!state.config) {
    return;
  }
  if (state.anonymousSlots > 0) {
    state.anonymousSlots = Math.max(0, state.anonymousSlots - request.slots);
    touchCounters(state);
  }
  if (request.occupancySeconds) {
    recordOccupancy(state, request.slots, request.occupancySeconds, now);
  }
}

/** Folds one holding period into the occupancy average (D-6); skipped for a limit of 0. */
function recordOccupancy(state: LimitState, slots: number, occupancySeconds: number, now: number): void {
  const limit = state.config?.limit ?? 0;
  if (limit <= 0 || slots <= 0) {
    return;
  }
  settle(state, now);
  const perSlot = Math.max(occupancySeconds / slots, MIN_OCCUPANCY_SECONDS);
  state.avgSlotOccupancySeconds += (perSlot - state.avgSlotOccupancySeconds) / (2 * limit);
}

// ── Configuration ──

/** The settings a create or update may carry (snake_case names live in the protocol layer). */
export interface LimitSettings {
  limit: number;
  active: boolean;
  slotDecayPerSecond: number;
  activeSlots: number;
  deniedSlots: number;
}

/** Starts a limit. Leftover rows of an earlier limit of the same name are dropped. */
export function createLimit(
  state: LimitState,
  input: { id: string; name: string } & LimitSettings,
  now: number,
): void {
  for (const id of [...state.leases.keys()]) {
    deleteLease(state, id);
  }
  state.config = {
    id: input.id,
    name: input.name,
    limit: input.limit,
    active: input.active,
    slotDecayPerSecond: input.slotDecayPerSecond,
    createdAt: now,
    updatedAt: now,
  };
  state.anonymousSlots = 0;
  state.rateSlots = 0;
  state.avgSlotOccupancySeconds = INITIAL_AVG_OCCUPANCY_SECONDS;
  setSlotCounts(state, input, now);
}

/** Applies a PATCH. Only present keys change; decay accrued so far is kept (D-3 is not copied). */
export function updateLimit(state: LimitState, patch: Partial<LimitSettings>, now: number): void {
  const config = state.config;
  if (!config) {
    return;
  }
  settle(state, now);
  if (patch.slotDecayPerSecond !== undefined) {
    config.slotDecayPerSecond = patch.slotDecayPerSecond;
    if (patch.slotDecayPerSecond <= 0) {
      // Without decay nothing would ever free the bucket: its slots were rate grants with no
      // holder to release them, so they go.
      state.rateSlots = 0;
    }
  }
  if (patch.limit !== undefined) {
    config.limit = patch.limit;
  }
  if (patch.active !== undefined) {
    config.active = patch.active;
  }
  setSlotCounts(state, patch, now);
  config.updatedAt = now;
  touchCounters(state);
}

/**
 * `active_slots` sets the slots not held by leases: the bucket of a decaying limit, the anonymous
 * count otherwise. Leases are never touched (DESIGN §3.1).
 */
function setSlotCounts(state: LimitState, counts: Partial<LimitSettings>, now: number): void {
  if (counts.activeSlots !== undefined) {
    if ((state.config?.slotDecayPerSecond ?? 0) > 0) {
      state.rateSlots = counts.activeSlots;
      state.rateSlotsAt = now;
      state.anonymousSlots = 0;
    } else {
      state.anonymousSlots = counts.activeSlots;
    }
  }
  if (counts.deniedSlots !== undefined) {
    state.deniedSlots = counts.deniedSlots;
    state.deniedSlotsAt = now;
  }
  touchCounters(state);
}

/** Deletes the limit and revokes every lease and reservation on it (DESIGN §3.11). */
export function deleteLimit(state: LimitState): void {
  for (const id of [...state.leases.keys()]) {
    deleteLease(state, id);
  }
  state.config = null;
  state.anonymousSlots = 0;
  state.rateSlots = 0;
  state.deniedSlots = 0;
  state.avgSlotOccupancySeconds = INITIAL_AVG_OCCUPANCY_SECONDS;
  touchCounters(state);
}
