/**
 * The quantities of a limit that change with time alone: the leaky bucket of a rate limit, the
 * denied-slot count behind Retry-After, and the occupancy average. Pure reads, plus `settle`,
 * which re-bases them at `now` before anything they depend on changes.
 */

import { maxWaitSeconds } from "./retry-after";
import { type LimitState, touchCounters } from "./state";

/** Slack for float sums of decaying slots: a bucket that is full to 1e-9 counts as full. */
export const EPSILON = 1e-9;
/** Prefect's floor on one slot's occupancy in the average (D-6). */
const MIN_OCCUPANCY_SECONDS = 0.1;

/** The rate slots still in the bucket at `now`: they leak continuously, fractions kept. */
export function rateSlotsAt(state: LimitState, now: number): number {
  const decay = state.config?.slotDecayPerSecond ?? 0;
  if (decay <= 0 || state.rateSlots <= 0) {
    return Math.max(0, state.rateSlots);
  }
  return Math.max(0, state.rateSlots - (decay * Math.max(0, now - state.rateSlotsAt)) / 1000);
}

/**
 * Slots held at `now`: ticket rows, anonymous slots and the decayed bucket. A pure read: the
 * caller has expired the rows that are dead at `now` (every operation does that first).
 */
export function heldSlots(state: LimitState, now: number): number {
  return state.leasedSlots + state.anonymousSlots + rateSlotsAt(state, now);
}

/** Whether the limit decays (a rate limit): its grants go into the bucket. */
export function isDecaying(state: LimitState): boolean {
  return (state.config?.slotDecayPerSecond ?? 0) > 0;
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
export function settle(state: LimitState, now: number): void {
  state.rateSlots = rateSlotsAt(state, now);
  state.deniedSlots = deniedSlotsAt(state, now);
  // A clock that steps back (an object moved to another machine) must not make time leak twice.
  state.rateSlotsAt = Math.max(state.rateSlotsAt, now);
  state.deniedSlotsAt = Math.max(state.deniedSlotsAt, now);
  touchCounters(state);
}

/** Pours `slots` into the bucket (a grant on a decaying limit). */
export function pourIntoBucket(state: LimitState, slots: number, now: number): void {
  settle(state, now);
  state.rateSlots += slots;
}

/** Takes back up to `slots` a withdrawn grant poured in; never below empty. */
export function refundBucket(state: LimitState, slots: number, now: number): void {
  if (slots > 0) {
    settle(state, now);
    state.rateSlots = Math.max(0, state.rateSlots - slots);
  }
}

/** Folds one holding period into the occupancy average (D-6); skipped for a limit of 0. */
export function recordOccupancy(state: LimitState, slots: number, occupancySeconds: number, now: number): void {
  const limit = state.config?.limit ?? 0;
  if (limit <= 0 || slots <= 0) {
    return;
  }
  settle(state, now);
  const perSlot = Math.max(occupancySeconds / slots, MIN_OCCUPANCY_SECONDS);
  state.avgSlotOccupancySeconds += (perSlot - state.avgSlotOccupancySeconds) / (2 * limit);
}
