/**
 * `LimitEngine`: everything one limit does, as the Durable Object serves it — admission, tickets,
 * the durable line with re-attachment and grace, hand-off to the head, administration — over the
 * pure accounting of this folder. It owns no I/O: the host gives it a clock, timers and `save`,
 * which persists what changed. `objects/limit-object.ts` hosts it in workerd; the coordinator's
 * simulation hosts it in Node with virtual time.
 *
 * A waiting request is a ticket in line (stored). A call (a long-poll) or a socket (hibernatable,
 * held by the host) waits on it; when a call's wait is over a request with a `request_id` keeps its
 * place for `GRACE_MS`, to come back with the same id; one without is withdrawn. A ticket that
 * reaches the head is granted as an offer unless a call without a request id waits on it: pushed
 * to its socket to confirm, or answered "come back now" to its call, within `OFFER_MS`; held for
 * the rest of the grace if nobody waits on it. An offer not taken goes back, so a waiter that died
 * mid-wait never holds slots for longer than that.
 */

import { checkAdmission, headFitsAt, refuse } from "./admission";
import { Attachments } from "./attachments";
import type { LimitObserver } from "./history";
import { callTaken, ticketRequest, ticketToComeBackTo, withdrawnKey } from "./identity";
import {
  type AcquireCall,
  type AcquireOutcome,
  type CheckOutcome,
  type CommitOutcome,
  grantedOutcome,
} from "./outcomes";
import { attach, dequeue, detach, GRACE_MS, joinLine, leaveLine, OFFER_MS, readyHead, recoverLine } from "./queue";
import { createLimit, deleteLimit, type LimitCreate, type LimitSettings, updateLimit } from "./settings";
import { type LimitConfig, type LimitState, putTicket, putTombstone, type Ticket } from "./state";
import {
  commitReservation,
  decrement,
  expire,
  grant,
  grantFromLine,
  leaseNamed,
  PENDING_MARGIN_MS,
  release,
  renew,
  reserve,
  TOMBSTONE_MS,
  UNDO_MARGIN_MS,
  withdrawTicket,
} from "./tickets";
import { leaseInfos, limitRecord, minimalLimit, waiterInfos } from "./views";

export type { AcquireCall, AcquireOutcome, CheckOutcome, CommitOutcome, Refusal } from "./outcomes";
export { PENDING_MARGIN_MS, UNDO_MARGIN_MS } from "./tickets";

/** What a socket's request meets on arrival: an answer, or a place in line to wait in. */
export type SocketArrival = AcquireOutcome | { status: "queued"; ticket: string; position: number };

/** The sockets waiting on tickets, as the host keeps them (they outlive hibernation, not restarts). */
export interface SocketWaits {
  has(ticket: string): boolean;
  /** Pushes a grant offered to the socket of `ticket`, to be confirmed by `confirmUntil`. */
  offer(ticket: string, grant: Extract<AcquireOutcome, { status: "granted" }>, confirmUntil: number): void;
}

export type CreateOutcome = { status: "created" | "exists"; record: LimitRecordOf; generation: number };
type LimitRecordOf = NonNullable<ReturnType<typeof limitRecord>>;

export interface EngineHost {
  now(): number;
  random(): number;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Persists what `state.dirty` names and keeps the alarm; the end of every operation. */
  save(state: LimitState): Promise<void>;
  /** Learns of what happens here, for history and events (issue 14). */
  observer?: LimitObserver;
  sockets?: SocketWaits;
}

export class LimitEngine {
  readonly state: LimitState;
  /** Most requests that may wait in line at once. */
  maxWaiters: number;
  readonly #host: EngineHost;
  readonly #calls: Attachments;
  #decayTimer: unknown = null;

  constructor(state: LimitState, host: EngineHost, maxWaiters: number) {
    this.state = state;
    this.#host = host;
    this.#calls = new Attachments(host);
    this.maxWaiters = maxWaiters;
    recoverLine(state, host.now(), (id) => host.sockets?.has(id) ?? false);
  }

  // ── Acquisition ──

  /** Admission and grant in one call: the hot path of a single-name request. */
  acquire(call: AcquireCall): Promise<AcquireOutcome> {
    return this.#arrive(call, "acquire");
  }

  /** First phase of a multi-name request: hold the slots as a reservation, waiting for them. */
  reserve(call: AcquireCall): Promise<AcquireOutcome> {
    return this.#arrive(call, "reserve");
  }

  /**
   * A request over a socket: granted or refused at once, or queued; then its grant is pushed to
   * the socket (`SocketWaits.offer`) and holds once `confirm`ed. The host binds the socket to the
   * ticket answered before it serves anything else.
   */
  arriveBySocket(call: AcquireCall): Promise<SocketArrival> {
    return this.#arrive(call, "acquire", true);
  }

  /** The socket of ticket `id` confirms its offer: the grant holds. Null when no offer is left. */
  async confirm(id: string): Promise<AcquireOutcome | null> {
    this.#begin();
    const ticket = this.state.tickets.get(id);
    return this.#finish(ticket && ticket.offerUntil !== null && !ticket.pending ? this.#deliver(ticket) : null);
  }

  /** The socket of ticket `id` closed or failed: its place or its offer goes at once; a grant stays. */
  async socketGone(id: string): Promise<void> {
    const now = this.#begin();
    const ticket = this.state.tickets.get(id);
    if (ticket && (ticket.line !== null || ticket.offerUntil !== null) && this.#withdraw(id, now)) {
      this.#host.observer?.cancelled(now);
    }
    await this.#finish(undefined);
  }

  /** What `call` would meet here now, without taking anything or counting a refusal. */
  async check(call: AcquireCall): Promise<CheckOutcome> {
    const now = this.#begin();
    const mine = ticketToComeBackTo(this.state, call, "reserve");
    if (mine === "conflict" || (mine === null && callTaken(this.state, call, now))) {
      return this.#finish({ status: "invalid", code: "request_id_in_use" });
    }
    return this.#finish(mine ? { status: "ok" } : checkAdmission(this.state, call, now, "arrival"));
  }

  /** Second phase: turns reservation `ticket` into its grant. */
  async commit(ticket: string, grantTo: { leaseId: string | null; leaseMs: number; undoMs: number }): Promise<CommitOutcome> {
    const now = this.#begin();
    const reservation = this.state.tickets.get(ticket);
    const expiresAt = now + (reservation?.kind === "lease" ? grantTo.leaseMs : grantTo.undoMs);
    const granted = commitReservation(this.state, ticket, { leaseId: grantTo.leaseId, expiresAt }, now);
    if (granted === null) {
      return this.#finish({ status: "gone" });
    }
    const isLease = granted.kind === "lease";
    return this.#finish({
      status: "granted",
      fencingToken: isLease ? granted.fencingToken : null,
      expiresAt: isLease ? granted.expiresAt : null,
    });
  }

  async #arrive(call: AcquireCall, intent: "acquire" | "reserve"): Promise<AcquireOutcome>;
  async #arrive(call: AcquireCall, intent: "acquire", bySocket: true): Promise<SocketArrival>;
  async #arrive(call: AcquireCall, intent: "acquire" | "reserve", bySocket = false): Promise<SocketArrival> {
    const now = this.#begin();
    const state = this.state;
    const mine = ticketToComeBackTo(this.state, call, intent);
    if (mine === "conflict" || (mine === null && callTaken(this.state, call, now))) {
      // Used before, in use, or withdrawn before it arrived: changing anything would over-admit.
      return this.#finish({ status: "invalid", code: "request_id_in_use" });
    }
    if (mine) {
      return bySocket ? this.#comeBackBySocket(mine, now) : this.#comeBack(mine, call, now);
    }
    const admission = checkAdmission(state, call, now, "arrival");
    if (admission.status === "ok" || admission.status === "inactive") {
      this.#host.observer?.granted(call.slots, 0, call.ticket, now);
      return this.#finish(this.#grantNow(call, intent, now));
    }
    if (admission.status !== "full") {
      return this.#finish(admission);
    }
    if (call.waitMs <= 0 && !bySocket) {
      this.#host.observer?.refused(now, false);
      return this.#finish(refuse(state, call.slots, now, this.#host.random));
    }
    if (state.queue.length >= this.maxWaiters) {
      this.#host.observer?.refused(now, false);
      const { retryAfterSeconds } = refuse(state, call.slots, now, this.#host.random);
      return this.#finish({ status: "queue_full", retryAfterSeconds });
    }
    const request = { ...ticketRequest(call), leaseId: intent === "acquire" ? call.leaseId : null };
    joinLine(state, request, { intent, mode: call.mode, leaseMs: call.leaseMs, waitUntil: now + call.waitMs }, now);
    if (bySocket) {
      return this.#finish({ status: "queued", ticket: call.ticket, position: state.queue.length });
    }
    const outcome = this.#calls.wait(call.ticket, call.waitMs, () => void this.#waitOver(call.ticket));
    await this.#finish(undefined);
    return outcome;
  }

  #grantNow(call: AcquireCall, intent: "acquire" | "reserve", now: number): AcquireOutcome {
    if (intent === "reserve") {
      return grantedOutcome(reserve(this.state, ticketRequest(call), now + call.waitMs + PENDING_MARGIN_MS, now), this.#minimal());
    }
    const expiresAt = call.kind === "lease" ? now + call.leaseMs : now + call.waitMs + UNDO_MARGIN_MS;
    return grantedOutcome(grant(this.state, ticketRequest(call), expiresAt, now), this.#minimal());
  }

  /** A request came back with its request id: to its place in line, its reservation or its offer. */
  async #comeBack(ticket: Ticket, call: AcquireCall, now: number): Promise<AcquireOutcome> {
    if (ticket.line) {
      attach(this.state, ticket.id, now + call.waitMs);
      // The coordinator knows its request by the call's ticket id until this call answers.
      const outcome = this.#calls.wait(ticket.id, call.waitMs, () => void this.#waitOver(ticket.id), call.ticket);
      await this.#finish(undefined);
      return outcome;
    }
    return this.#finish(this.#deliver(ticket));
  }

  /** A socket came back for its request's ticket (a reconnect): its place, or its offer at once. */
  async #comeBackBySocket(ticket: Ticket, now: number): Promise<SocketArrival> {
    if (!ticket.line) {
      return this.#finish(this.#deliver(ticket));
    }
    // A long-poll of the same request lets go: the socket waits on the ticket from now on.
    this.#calls.letGo(ticket.id)?.resolve({ status: "locked", retryAfterSeconds: 0 });
    attach(this.state, ticket.id, now);
    const position = this.state.queue.findIndex((waiter) => waiter.id === ticket.id) + 1;
    return this.#finish({ status: "queued", ticket: ticket.id, position });
  }

  /** An offer taken by its request: it is one no more. */
  #deliver(ticket: Ticket): AcquireOutcome {
    const delivered = { ...ticket, offerUntil: null };
    putTicket(this.state, delivered);
    return grantedOutcome(delivered, this.#minimal());
  }

  /**
   * A call's wait is over. A request that can come back (it has a request id) keeps its place for
   * the grace and is told to come back now; any other is refused with a Retry-After that counts
   * who is still ahead.
   */
  async #waitOver(id: string): Promise<void> {
    const now = this.#begin();
    const attachment = this.#calls.letGo(id);
    const ticket = this.state.tickets.get(id);
    if (ticket?.line && ticket.requestId !== null && ticket.line.intent === "acquire") {
      // Still waiting, between two calls: no refusal to count, and its next call should come now.
      detach(this.state, id, now + GRACE_MS);
      attachment?.resolve({ status: "locked", retryAfterSeconds: 0 });
    } else if (ticket?.line) {
      leaveLine(this.state, id, now + TOMBSTONE_MS);
      if (attachment) {
        this.#host.observer?.refused(now, true);
      }
      attachment?.resolve(refuse(this.state, ticket.slots, now, this.#host.random));
    }
    // The head may have been what held the others back.
    await this.#finish(undefined);
  }

  /**
   * Gives back everything of ticket `ticket` here — its place in line, its reservation, or its
   * grant (refunding the bucket) — for a request refused elsewhere or whose client is gone.
   */
  async withdraw(ticket: string): Promise<boolean> {
    const now = this.#begin();
    const held = this.#withdraw(this.#calls.resolve(ticket), now);
    if (held) {
      this.#host.observer?.cancelled(now);
    }
    // A call of this request still on its way (another stub) must not take anything when it lands.
    putTombstone(this.state, withdrawnKey(ticket), now + TOMBSTONE_MS);
    return this.#finish(held);
  }

  /**
   * The caller of ticket `ticket` went away while waiting. A single-name request that can come
   * back (it has a request id) keeps its place for the grace; anything else is withdrawn.
   */
  async leave(ticket: string): Promise<void> {
    const now = this.#begin();
    const id = this.#calls.resolve(ticket);
    const held = this.state.tickets.get(id);
    if (held?.requestId != null && held.line?.intent === "acquire") {
      this.#calls.letGo(id)?.resolve({ status: "locked", retryAfterSeconds: 0 });
      detach(this.state, id, now + GRACE_MS);
    } else {
      if (this.#withdraw(id, now)) {
        this.#host.observer?.cancelled(now);
      }
      putTombstone(this.state, withdrawnKey(ticket), now + TOMBSTONE_MS);
    }
    await this.#finish(undefined);
  }

  /**
   * `POST /cancel`: withdraws the request the client named `requestId`. One that has not arrived
   * yet finds a tombstone and is refused when it does.
   */
  async cancel(requestId: string): Promise<boolean> {
    const now = this.#begin();
    const ticket = this.state.requestIds.get(requestId);
    const held = ticket !== undefined && this.#withdraw(ticket, now);
    if (held) {
      this.#host.observer?.cancelled(now);
    }
    putTombstone(this.state, requestId, now + TOMBSTONE_MS);
    return this.#finish(held);
  }

  #withdraw(ticket: string, now: number): boolean {
    const attachment = this.#calls.letGo(ticket);
    attachment?.resolve({ status: "locked", retryAfterSeconds: 0 });
    return leaveLine(this.state, ticket, now + TOMBSTONE_MS) || withdrawTicket(this.state, ticket, now) || !!attachment;
  }

  // ── Holding ──

  async release(leaseId: string): Promise<boolean> {
    const now = this.#begin();
    const lease = leaseNamed(this.state, leaseId);
    const released = release(this.state, leaseId, now);
    if (released && lease) {
      this.#host.observer?.released(lease.slots, now - lease.acquiredAt, lease.id, now);
    }
    return this.#finish(released);
  }

  async renew(leaseId: string, leaseMs: number): Promise<boolean> {
    const now = this.#begin();
    return this.#finish(renew(this.state, leaseId, now + leaseMs));
  }

  async decrement(slots: number, occupancySeconds: number | undefined) {
    const now = this.#begin();
    decrement(this.state, { slots, occupancySeconds }, now);
    return this.#finish(this.state.config ? minimalLimit(this.state.config) : null);
  }

  // ── Administration ──

  /** Creates the limit, unless one of this name exists: then says which. */
  async create(input: LimitCreate): Promise<CreateOutcome> {
    const now = this.#begin();
    const created = this.state.config === null;
    if (created) {
      createLimit(this.state, input, now);
      this.#host.observer?.lifecycle("created", now);
    }
    const config = this.state.config as LimitConfig;
    const record = limitRecord(this.state, now) as LimitRecordOf;
    return this.#finish({ status: created ? "created" : "exists", record, generation: config.generation });
  }

  async describe() {
    const now = this.#begin();
    return this.#finish(limitRecord(this.state, now));
  }

  /** Applies a PATCH; false when no limit of this name exists. */
  async update(patch: Partial<LimitSettings>): Promise<boolean> {
    const now = this.#begin();
    if (!this.state.config) {
      return this.#finish(false);
    }
    updateLimit(this.state, patch, now);
    this.#host.observer?.lifecycle("updated", now);
    return this.#finish(true);
  }

  /** Deletes the limit, revoking its leases; says which limit was deleted, or null. */
  async remove(): Promise<{ id: string; generation: number } | null> {
    const now = this.#begin();
    const config = this.state.config;
    if (config === null) {
      return this.#finish(null);
    }
    this.#host.observer?.lifecycle("deleted", now);
    deleteLimit(this.state, now);
    return this.#finish({ id: config.id, generation: config.generation ?? 0 });
  }

  async leases() {
    this.#begin();
    const state = this.state;
    const listing = state.config
      ? { leases: leaseInfos(state), waiting: state.queue.length, waiters: waiterInfos(state) }
      : null;
    return this.#finish(listing);
  }

  /** Expires what is due and serves the line: the alarm, and the decay timer. */
  async tick(): Promise<void> {
    this.#begin();
    await this.#finish(undefined);
  }

  // ── Internals ──

  /** The start of every operation: reads the clock once and expires what is due. */
  #begin(): number {
    const now = this.#host.now();
    const expired = expire(this.state, now);
    if (expired.length > 0) {
      this.#host.observer?.expired(expired.length, now);
    }
    return now;
  }

  #minimal() {
    return minimalLimit(this.state.config as LimitConfig);
  }

  /**
   * Hands slots to the head of the line while it fits, then sets the decay timer for the moment
   * the next one will. A call without a request id gets its grant; anything else is offered (see
   * the top of this file).
   */
  #serveQueue(): void {
    const state = this.state;
    const now = this.#host.now();
    for (let head = readyHead(state, now); head !== null; head = readyHead(state, now)) {
      const { waiter, decision } = head;
      const attachment = this.#calls.letGo(waiter.id);
      if (decision.status !== "ok" && decision.status !== "inactive") {
        leaveLine(state, waiter.id, now + TOMBSTONE_MS);
        attachment?.resolve(decision);
        continue;
      }
      const waiting = state.tickets.get(waiter.id);
      const joinedAt = waiting?.acquiredAt ?? now;
      // A reservation needs no offer: it is only held until its request commits it.
      const direct = waiting?.requestId == null || waiting.line?.intent === "reserve";
      const pushed = !attachment && (this.#host.sockets?.has(waiter.id) ?? false);
      const offerUntil = attachment || pushed ? now + OFFER_MS : (waiting?.line?.graceUntil ?? now + GRACE_MS);
      dequeue(state, waiter.id);
      const granted = grantFromLine(state, waiter.id, attachment && direct ? null : offerUntil, now);
      if (!granted) {
        continue;
      }
      this.#host.observer?.granted(granted.slots, now - joinedAt, granted.id, now);
      const outcome = grantedOutcome(granted, this.#minimal());
      if (attachment) {
        // One that can come back confirms by coming back at once; a dead one never does.
        attachment.resolve(direct ? outcome : { status: "locked", retryAfterSeconds: 0 });
      } else if (pushed && outcome.status === "granted") {
        this.#host.sockets?.offer(waiter.id, outcome, offerUntil);
      }
    }
    if (this.#decayTimer !== null) {
      this.#host.clearTimer(this.#decayTimer);
      this.#decayTimer = null;
    }
    const fitsAt = headFitsAt(state, now);
    if (fitsAt !== null) {
      this.#decayTimer = this.#host.setTimer(() => {
        this.#decayTimer = null;
        void this.tick();
      }, fitsAt - now);
    }
  }

  /** Serves the line and persists what changed. Every operation ends here. */
  async #finish<T>(result: T): Promise<T> {
    this.#serveQueue();
    await this.#host.save(this.state);
    return result;
  }
}
