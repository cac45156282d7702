/**
 * Tickets (DESIGN §7.1): every request that holds or reserves slots on a limit is one record,
 * from its grant or reservation to its one end. Grants, two-phase reservations (multi-name
 * requests, §3.5), commits, release, renewal, exact expiry, folding of anonymous grants, exact
 * withdrawal and `/decrement`. Pure: `now` is an argument.
 */

import type { LeaseHolder } from "../protocol/types";
import { popDue } from "./due";
import { dequeue } from "./queue";
import { isDecaying, pourIntoBucket, recordOccupancy, refundBucket } from "./decay";
import { ticketIdOf } from "./lease-id";
import {
  deleteTicket,
  deleteTombstone,
  issueToken,
  type LimitState,
  putTicket,
  type Ticket,
  type TicketKind,
  touchCounters,
} from "./state";

/** How long a request id stays taken after its request ended or was cancelled. */
export const TOMBSTONE_MS = 60_000;
/**
 * How long an increment stays individually undoable after its request's wait could have ended:
 * longer than a client waits for an answer before it withdraws the try (30 s by default).
 */
export const UNDO_MARGIN_MS = 60_000;
/** How long a multi-name reservation outlives its request's wait if its commit never comes. */
export const PENDING_MARGIN_MS = 10_000;

/** What a new grant or reservation records. */
export interface TicketRequest {
  id: string;
  requestId: string | null;
  kind: TicketKind;
  /** The lease id (kind `lease`); null for increments and for reservations. */
  leaseId: string | null;
  slots: number;
  holder: LeaseHolder | null;
}

/** Slots a grant adds to occupancy: none on an inactive limit (it is skipped, A-6.5). */
function countedSlots(state: LimitState, slots: number): number {
  return state.config?.active ? slots : 0;
}

/** On a decaying limit a grant's slots go into the bucket and leave only by decay. */
function bucketOnDecay(state: LimitState, ticket: Ticket, now: number): void {
  if (isDecaying(state) && ticket.counted > 0) {
    pourIntoBucket(state, ticket.counted, now);
    ticket.bucketed = ticket.counted;
    ticket.counted = 0;
  }
}

/**
 * Grants `request` after the admission said ok or inactive: a lease that lives until `expiresAt`,
 * or an increment undoable until `expiresAt`, when it folds into the anonymous slots.
 */
export function grant(state: LimitState, request: TicketRequest, expiresAt: number, now: number): Ticket {
  const ticket: Ticket = {
    ...request,
    counted: countedSlots(state, request.slots),
    bucketed: 0,
    acquiredAt: now,
    expiresAt,
    pending: false,
    fencingToken: request.kind === "lease" ? issueToken(state) : 0,
    line: null,
    offerUntil: null,
  };
  bucketOnDecay(state, ticket, now);
  putTicket(state, ticket);
  return ticket;
}

/**
 * Grants a waiting ticket what it waited for: a held lease or increment, or a multi-name
 * request's reservation. With `offerUntil`, no call waits on it: the grant goes back then unless
 * its request comes back for it. The caller has taken it out of the queue.
 */
export function grantFromLine(state: LimitState, id: string, offerUntil: number | null, now: number): Ticket | null {
  const waiting = state.tickets.get(id);
  const line = waiting?.line;
  if (!waiting || !line) {
    return null;
  }
  const counted = countedSlots(state, waiting.slots);
  const base = { ...waiting, line: null, offerUntil, acquiredAt: now, counted, bucketed: 0 };
  let ticket: Ticket;
  if (line.intent === "reserve") {
    const pendingUntil = Math.max(line.waitUntil, offerUntil ?? 0) + PENDING_MARGIN_MS;
    ticket = { ...base, pending: true, expiresAt: pendingUntil };
  } else {
    const isLease = waiting.kind === "lease";
    const expiresAt = isLease ? now + line.leaseMs : Math.max(now, line.waitUntil) + UNDO_MARGIN_MS;
    ticket = { ...base, pending: false, expiresAt, fencingToken: isLease ? issueToken(state) : 0 };
    bucketOnDecay(state, ticket, now);
  }
  putTicket(state, ticket);
  return ticket;
}

/** Holds slots as a reservation until `pendingUntil`, after the admission said ok or inactive. */
export function reserve(state: LimitState, request: TicketRequest, pendingUntil: number, now: number): Ticket {
  const ticket: Ticket = {
    ...request,
    leaseId: null,
    counted: countedSlots(state, request.slots),
    bucketed: 0,
    acquiredAt: now,
    expiresAt: pendingUntil,
    pending: true,
    fencingToken: 0,
    line: null,
    offerUntil: null,
  };
  putTicket(state, ticket);
  return ticket;
}

/**
 * Turns reservation `id` into its grant: a lease named `leaseId` until `expiresAt`, or an
 * increment undoable until `expiresAt`. Null when the reservation is gone (dropped, withdrawn, or
 * deleted with its limit).
 */
export function commitReservation(
  state: LimitState,
  id: string,
  grantTo: { leaseId: string | null; expiresAt: number },
  now: number,
): Ticket | null {
  const reservation = state.tickets.get(id);
  if (!reservation?.pending) {
    return null;
  }
  const granted: Ticket = {
    ...reservation,
    leaseId: reservation.kind === "lease" ? grantTo.leaseId : null,
    acquiredAt: now,
    expiresAt: grantTo.expiresAt,
    pending: false,
    fencingToken: reservation.kind === "lease" ? issueToken(state) : 0,
    offerUntil: null,
  };
  bucketOnDecay(state, granted, now);
  putTicket(state, granted);
  return granted;
}

/**
 * Gives back exactly what ticket `id` took, whatever it is: a reservation is dropped, a lease or
 * an increment still in its undo window is undone, and on a decaying limit the bucket is refunded.
 * For a request whose answer never reached its client. True when anything was held.
 */
export function withdrawTicket(state: LimitState, id: string, now: number): boolean {
  const ticket = deleteTicket(state, id, now + TOMBSTONE_MS);
  if (!ticket) {
    return false;
  }
  // What the grant poured in has leaked at most at the decay rate since: refunding only the rest
  // never leaves the bucket emptier than if the grant had not happened (which would over-admit).
  const leaked = ((state.config?.slotDecayPerSecond ?? 0) * Math.max(0, now - ticket.acquiredAt)) / 1000;
  refundBucket(state, Math.max(0, ticket.bucketed - leaked), now);
  return true;
}

/** The live lease named `leaseId`, if any. */
export function leaseNamed(state: LimitState, leaseId: string): Ticket | null {
  const ticket = state.tickets.get(ticketIdOf(leaseId));
  const held = ticket && !ticket.pending && ticket.line === null;
  return held && ticket.kind === "lease" && ticket.leaseId === leaseId ? ticket : null;
}

/** Releases a live lease (idempotent: false when it is already gone). */
export function release(state: LimitState, leaseId: string, now: number): boolean {
  const lease = leaseNamed(state, leaseId);
  if (!lease) {
    return false;
  }
  deleteTicket(state, lease.id, now + TOMBSTONE_MS);
  recordOccupancy(state, lease.slots, (now - lease.acquiredAt) / 1000, now);
  return true;
}

/** Extends a live lease to `expiresAt`; false when it is dead or unknown (it cannot come back). */
export function renew(state: LimitState, leaseId: string, expiresAt: number): boolean {
  const lease = leaseNamed(state, leaseId);
  if (!lease) {
    return false;
  }
  putTicket(state, { ...lease, expiresAt });
  return true;
}

/**
 * Ends every ticket that is due at `now` (`now > expiresAt`): a lease dies, a reservation is
 * dropped, an increment folds into the anonymous slots. Forgets tombstones that are due. Returns
 * the leases that died. Every operation calls this first, so nothing dead counts or renews.
 */
export function expire(state: LimitState, now: number): Ticket[] {
  const expired: Ticket[] = [];
  for (const heap of [state.due, state.lazy]) {
    for (let entry = heap[0]; entry !== undefined && now > entry.at; entry = heap[0]) {
      popDue(heap);
      const ended = endIfDue(state, entry.key, now);
      if (ended) {
        expired.push(ended);
      }
    }
  }
  return expired;
}

/** Ends what `key` names if it is really due; returns a lease that died. */
function endIfDue(state: LimitState, key: string, now: number): Ticket | null {
  const id = key.slice(1);
  if (key.startsWith("r")) {
    const until = state.tombstones.get(id);
    if (until !== undefined && now > until) {
      deleteTombstone(state, id);
    }
    return null;
  }
  const ticket = state.tickets.get(id);
  if (ticket?.offerUntil != null && now > ticket.offerUntil) {
    // Offered to a request that never came back for it: it goes back, exactly (whichever of its
    // moments surfaces first when much time has passed at once).
    withdrawTicket(state, ticket.id, now);
    return null;
  }
  if (key.startsWith("o") || !ticket || now <= ticket.expiresAt) {
    return null; // Stale: ended already, or renewed to a later moment that has its own entry.
  }
  if (ticket.line !== null) {
    // A waiter nobody came back for loses its place.
    dequeue(state, ticket.id);
    deleteTicket(state, ticket.id, now + TOMBSTONE_MS);
    return null;
  }
  deleteTicket(state, ticket.id, now + TOMBSTONE_MS);
  if (ticket.pending) {
    return null;
  }
  if (ticket.kind === "increment") {
    state.anonymousSlots += ticket.counted;
    touchCounters(state);
    return null;
  }
  recordOccupancy(state, ticket.slots, (ticket.expiresAt - ticket.acquiredAt) / 1000, now);
  return ticket;
}

/** Housekeeping may wait this long past its moment for an alarm. */
const LAZY_SLACK_MS = 30_000;

/** When the alarm should next run for this limit; null when nothing is due. */
export function nextDueAt(state: LimitState): number | null {
  const urgent = state.due[0]?.at ?? Number.POSITIVE_INFINITY;
  const lazy = (state.lazy[0]?.at ?? Number.POSITIVE_INFINITY) + LAZY_SLACK_MS;
  const next = Math.min(urgent, lazy);
  return Number.isFinite(next) ? next : null;
}

/**
 * Frees slots taken with `/increment` (`/decrement`): folded anonymous slots first, then
 * increments still in their undo window, oldest first, clamped at zero. Never touches leases or
 * the bucket: a decaying limit's slots come back only by decay (Prefect's C-11 is not copied).
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
  let left = request.slots;
  const fromAnonymous = Math.min(left, state.anonymousSlots);
  if (fromAnonymous > 0) {
    state.anonymousSlots -= fromAnonymous;
    left -= fromAnonymous;
    touchCounters(state);
  }
  for (const ticket of state.tickets.values()) {
    if (left <= 0) {
      break;
    }
    // An increment offered to a request that has not come back for it is nobody's yet.
    const given = !ticket.pending && ticket.line === null && ticket.offerUntil === null;
    if (ticket.kind !== "increment" || !given || ticket.counted <= 0) {
      continue;
    }
    const freed = Math.min(left, ticket.counted);
    left -= freed;
    putTicket(state, { ...ticket, counted: ticket.counted - freed });
  }
  if (request.occupancySeconds) {
    recordOccupancy(state, request.slots, request.occupancySeconds, now);
  }
}
