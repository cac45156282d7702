/**
 * `LimitObject`: one Durable Object per limit name (`env.LIMITS.getByName(name)`). A thin adapter:
 * read the clock once, run the pure core in `../core`, persist what changed, keep one alarm at
 * the earliest lease expiry. Expected outcomes are returned as values, never thrown, because
 * Workers RPC drops the fields of thrown errors.
 *
 * Waiting (DESIGN §3.6): a request that may wait joins the object's FIFO queue and its call stays
 * open. Every change that can free capacity (release, expiry, decrement, settings, delete, and a
 * timer at the exact moment decay has made room) hands slots to the head of the line at once: a
 * single-name waiter gets its lease or slots, a multi-name one its reservation. A request whose
 * client went away is withdrawn with `cancel(nonce)`, grant included.
 */

import { DurableObject } from "cloudflare:workers";
import {
  belongsTo,
  checkAdmission,
  commitReservation,
  createLimit,
  decrement,
  deleteLimit,
  dequeue,
  earliestExpiry,
  enqueue,
  expire,
  headFitsAt,
  grantIncrement,
  heldSlots,
  grantLease,
  type LimitSettings,
  readyHead,
  refuse,
  release,
  renew,
  reserve,
  updateLimit,
  withdraw,
} from "../core/limit";
import type { Holder, LimitConfig, LimitState, ReservationKind } from "../core/state";
import { leaseInfos, limitRecord, minimalLimit } from "../core/views";
import type { AcquireMode, LimitLeases, LimitRecord, MinimalLimit } from "../protocol/types";
import type { HistoryResolution, LimitHistory } from "../protocol/observe";
import { EventOutbox, sinksOf } from "../events/outbox"; // observe(#14)
import { HistoryStore, historyView, type LimitMetrics, metricsView } from "./history-store"; // observe(#14)
import { LimitStore } from "./limit-store";

/** One acquisition on this limit, as the Worker asks for it. */
export interface AcquireCall {
  /** `lease` grants a lease row with id `id`; `increment` grants anonymous or rate slots. */
  kind: ReservationKind;
  id: string;
  slots: number;
  mode: AcquireMode;
  /** Lease length in milliseconds (kind `lease`). */
  leaseMs: number;
  holder: Holder | null;
}

export type AcquireOutcome =
  | { status: "granted"; limit: MinimalLimit; fencingToken: number | null; expiresAt: number | null }
  | { status: "reserved"; limit: MinimalLimit }
  | { status: "missing" }
  | { status: "invalid"; code: "slots_exceed_limit" | "rate_limit_without_decay" | "request_id_in_use" }
  | { status: "locked"; retryAfterSeconds: number };

interface PendingWaiter {
  /** Grants the waiter what it asked for (after `readyHead` said it fits). */
  grant(now: number): AcquireOutcome;
  resolve(outcome: AcquireOutcome): void;
  timer: ReturnType<typeof setTimeout>;
}

export type CommitOutcome =
  | { status: "granted"; fencingToken: number | null; expiresAt: number | null }
  | { status: "gone" };

export class LimitObject extends DurableObject<Env> {
  /** The clock. Tests replace it (through `runInDurableObject`) to drive decay and expiry. */
  now: () => number = () => Date.now();
  random: () => number = Math.random;

  readonly #store: LimitStore;
  readonly #history: HistoryStore; // observe(#14)
  /** observe(#14): Prefect events to the sinks in wrangler.toml (public so tests can fake sinks). */
  readonly events: EventOutbox;
  #state: LimitState;
  #alarmAt: number | null = null;
  readonly #waiters = new Map<string, PendingWaiter>();
  #decayTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new LimitStore(ctx.storage);
    this.#history = new HistoryStore(ctx.storage); // observe(#14)
    this.#history.flushSoon = () => this.#flushHistorySoon(); // observe(#14)
    this.events = new EventOutbox(sinksOf(env), (promise) => ctx.waitUntil(promise)); // observe(#14)
    this.#state = this.#store.load();
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ── Acquisition ──

  /**
   * Admission and grant in one call: the hot path of a single-name request. With `waitMs`, a
   * request that cannot be admitted waits in line and is granted when its turn comes.
   */
  async acquire(call: AcquireCall, waitMs = 0): Promise<AcquireOutcome> {
    return this.#admitOrWait(call, waitMs, (now) => this.#grant(call, now));
  }

  /**
   * First phase of a multi-name request: hold the slots as a reservation until `pendingUntil`,
   * waiting in line up to `waitMs` for them.
   */
  async reserve(call: AcquireCall & { pendingUntil: number }, waitMs = 0): Promise<AcquireOutcome> {
    return this.#admitOrWait(call, waitMs, (now) => this.#reserve(call, call.pendingUntil, now));
  }

  #grant(call: AcquireCall, now: number): AcquireOutcome {
    const state = this.#state;
    const limit = minimalLimit(state.config as LimitConfig);
    if (call.kind === "increment") {
      grantIncrement(state, call.slots, now);
      return { status: "granted", limit, fencingToken: null, expiresAt: null };
    }
    const lease = grantLease(
      state,
      { id: call.id, slots: call.slots, holder: call.holder, expiresAt: now + call.leaseMs },
      now,
    );
    return { status: "granted", limit, fencingToken: lease.fencingToken, expiresAt: lease.expiresAt };
  }

  #reserve(call: AcquireCall, pendingUntil: number, now: number): AcquireOutcome {
    reserve(this.#state, { ...call, pendingUntil }, now);
    return { status: "reserved", limit: minimalLimit(this.#state.config as LimitConfig) };
  }

  /** Grants the call now, or queues it for up to `waitMs` and grants it when its turn comes. */
  async #admitOrWait(call: AcquireCall, waitMs: number, grantNow: (now: number) => AcquireOutcome): Promise<AcquireOutcome> {
    const now = this.now();
    // observe(#14): every grant, at once or after waiting since `now`, is recorded with its wait.
    const grant = (at: number): AcquireOutcome => {
      this.#history.record.granted(call.slots, at - now, at);
      this.events.acquired(this.#state.config, call.slots, call.id, at);
      return grantNow(at);
    };
    const state = this.#state;
    if (state.leases.has(call.id) || this.#waiters.has(call.id)) {
      // A client-chosen request_id used twice: granting again would overwrite the first grant.
      return this.#finish({ status: "invalid", code: "request_id_in_use" });
    }
    const admission = checkAdmission(state, call, now, "arrival");
    if (admission.status === "ok" || admission.status === "inactive") {
      return this.#finish(grant(now));
    }
    if (admission.status !== "full") {
      return this.#finish(admission);
    }
    if (waitMs <= 0) {
      this.#history.record.refused(now); // observe(#14)
      return this.#finish(refuse(state, call.slots, now, this.random));
    }
    const outcome = new Promise<AcquireOutcome>((resolve) => {
      enqueue(state, { id: call.id, slots: call.slots, mode: call.mode });
      this.#waiters.set(call.id, {
        grant,
        resolve,
        timer: setTimeout(() => void this.#timeOut(call.id, call.slots), waitMs),
      });
    });
    await this.#finish(undefined);
    return outcome;
  }

  /** A waiter's deadline: out of line, refused with a Retry-After that counts who is still ahead. */
  async #timeOut(id: string, slots: number): Promise<void> {
    const waiter = this.#takeOutOfLine(id);
    if (!waiter) {
      return;
    }
    this.#history.record.refused(this.now(), true); // observe(#14)
    waiter.resolve(refuse(this.#state, slots, this.now(), this.random));
    // The head may have been what held the others back.
    await this.#finish(undefined);
  }

  /** Second phase: turn reservation `id` into its grant, a lease keyed `leaseId` for leases. */
  async commit(id: string, leaseMs: number, leaseId: string): Promise<CommitOutcome> {
    const now = this.now();
    const granted = commitReservation(this.#state, id, { id: leaseId, expiresAt: now + leaseMs }, now);
    if (granted === null) {
      return this.#finish({ status: "gone" });
    }
    return this.#finish(
      granted === "increment"
        ? { status: "granted", fencingToken: null, expiresAt: null }
        : { status: "granted", fencingToken: granted.fencingToken, expiresAt: granted.expiresAt },
    );
  }

  /**
   * Gives back everything of request `nonce` here: its place in line, its reservation, or the
   * lease it was granted. Called when a request is refused elsewhere, or abandoned by its client.
   */
  async cancel(nonce: string): Promise<void> {
    let withdrawn = withdraw(this.#state, nonce, this.now());
    for (const { id } of [...this.#state.queue]) {
      if (belongsTo(id, nonce)) {
        this.#takeOutOfLine(id)?.resolve({ status: "locked", retryAfterSeconds: 0 });
        withdrawn = true;
      }
    }
    if (withdrawn) {
      this.#history.record.cancelled(this.now()); // observe(#14)
    }
    return this.#finish(undefined);
  }

  // ── Holding ──

  async release(leaseId: string): Promise<boolean> {
    const now = this.now();
    const lease = this.#state.leases.get(leaseId); // observe(#14)
    const released = release(this.#state, leaseId, now);
    if (released && lease) {
      this.#history.record.released(now - lease.acquiredAt, now); // observe(#14): hold time
      this.events.released(this.#state.config, lease.slots, leaseId, now); // observe(#14)
    }
    return this.#finish(released);
  }

  async renew(leaseId: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    return this.#finish(renew(this.#state, leaseId, now + leaseMs, now));
  }

  async decrement(slots: number, occupancySeconds: number | undefined): Promise<MinimalLimit | null> {
    const state = this.#state;
    decrement(state, { slots, occupancySeconds }, this.now());
    return this.#finish(state.config ? minimalLimit(state.config) : null);
  }

  // ── Administration ──

  /** Creates the limit; false when one of this name exists already. */
  async create(input: { id: string; name: string } & LimitSettings): Promise<LimitRecord | null> {
    const now = this.now();
    const state = this.#state;
    if (state.config) {
      return null;
    }
    createLimit(state, input, now);
    this.events.lifecycle("created", state.config, now); // observe(#14)
    return this.#finish(limitRecord(state, now));
  }

  async describe(): Promise<LimitRecord | null> {
    return this.#finish(limitRecord(this.#state, this.now()));
  }

  /** Applies a PATCH; false when no limit of this name exists. */
  async update(patch: Partial<LimitSettings>): Promise<boolean> {
    if (!this.#state.config) {
      return false;
    }
    updateLimit(this.#state, patch, this.now());
    this.events.lifecycle("updated", this.#state.config, this.now()); // observe(#14)
    return this.#finish(true);
  }

  /** Deletes the limit, revoking its leases; returns the deleted limit's id, or null. */
  async remove(): Promise<string | null> {
    const id = this.#state.config?.id ?? null;
    if (id !== null) {
      this.events.lifecycle("deleted", this.#state.config, this.now()); // observe(#14)
      deleteLimit(this.#state);
      this.#history.clear(); // observe(#14)
    }
    return this.#finish(id);
  }

  async leases(): Promise<LimitLeases | null> {
    const state = this.#state;
    const leases = state.config ? { leases: leaseInfos(state, this.now()), waiting: state.queue.length } : null;
    return this.#finish(leases);
  }

  // ── observe(#14): history and metrics reads ──

  #historyTimer: ReturnType<typeof setTimeout> | null = null;

  /** Writes held-back history in a second if no call does it first (off the hot path). */
  #flushHistorySoon(): void {
    this.#historyTimer ??= setTimeout(() => {
      this.#historyTimer = null;
      this.#history.forceNext();
      void this.#finish(undefined);
    }, 1_000);
  }

  async history(resolution: HistoryResolution): Promise<LimitHistory | null> {
    this.#history.forceNext();
    await this.#finish(undefined);
    const config = this.#state.config;
    return config ? historyView(this.#history, config.name, resolution, this.now()) : null;
  }

  /** Everything `GET /metrics` shows of this limit, in one call; `peaks` adds the last hour's per minute. */
  async metrics(peaks = false): Promise<LimitMetrics | null> {
    this.#history.forceNext();
    const record = await this.describe();
    return record ? metricsView(this.#history, record, this.#state.queue.length, peaks, this.now()) : null;
  }

  // ── Expiry ──

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    expire(this.#state, this.now());
    await this.#finish(undefined);
  }

  /** Removes waiter `id` from the line and stops its deadline; the caller answers it. */
  #takeOutOfLine(id: string): PendingWaiter | undefined {
    dequeue(this.#state, id);
    const waiter = this.#waiters.get(id);
    this.#waiters.delete(id);
    if (waiter) {
      clearTimeout(waiter.timer);
    }
    return waiter;
  }

  /**
   * Hands slots to waiters at the head of the line while they fit, then sets the decay timer
   * for the moment the next one will.
   */
  #serveQueue(): void {
    const state = this.#state;
    if (state.queue.length === 0) {
      return;
    }
    const now = this.now();
    for (let head = readyHead(state, now); head !== null; head = readyHead(state, now)) {
      const waiter = this.#takeOutOfLine(head.waiter.id);
      const { decision } = head;
      waiter?.resolve(decision.status === "ok" || decision.status === "inactive" ? waiter.grant(now) : decision);
    }
    if (this.#decayTimer !== null) {
      clearTimeout(this.#decayTimer);
      this.#decayTimer = null;
    }
    const fitsAt = headFitsAt(state, now);
    if (fitsAt !== null) {
      this.#decayTimer = setTimeout(() => {
        this.#decayTimer = null;
        void this.#finish(undefined);
      }, fitsAt - now);
    }
  }

  /**
   * Serves the queue, persists what changed, and keeps the alarm at the earliest expiry. Every
   * operation ends here.
   */
  async #finish<T>(result: T): Promise<T> {
    const state = this.#state;
    this.#serveQueue();
    // Reads expire dead rows too; their deletion is persisted like any other change.
    // observe(#14): history rows are written in the same transaction.
    const now = this.now();
    const levels = { active: heldSlots(state, now), waiting: state.queue.length, limit: state.config?.limit ?? 0 };
    this.#history.record.expired(state.expiredLeases, now);
    state.expiredLeases = 0;
    this.#store.persist(state, this.#history.pendingWrite(levels, now));
    this.events.flush(); // observe(#14): after the write, never awaited
    const wanted = this.#alarmAt === null ? earliestExpiry(state) : state.nextExpiryAt;
    if (wanted !== null && Number.isFinite(wanted) && (this.#alarmAt === null || wanted + 1 < this.#alarmAt)) {
      // A row is dead only once `now > expiresAt`, so the alarm fires one millisecond after.
      this.#alarmAt = wanted + 1;
      await this.ctx.storage.setAlarm(this.#alarmAt);
    }
    return result;
  }
}
