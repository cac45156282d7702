/**
 * A limit's life as an administrator sees it: create, update (PATCH) and delete. Pure: `now` is
 * an argument. Leases are never touched by a settings change except by delete, which revokes them
 * (DESIGN §3.1, §3.11).
 */

import type { LocationHint } from "../protocol/types";
import { isDecaying, settle } from "./decay";
import {
  deleteTicket,
  INITIAL_AVG_OCCUPANCY_SECONDS,
  issueToken,
  type LimitState,
  putTicket,
  touchCounters,
} from "./state";
import { TOMBSTONE_MS } from "./tickets";

/** The settings a create or update may carry (snake_case names live in the protocol layer). */
export interface LimitSettings {
  limit: number;
  active: boolean;
  slotDecayPerSecond: number;
  activeSlots: number;
  deniedSlots: number;
}

/** What a create carries: the settings, the limit's identity, and where its object was placed. */
export interface LimitCreate extends LimitSettings {
  id: string;
  name: string;
  /** The region hint the object was first reached with (`location_hint`), or null. */
  locationHint?: LocationHint | null;
}

/** Ends every ticket here (their request ids stay taken for a while). */
function dropTickets(state: LimitState, now: number): void {
  for (const id of [...state.tickets.keys()]) {
    deleteTicket(state, id, now + TOMBSTONE_MS);
  }
}

/** Starts a limit. Leftover tickets of an earlier limit of the same name are dropped. */
export function createLimit(state: LimitState, input: LimitCreate, now: number): void {
  dropTickets(state, now);
  state.config = {
    id: input.id,
    name: input.name,
    limit: input.limit,
    active: input.active,
    slotDecayPerSecond: input.slotDecayPerSecond,
    locationHint: input.locationHint ?? null,
    createdAt: now,
    updatedAt: now,
    generation: issueToken(state),
  };
  state.anonymousSlots = 0;
  state.rateSlots = 0;
  state.rateSlotsAt = now;
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
    const before = config.slotDecayPerSecond;
    config.slotDecayPerSecond = patch.slotDecayPerSecond;
    if (before > 0 && !isDecaying(state)) {
      stopDecay(state);
    } else if (patch.slotDecayPerSecond < before) {
      slowDecay(state, before, now);
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
 * Decay turned off. Without it nothing would ever free the bucket, so it goes; but the leases
 * whose slots were in it are still held, so they count again, in full, as ordinary lease rows
 * until they are released or expire (a limit can be left over its limit this way; nothing is
 * admitted until it is back under). Increments' bucket slots go with the bucket.
 */
function stopDecay(state: LimitState): void {
  state.rateSlots = 0;
  const active = state.config?.active ?? false;
  for (const ticket of [...state.tickets.values()]) {
    const heldLease = ticket.kind === "lease" && !ticket.pending && ticket.line === null;
    const recount = heldLease && active && ticket.counted === 0 ? ticket.slots : 0;
    if (recount > 0 || ticket.bucketed > 0) {
      putTicket(state, { ...ticket, counted: ticket.counted + recount, bucketed: 0 });
    }
  }
}

/**
 * Decay slowed down: a withdrawn grant's refund assumes its slots leaked at most at today's rate
 * since it was granted, which would now refund more than can be left. Take off what leaked at the
 * old rate first, so a refund never empties the bucket below what it would hold without the grant.
 */
function slowDecay(state: LimitState, oldRate: number, now: number): void {
  for (const ticket of [...state.tickets.values()]) {
    if (ticket.bucketed > 0) {
      const leaked = (oldRate * Math.max(0, now - ticket.acquiredAt)) / 1000;
      putTicket(state, { ...ticket, bucketed: Math.max(0, ticket.bucketed - leaked) });
    }
  }
}

/**
 * `active_slots` sets the slots not held by leases: the bucket of a decaying limit, the anonymous
 * count otherwise. Leases are never touched (DESIGN §3.1). Increments still in their undo window
 * are part of what is set, so they stop counting on their own (and cannot be undone any more).
 */
function setSlotCounts(state: LimitState, counts: Partial<LimitSettings>, now: number): void {
  if (counts.activeSlots !== undefined) {
    for (const ticket of [...state.tickets.values()]) {
      if (ticket.kind === "increment" && !ticket.pending && (ticket.counted > 0 || ticket.bucketed > 0)) {
        putTicket(state, { ...ticket, counted: 0, bucketed: 0 });
      }
    }
    if (isDecaying(state)) {
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
export function deleteLimit(state: LimitState, now: number): void {
  dropTickets(state, now);
  state.config = null;
  state.anonymousSlots = 0;
  state.rateSlots = 0;
  state.deniedSlots = 0;
  state.avgSlotOccupancySeconds = INITIAL_AVG_OCCUPANCY_SECONDS;
  touchCounters(state);
}
