/**
 * The in-memory model of one limit: its configuration, its tickets (one per request that holds
 * or reserves slots here), anonymous slots, the decaying bucket, denied-slot bookkeeping, the
 * occupancy average and the request ids still taken. Pure: no I/O, no clock (every time is an
 * argument, epoch milliseconds). Mutators mark what they touched in `dirty` so the Durable Object
 * can persist exactly that.
 */

import type { AcquireMode, LeaseHolder, LocationHint } from "../protocol/types";
import { type DueEntry, pushDue } from "./due";

/** A limit's settings, as created and patched through the API. */
export interface LimitConfig {
  id: string;
  name: string;
  limit: number;
  active: boolean;
  slotDecayPerSecond: number;
  /** The region hint the object was created with; absent in configs written before it existed. */
  locationHint?: LocationHint | null;
  createdAt: number;
  updatedAt: number;
  /**
   * Which create of this name this is: a token from the fencing sequence, so it rises with every
   * create and never repeats. The catalog orders its writes by it.
   */
  generation: number;
}

/** What a ticket grants: a lease (renewed, released), or slots without one (`/increment`). */
export type TicketKind = "lease" | "increment";

/**
 * One request's record on this limit (DESIGN §7.1), from its reservation or grant to its end.
 * It ends in exactly one way: released, expired (a lease), folded (an increment whose undo window
 * passed: its slots stay as anonymous slots), withdrawn (given back whole) or dropped (a
 * reservation never committed).
 */
export interface Ticket {
  /** The Worker's id for the request: unique, never chosen by a client. */
  id: string;
  /** The client's `request_id`, if it gave one: taken on this limit until the end plus a tombstone. */
  requestId: string | null;
  kind: TicketKind;
  /** The lease id renew and release name (kind `lease`); null for increments. */
  leaseId: string | null;
  /** Slots requested. */
  slots: number;
  /** Slots this row adds to `leasedSlots`: 0 when the bucket or inactivity accounts for them. */
  counted: number;
  /** Slots this grant poured into the decaying bucket: refunded if the grant is withdrawn. */
  bucketed: number;
  holder: LeaseHolder | null;
  acquiredAt: number;
  /**
   * A lease dies, a reservation is dropped and an increment folds the instant `now > expiresAt`.
   * For an increment this is the end of its undo window.
   */
  expiresAt: number;
  /** A reservation of a multi-name request, not yet committed. */
  pending: boolean;
  /** Fencing token issued when a lease was granted; 0 otherwise. */
  fencingToken: number;
  /** Its place in line while it waits; null once granted. */
  line: LinePlace | null;
  /**
   * Granted from the line while no call waited on it: the grant goes back unless its request
   * comes back for it by then (epoch ms). Null once delivered.
   */
  offerUntil: number | null;
}

/** A waiting ticket's place in line (DESIGN §7.2): in SQLite, so it outlives calls and restarts. */
export interface LinePlace {
  /** Arrival order: lower is earlier. */
  seq: number;
  /** What the grant makes: a held ticket (`acquire`), or a multi-name request's reservation. */
  intent: "acquire" | "reserve";
  mode: AcquireMode;
  /** Lease length of a lease granted from the line. */
  leaseMs: number;
  /** When the call waiting on it gives up (epoch ms); a reservation made for it outlives this. */
  waitUntil: number;
  /** While no call waits on it: when it loses its place. Null while a call is attached. */
  graceUntil: number | null;
}

/** `expiresAt` of a waiting ticket that a call is attached to: it falls due only once detached. */
export const NEVER = Number.MAX_SAFE_INTEGER;

/** A waiting ticket as the line orders it (DESIGN §3.6). */
export interface Waiter {
  /** The ticket id it will be granted under. */
  id: string;
  requestId: string | null;
  slots: number;
  mode: AcquireMode;
}

/** Everything one limit object keeps. `config` is null when no limit of this name exists. */
export interface LimitState {
  config: LimitConfig | null;
  /** Folded slots from `/increment` on a limit without decay; freed by `/decrement`. */
  anonymousSlots: number;
  /** The leaky bucket of a limit with decay, `rateSlots` as of `rateSlotsAt`. */
  rateSlots: number;
  rateSlotsAt: number;
  /** Denied slots (for Retry-After), decaying continuously from `deniedSlotsAt`. */
  deniedSlots: number;
  deniedSlotsAt: number;
  /** Exponential moving average of how long one slot is held (reference D-6). */
  avgSlotOccupancySeconds: number;
  /** The last fencing token issued; survives delete so tokens never repeat for a name. */
  lastFencingToken: number;
  /** Tickets by ticket id. */
  tickets: Map<string, Ticket>;
  /** Sum of `counted` over `tickets`, kept in step so admission is O(1). */
  leasedSlots: number;
  /** Live tickets and waiters by the client's request id. */
  requestIds: Map<string, string>;
  /** Request ids of ended or cancelled requests, taken until the epoch ms they map to. */
  tombstones: Map<string, number>;
  /** Waiting tickets, first come first served (their rows carry the order). */
  queue: Waiter[];
  /** The next place in line. */
  nextSeq: number;
  /** When leases expire and reservations drop, earliest first (entries may be stale). */
  due: DueEntry[];
  /**
   * When increments fold and tombstones end: housekeeping that frees nothing, so it runs with the
   * next operation or a coarse alarm rather than one alarm each.
   */
  lazy: DueEntry[];
  dirty: Dirty;
}

/** What changed since the last persist. */
export interface Dirty {
  counters: boolean;
  tickets: Set<string>;
  tombstones: Set<string>;
}

/** Prefect's starting value of the occupancy average. */
export const INITIAL_AVG_OCCUPANCY_SECONDS = 2;

export function createState(): LimitState {
  return {
    config: null,
    anonymousSlots: 0,
    rateSlots: 0,
    rateSlotsAt: 0,
    deniedSlots: 0,
    deniedSlotsAt: 0,
    avgSlotOccupancySeconds: INITIAL_AVG_OCCUPANCY_SECONDS,
    lastFencingToken: 0,
    tickets: new Map(),
    leasedSlots: 0,
    requestIds: new Map(),
    tombstones: new Map(),
    queue: [],
    nextSeq: 1,
    due: [],
    lazy: [],
    dirty: { counters: false, tickets: new Set(), tombstones: new Set() },
  };
}

export function putTicket(state: LimitState, ticket: Ticket): void {
  const previous = state.tickets.get(ticket.id);
  state.leasedSlots += ticket.counted - (previous?.counted ?? 0);
  state.tickets.set(ticket.id, ticket);
  if (ticket.requestId !== null) {
    state.requestIds.set(ticket.requestId, ticket.id);
  }
  if (previous?.expiresAt !== ticket.expiresAt && ticket.expiresAt !== NEVER) {
    const lazy = ticket.kind === "increment" && !ticket.pending && ticket.line === null;
    pushDue(lazy ? state.lazy : state.due, { at: ticket.expiresAt, key: `t${ticket.id}` });
  }
  if (ticket.offerUntil !== null && previous?.offerUntil !== ticket.offerUntil) {
    pushDue(state.due, { at: ticket.offerUntil, key: `o${ticket.id}` });
  }
  state.dirty.tickets.add(ticket.id);
}

/** Removes a ticket; its request id stays taken (as a tombstone) until `tombstoneUntil`. */
export function deleteTicket(state: LimitState, id: string, tombstoneUntil: number): Ticket | undefined {
  const ticket = state.tickets.get(id);
  if (ticket) {
    state.leasedSlots -= ticket.counted;
    state.tickets.delete(id);
    state.dirty.tickets.add(id);
    if (ticket.requestId !== null) {
      state.requestIds.delete(ticket.requestId);
      putTombstone(state, ticket.requestId, tombstoneUntil);
    }
  }
  return ticket;
}

export function putTombstone(state: LimitState, requestId: string, until: number): void {
  const previous = state.tombstones.get(requestId);
  if (previous === undefined || until > previous) {
    state.tombstones.set(requestId, until);
    pushDue(state.lazy, { at: until, key: `r${requestId}` });
    state.dirty.tombstones.add(requestId);
  }
}

export function deleteTombstone(state: LimitState, requestId: string): void {
  if (state.tombstones.delete(requestId)) {
    state.dirty.tombstones.add(requestId);
  }
}

/** The next number of the limit's token sequence (fencing tokens, generations): never repeats. */
export function issueToken(state: LimitState): number {
  state.lastFencingToken += 1;
  touchCounters(state);
  return state.lastFencingToken;
}

export function touchCounters(state: LimitState): void {
  state.dirty.counters = true;
}
