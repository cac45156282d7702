/**
 * Which request a call belongs to (DESIGN §7.1, §7.2): whether its ids are free here, and which
 * ticket its request already has that it may come back to. Pure.
 */

import { requestIdTaken } from "./admission";
import type { AcquireCall } from "./outcomes";
import type { LimitState, Ticket } from "./state";
import type { TicketRequest } from "./tickets";

/** The tombstone key of a withdrawn ticket (`#` never starts a request id). */
export function withdrawnKey(ticket: string): string {
  return `#${ticket}`;
}

/**
 * Whether `call` may not start a new request here: its request id is taken (in use, ended
 * lately, or cancelled), or its ticket id is in use or was withdrawn before the call arrived.
 */
export function callTaken(state: LimitState, call: AcquireCall, now: number): boolean {
  return (
    requestIdTaken(state, call.requestId, now) ||
    state.tickets.has(call.ticket) ||
    state.tombstones.has(withdrawnKey(call.ticket))
  );
}

/**
 * The ticket `call`'s request already has here, if it may come back to it: its place in line, or
 * what was offered to it while it was away (a grant; a reservation for a multi-name request).
 * `conflict` when the request id names another request, or one
 * already answered. Null when it has none.
 */
export function ticketToComeBackTo(
  state: LimitState,
  call: AcquireCall,
  intent: "acquire" | "reserve",
): Ticket | "conflict" | null {
  const id = call.requestId === null ? undefined : state.requestIds.get(call.requestId);
  const ticket = id === undefined ? undefined : state.tickets.get(id);
  if (!ticket) {
    return null;
  }
  const same = ticket.slots === call.slots && ticket.kind === call.kind;
  const waiting = ticket.line !== null && ticket.line.intent === intent && ticket.line.mode === call.mode;
  // Or for what was offered to it while it was away: a grant, or a multi-name one's reservation.
  const held = ticket.offerUntil !== null && ticket.pending === (intent === "reserve");
  return same && (waiting || held) ? ticket : "conflict";
}

/** What a ticket of `call` records (a lease id only for a lease). */
export function ticketRequest(call: AcquireCall): TicketRequest {
  return {
    id: call.ticket,
    requestId: call.requestId,
    kind: call.kind,
    leaseId: call.kind === "lease" ? call.leaseId : null,
    slots: call.slots,
    holder: call.holder,
  };
}
