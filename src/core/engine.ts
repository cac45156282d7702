/**
 * `LimitEngine`: everything one limit does, as the Durable Object serves it — admission, tickets,
 * the waiting line with its deadlines, hand-off to the head, administration — over the pure
 * accounting of this folder. It owns no I/O: the host gives it a clock, timers and `save`, which
 * persists what changed. `objects/limit-object.ts` hosts it in workerd; the coordinator's
 * simulation hosts it in Node with virtual time.
 *
 * Expected outcomes are values, never thrown: Workers RPC drops the fields of thrown errors.
 */

import type { LimitObserver } from "./history"; // observe(#14)
import type { AcquireMode, LimitLeases, LimitRecord, MinimalLimit } from "../protocol/types";
import { type InvalidCode, checkAdmission, headFitsAt, refuse, requestIdTaken } from "./admission";
import { dequeue, enqueue, readyHead } from "./queue";
import { createLimit, deleteLimit, type LimitSettings, updateLimit } from "./settings";
import { type Holder, type LimitConfig, type LimitState, putTombstone, type TicketKind } from "./state";
import {
  commitReservation,
  decrement,
  expire,
  grant,
  leaseNamed,
  release,
  renew,
  reserve,
  TOMBSTONE_MS,
  type TicketRequest,
  withdrawTicket,
} from "./tickets";
import { leaseInfos, limitRecord, minimalLimit } from "./views";

/**
 * How long an increment stays individually undoable after its request's wait could have ended:
 * longer than a client waits for an answer before it withdraws the try (30 s by default).
 */
export const UNDO_MARGIN_MS = 60_000;
/** How long a multi-name reservation outlives its request's wait if its commit never comes. */
export const PENDING_MARGIN_MS = 10_000;

/** One acquisition on this limit, as the coordinator asks for it. */
export interface AcquireCall {
  /** The request's ticket id (the Worker's, never the client's). */
  ticket: string;
  /** The client's `request_id`, if any. */
  requestId: string | null;
  kind: TicketKind;
  /** The lease id a single-name lease is granted under; null otherwise. */
  leaseId: string | null;
  slots: number;
  mode: AcquireMode;
  /** Lease length in milliseconds (kind `lease`). */
  leaseMs: number;
  holder: Holder | null;
  /** How long the request may wait in line here; 0 answers at once. */
  waitMs: number;
}

export type Refusal =
  | { status: "invalid"; code: InvalidCode | "request_id_in_use" }
  | { status: "locked"; retryAfterSeconds: number }
  | { status: "queue_full"; retryAfterSeconds: number };

export type AcquireOutcome =
  | { status: "granted"; limit: MinimalLimit; fencingToken: number | null; expiresAt: number | null }
  | { status: "reserved"; limit: MinimalLimit }
  | { status: "missing" }
  | Refusal;

/** What a request would meet here, without taking anything (multi-name requests ask first). */
export type CheckOutcome =
  | { status: "ok" | "full" | "inactive" | "missing" }
  | { status: "invalid"; code: InvalidCode | "request_id_in_use" };

export type CommitOutcome =
  | { status: "granted"; fencingToken: number | null; expiresAt: number | null }
  | { status: "gone" };

export type CreateOutcome = { status: "created" | "exists"; record: LimitRecord; generation: number };

export interface EngineHost {
  now(): number;
  random(): number;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Persists what `state.dirty` names and keeps the alarm; the end of every operation. */
  save(state: LimitState): Promise<void>;
  /** observe(#14): history and events of what happens here. */
  observer?: LimitObserver;
}

interface PendingWaiter {
  /** Grants the waiter what it asked for, once `readyHead` says it fits. */
  grant(now: number): AcquireOutcome;
  resolve(outcome: AcquireOutcome): void;
  timer: unknown;
}

/** The tombstone key of a withdrawn ticket (`#` never starts a request id). */
function withdrawnKey(ticket: string): string {
  return `#${ticket}`;
}

/** Whether ticket id `ticket` is in use here, or was withdrawn before this call arrived. */
function ticketTaken(state: LimitState, ticket: string): boolean {
  return state.tickets.has(ticket) || state.tombstones.has(withdrawnKey(ticket));
}

function ticketRequest(call: AcquireCall, leaseId: string | null): TicketRequest {
  return {
    id: call.ticket,
    requestId: call.requestId,
    kind: call.kind,
    leaseId,
    slots: call.slots,
    holder: call.holder,
  };
}

export class LimitEngine {
  readonly state: LimitState;
  /** Most requests that may wait in line at once. */
  maxWaiters: number;
  readonly #host: EngineHost;
  readonly #waiters = new Map<string, PendingWaiter>();
  #decayTimer: unknown = null;

  constructor(state: LimitState, host: EngineHost, maxWaiters: number) {
    this.state = state;
    this.#host = host;
    this.maxWaiters = maxWaiters;
  }

  // ── Acquisition ──

  /** Admission and grant in one call: the hot path of a single-name request. */
  acquire(call: AcquireCall): Promise<AcquireOutcome> {
    const arrivedAt = this.#host.now();
    return this.#admitOrWait(call, (now) => {
      const expiresAt = call.kind === "lease" ? now + call.leaseMs : arrivedAt + call.waitMs + UNDO_MARGIN_MS;
      const ticket = grant(this.state, ticketRequest(call, call.leaseId), expiresAt, now);
      return {
        status: "granted",
        limit: this.#minimal(),
        fencingToken: call.kind === "lease" ? ticket.fencingToken : null,
        expiresAt: call.kind === "lease" ? ticket.expiresAt : null,
      };
    });
  }

  /** First phase of a multi-name request: hold the slots as a reservation, waiting for them. */
  reserve(call: AcquireCall): Promise<AcquireOutcome> {
    const pendingUntil = this.#host.now() + call.waitMs + PENDING_MARGIN_MS;
    return this.#admitOrWait(call, (now) => {
      reserve(this.state, ticketRequest(call, null), pendingUntil, now);
      return { status: "reserved", limit: this.#minimal() };
    });
  }

  /** What `call` would meet here now, without taking anything or counting a refusal. */
  async check(call: AcquireCall): Promise<CheckOutcome> {
    const now = this.#begin();
    if (requestIdTaken(this.state, call.requestId, now) || ticketTaken(this.state, call.ticket)) {
      return this.#finish({ status: "invalid", code: "request_id_in_use" });
    }
    return this.#finish(checkAdmission(this.state, call, now, "arrival"));
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

  async #admitOrWait(call: AcquireCall, grantTicket: (now: number) => AcquireOutcome): Promise<AcquireOutcome> {
    const now = this.#begin();
    // observe(#14): every grant, at once or after waiting since `now`, with its wait.
    const grantNow = (at: number): AcquireOutcome => {
      this.#host.observer?.granted(call.slots, at - now, call.ticket, at);
      return grantTicket(at);
    };
    const state = this.state;
    if (requestIdTaken(state, call.requestId, now) || ticketTaken(state, call.ticket) || this.#waiters.has(call.ticket)) {
      // Used before, in use, or withdrawn before it arrived: changing anything would over-admit.
      return this.#finish({ status: "invalid", code: "request_id_in_use" });
    }
    const admission = checkAdmission(state, call, now, "arrival");
    if (admission.status === "ok" || admission.status === "inactive") {
      return this.#finish(grantNow(now));
    }
    if (admission.status !== "full") {
      return this.#finish(admission);
    }
    if (call.waitMs <= 0) {
      this.#host.observer?.refused(now, false); // observe(#14)
      return this.#finish(refuse(state, call.slots, now, this.#host.random));
    }
    if (state.queue.length >= this.maxWaiters) {
      this.#host.observer?.refused(now, false); // observe(#14)
      const { retryAfterSeconds } = refuse(state, call.slots, now, this.#host.random);
      return this.#finish({ status: "queue_full", retryAfterSeconds });
    }
    const outcome = new Promise<AcquireOutcome>((resolve) => {
      enqueue(state, { id: call.ticket, requestId: call.requestId, slots: call.slots, mode: call.mode });
      if (call.requestId !== null) {
        state.requestIds.set(call.requestId, call.ticket);
      }
      this.#waiters.set(call.ticket, {
        grant: grantNow,
        resolve,
        timer: this.#host.setTimer(() => void this.#timeOut(call.ticket, call.slots), call.waitMs),
      });
    });
    await this.#finish(undefined);
    return outcome;
  }

  /** A waiter's deadline: out of line, refused with a Retry-After that counts who is still ahead. */
  async #timeOut(id: string, slots: number): Promise<void> {
    const now = this.#begin();
    const waiter = this.#takeOutOfLine(id, now);
    if (waiter) {
      this.#host.observer?.refused(now, true); // observe(#14)
    }
    waiter?.resolve(refuse(this.state, slots, now, this.#host.random));
    // The head may have been what held the others back.
    await this.#finish(undefined);
  }

  /**
   * Gives back everything of ticket `ticket` here — its place in line, its reservation, or its
   * grant (refunding the bucket) — for a request refused elsewhere or whose client is gone.
   */
  async withdraw(ticket: string): Promise<boolean> {
    const now = this.#begin();
    const waiter = this.#takeOutOfLine(ticket, now);
    waiter?.resolve({ status: "locked", retryAfterSeconds: 0 });
    const held = withdrawTicket(this.state, ticket, now);
    // A call of this request still on its way (another stub) must not take anything when it lands.
    putTombstone(this.state, withdrawnKey(ticket), now + TOMBSTONE_MS);
    if (held || waiter !== undefined) {
      this.#host.observer?.cancelled(now); // observe(#14)
    }
    return this.#finish(held || waiter !== undefined);
  }

  /**
   * `POST /cancel`: withdraws the request the client named `requestId`. One that has not arrived
   * yet finds a tombstone and is refused when it does.
   */
  async cancel(requestId: string): Promise<boolean> {
    const now = this.#begin();
    const ticket = this.state.requestIds.get(requestId);
    let held = false;
    if (ticket !== undefined) {
      const waiter = this.#takeOutOfLine(ticket, now);
      waiter?.resolve({ status: "locked", retryAfterSeconds: 0 });
      held = withdrawTicket(this.state, ticket, now) || waiter !== undefined;
    }
    putTombstone(this.state, requestId, now + TOMBSTONE_MS);
    if (held) {
      this.#host.observer?.cancelled(now); // observe(#14)
    }
    return this.#finish(held);
  }

  // ── Holding ──

  async release(leaseId: string): Promise<boolean> {
    const now = this.#begin();
    const lease = leaseNamed(this.state, leaseId); // observe(#14)
    const released = release(this.state, leaseId, now);
    if (released && lease) {
      this.#host.observer?.released(lease.slots, now - lease.acquiredAt, lease.id, now); // observe(#14): key = ticket id
    }
    return this.#finish(released);
  }

  async renew(leaseId: string, leaseMs: number): Promise<boolean> {
    const now = this.#begin();
    return this.#finish(renew(this.state, leaseId, now + leaseMs));
  }

  async decrement(slots: number, occupancySeconds: number | undefined): Promise<MinimalLimit | null> {
    const now = this.#begin();
    decrement(this.state, { slots, occupancySeconds }, now);
    return this.#finish(this.state.config ? minimalLimit(this.state.config) : null);
  }

  // ── Administration ──

  /** Creates the limit, unless one of this name exists: then says which. */
  async create(input: { id: string; name: string } & LimitSettings): Promise<CreateOutcome> {
    const now = this.#begin();
    const created = this.state.config === null;
    if (created) {
      createLimit(this.state, input, now);
      this.#host.observer?.lifecycle("created", now); // observe(#14)
    }
    const config = this.state.config as LimitConfig;
    const record = limitRecord(this.state, now) as LimitRecord;
    return this.#finish({ status: created ? "created" : "exists", record, generation: config.generation });
  }

  async describe(): Promise<LimitRecord | null> {
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
    this.#host.observer?.lifecycle("updated", now); // observe(#14)
    return this.#finish(true);
  }

  /** Deletes the limit, revoking its leases; says which limit was deleted, or null. */
  async remove(): Promise<{ id: string; generation: number } | null> {
    const now = this.#begin();
    const config = this.state.config;
    if (config === null) {
      return this.#finish(null);
    }
    this.#host.observer?.lifecycle("deleted", now); // observe(#14): before the settings go
    deleteLimit(this.state, now);
    return this.#finish({ id: config.id, generation: config.generation ?? 0 });
  }

  async leases(): Promise<LimitLeases | null> {
    this.#begin();
    const state = this.state;
    return this.#finish(state.config ? { leases: leaseInfos(state), waiting: state.queue.length } : null);
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
      this.#host.observer?.expired(expired.length, now); // observe(#14): lost holders
    }
    return now;
  }

  #minimal(): MinimalLimit {
    return minimalLimit(this.state.config as LimitConfig);
  }

  /** Removes waiter `id` from the line and stops its deadline; the caller answers it. */
  #takeOutOfLine(id: string, now: number): PendingWaiter | undefined {
    const waiter = this.#waiters.get(id);
    const entry = this.state.queue.find((queued) => queued.id === id);
    dequeue(this.state, id);
    this.#waiters.delete(id);
    if (entry && entry.requestId !== null && this.state.requestIds.get(entry.requestId) === id) {
      this.state.requestIds.delete(entry.requestId);
      putTombstone(this.state, entry.requestId, now + TOMBSTONE_MS);
    }
    if (waiter) {
      this.#host.clearTimer(waiter.timer);
    }
    return waiter;
  }

  /**
   * Hands slots to waiters at the head of the line while they fit, then sets the decay timer for
   * the moment the next one will.
   */
  #serveQueue(): void {
    const state = this.state;
    if (state.queue.length === 0) {
      return;
    }
    const now = this.#host.now();
    for (let head = readyHead(state, now); head !== null; head = readyHead(state, now)) {
      const { waiter: queued, decision } = head;
      const waiter = this.#waiters.get(queued.id);
      dequeue(state, queued.id);
      this.#waiters.delete(queued.id);
      if (queued.requestId !== null) {
        state.requestIds.delete(queued.requestId);
      }
      if (waiter) {
        this.#host.clearTimer(waiter.timer);
        waiter.resolve(decision.status === "ok" || decision.status === "inactive" ? waiter.grant(now) : decision);
      }
      if (queued.requestId !== null && !state.tickets.has(queued.id)) {
        putTombstone(state, queued.requestId, now + TOMBSTONE_MS);
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
