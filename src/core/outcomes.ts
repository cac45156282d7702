/**
 * What a limit engine is asked (`AcquireCall`) and what it answers, as plain values: Workers RPC
 * drops the fields of thrown errors, so expected outcomes are never thrown. Shared by the engine,
 * the Durable Object that hosts it and the coordinator. Pure types and builders.
 */

import type { RuleCode } from "../protocol/errors";
import type { AcquireMode, LeaseHolder, MinimalLimit } from "../protocol/types";
import type { Ticket, TicketKind } from "./state";

/** One acquisition on this limit, as the coordinator asks for it. */
export interface AcquireCall {
  /** The request's ticket id (the Worker's, never the client's). */
  ticket: string;
  /** The client's `request_id`, if any: a request that comes back with it finds its ticket. */
  requestId: string | null;
  kind: TicketKind;
  /** The lease id a single-name lease is granted under; null otherwise. */
  leaseId: string | null;
  slots: number;
  mode: AcquireMode;
  /** Lease length in milliseconds (kind `lease`). */
  leaseMs: number;
  holder: LeaseHolder | null;
  /** How long the request may wait in line here; 0 answers at once. */
  waitMs: number;
}

export type Refusal =
  | { status: "invalid"; code: RuleCode }
  | { status: "locked"; retryAfterSeconds: number }
  | { status: "queue_full"; retryAfterSeconds: number };

/**
 * `ticket` is the request's ticket here: the caller's, or the one its request already had (it
 * came back for its place in line, its reservation or a grant offered while it was away).
 */
export type AcquireOutcome =
  | {
      status: "granted";
      ticket: string;
      limit: MinimalLimit;
      leaseId: string | null;
      fencingToken: number | null;
      expiresAt: number | null;
    }
  | { status: "reserved"; ticket: string; limit: MinimalLimit }
  | { status: "missing" }
  | Refusal;

/** What a request would meet here, without taking anything (multi-name requests ask first). */
export type CheckOutcome = { status: "ok" | "full" | "inactive" | "missing" } | { status: "invalid"; code: RuleCode };

export type CommitOutcome =
  | { status: "granted"; fencingToken: number | null; expiresAt: number | null }
  | { status: "gone" };

/** The answer for a ticket that holds its grant (or reservation) now. */
export function grantedOutcome(ticket: Ticket, limit: MinimalLimit): AcquireOutcome {
  if (ticket.pending) {
    return { status: "reserved", ticket: ticket.id, limit };
  }
  const isLease = ticket.kind === "lease";
  return {
    status: "granted",
    ticket: ticket.id,
    limit,
    leaseId: ticket.leaseId,
    fencingToken: isLease ? ticket.fencingToken : null,
    expiresAt: isLease ? ticket.expiresAt : null,
  };
}
