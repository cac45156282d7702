/**
 * The line of one limit (DESIGN §3.6, §7.2): strict first-in first-out, so a large request at the
 * head is never starved by small ones behind it. A waiting request is a ticket with a place in
 * line, stored like any other, so the line outlives the calls that wait on it and restarts of the
 * object. A call attaches to its ticket while it waits; a ticket nobody is attached to keeps its
 * place for a grace, for its request to come back (a new long-poll, a reconnect). Pure.
 */

import { type Admission, checkAdmission } from "./admission";
import { deleteTicket, type LimitState, type LinePlace, NEVER, putTicket, type Ticket, type Waiter } from "./state";

/** How long a ticket keeps its place with no call waiting on it. */
export const GRACE_MS = 10_000;
/**
 * How long a grant from the line waits for its request to confirm it (a socket's `confirm`, or a
 * long-poll's request coming back): a waiter that died mid-wait holds slots no longer than this.
 */
export const OFFER_MS = 5_000;

/** Puts a request at the back of the line, with a call attached until `place.waitUntil`. */
export function joinLine(
  state: LimitState,
  request: Pick<Ticket, "id" | "requestId" | "kind" | "leaseId" | "slots" | "holder">,
  place: Omit<LinePlace, "seq" | "graceUntil">,
  now: number,
): Ticket {
  const ticket: Ticket = {
    ...request,
    counted: 0,
    bucketed: 0,
    acquiredAt: now,
    expiresAt: NEVER,
    pending: false,
    fencingToken: 0,
    line: { ...place, seq: state.nextSeq, graceUntil: null },
    offerUntil: null,
  };
  state.nextSeq += 1;
  putTicket(state, ticket);
  state.queue.push(waiterOf(ticket));
  return ticket;
}

/** A call waits on ticket `id` again, until `waitUntil`. */
export function attach(state: LimitState, id: string, waitUntil: number): void {
  const ticket = state.tickets.get(id);
  if (ticket?.line) {
    putTicket(state, { ...ticket, line: { ...ticket.line, waitUntil, graceUntil: null }, expiresAt: NEVER });
  }
}

/** No call waits on ticket `id` any more: it keeps its place until `graceUntil`. */
export function detach(state: LimitState, id: string, graceUntil: number): void {
  const ticket = state.tickets.get(id);
  if (ticket?.line) {
    putTicket(state, { ...ticket, line: { ...ticket.line, graceUntil }, expiresAt: graceUntil });
  }
}

/** Takes ticket `id` out of line for good (withdrawn, timed out, refused). */
export function leaveLine(state: LimitState, id: string, tombstoneUntil: number): boolean {
  const queued = dequeue(state, id);
  const ticket = state.tickets.get(id);
  if (ticket?.line) {
    deleteTicket(state, id, tombstoneUntil);
    return true;
  }
  return queued;
}

/** Takes a waiter out of the queue's order; false when it is not there. */
export function dequeue(state: LimitState, id: string): boolean {
  const index = state.queue.findIndex((waiter) => waiter.id === id);
  if (index < 0) {
    return false;
  }
  state.queue.splice(index, 1);
  return true;
}

/**
 * After a load no call is attached to anything, but sockets that waited through hibernation
 * (`socketWaits`) still are: the queue is rebuilt from the waiting tickets, every other waiter
 * that can come back (it has a request id) and every offer gets a full grace, and a waiter that
 * cannot come back leaves the line at once.
 */
export function recoverLine(state: LimitState, now: number, socketWaits: (id: string) => boolean = () => false): void {
  rebuildQueue(state);
  for (const ticket of [...state.tickets.values()]) {
    if (socketWaits(ticket.id)) {
      // Its socket waits on: attached as it was, an offer still its to confirm.
      continue;
    }
    if (ticket.line && ticket.requestId === null) {
      leaveLine(state, ticket.id, now);
    } else if (ticket.line) {
      detach(state, ticket.id, Math.max(ticket.line.graceUntil ?? 0, now + GRACE_MS));
    } else if (ticket.offerUntil !== null) {
      putTicket(state, { ...ticket, offerUntil: Math.max(ticket.offerUntil, now + GRACE_MS) });
    }
  }
}

/** Rebuilds the queue's order from the waiting tickets (after a load). */
export function rebuildQueue(state: LimitState): void {
  const waiting = [...state.tickets.values()].filter((ticket) => ticket.line !== null);
  waiting.sort((a, b) => (a.line?.seq ?? 0) - (b.line?.seq ?? 0));
  state.queue = waiting.map(waiterOf);
  state.nextSeq = Math.max(state.nextSeq, ...waiting.map((ticket) => (ticket.line?.seq ?? 0) + 1));
}

function waiterOf(ticket: Ticket): Waiter {
  return { id: ticket.id, requestId: ticket.requestId, slots: ticket.slots, mode: ticket.line?.mode ?? "concurrency" };
}

/**
 * The head waiter, if it should be answered now: it fits, or the limit changed under it
 * (inactive, deleted, now too small). Null while it must keep waiting; nobody behind a waiting
 * head is considered.
 */
export function readyHead(
  state: LimitState,
  now: number,
): { waiter: Waiter; decision: Exclude<Admission, { status: "full" }> } | null {
  const waiter = state.queue[0];
  if (!waiter) {
    return null;
  }
  const decision = checkAdmission(state, waiter, now, "head");
  return decision.status === "full" ? null : { waiter, decision };
}
