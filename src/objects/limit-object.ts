/**
 * `LimitObject`: one Durable Object per limit name (`env.LIMITS.getByName(name)`). A thin host of
 * `core/engine.ts`: it gives the engine the clock, timers and `save`, which writes what changed to
 * SQLite in one transaction and keeps one alarm at the next moment something falls due. Every RPC
 * method is the engine's (see there for what each does).
 */

import { DurableObject } from "cloudflare:workers";
import {
  type AcquireCall,
  type AcquireOutcome,
  type CheckOutcome,
  type CommitOutcome,
  type CreateOutcome,
  LimitEngine,
} from "../core/engine";
import type { LimitCreate, LimitSettings } from "../core/settings";
import type { LimitState } from "../core/state";
import { heldSlots } from "../core/decay";
import { EventOutbox, sinksOf } from "../events/outbox";
import type { HistoryResolution, LimitHistory } from "../protocol/observe";
import { HistoryStore, historyView, type LimitMetrics, metricsView } from "./history-store";
import { nextDueAt } from "../core/tickets";
import { MAX_WAITERS } from "../protocol/constants";
import type { LimitLeases, LimitRecord, MinimalLimit } from "../protocol/types";
import { LimitStore } from "./limit-store";
import { WaitingSockets } from "./waiting-sockets";

export type { AcquireCall, AcquireOutcome, CheckOutcome, CommitOutcome, CreateOutcome } from "../core/engine";

export class LimitObject extends DurableObject<Env> {
  /** The clock. Tests replace it (through `runInDurableObject`) to drive decay and expiry. */
  now: () => number = () => Date.now();
  random: () => number = Math.random;

  readonly #store: LimitStore;
  readonly #engine: LimitEngine;
  #alarmAt: number | null = null;
  readonly #history: HistoryStore;
  readonly #sockets: WaitingSockets;
  /** Prefect events to the sinks in wrangler.toml (public so tests can fake sinks). */
  readonly events: EventOutbox;
  #historyTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new LimitStore(ctx.storage);
    this.#history = new HistoryStore(ctx.storage);
    this.#history.flushSoon = () => this.#flushHistorySoon();
    this.events = new EventOutbox(sinksOf(env), (promise) => ctx.waitUntil(promise));
    this.#sockets = new WaitingSockets(ctx, () => this.now());
    this.#engine = new LimitEngine(
      this.#store.load(),
      {
        now: () => this.now(),
        random: () => this.random(),
        setTimer: (callback, ms) => setTimeout(callback, ms),
        clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
        save: (state) => this.#save(state),
        observer: this.#observer(),
        sockets: this.#sockets,
      },
      MAX_WAITERS,
    );
    this.#sockets.engine = this.#engine;
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Test hook: the engine's state. */
  get state(): LimitState {
    return this.#engine.state;
  }

  /** Test hook: the most requests that may wait in line. */
  set maxWaiters(value: number) {
    this.#engine.maxWaiters = value;
  }

  acquire(call: AcquireCall): Promise<AcquireOutcome> {
    return this.#engine.acquire(call);
  }

  check(call: AcquireCall): Promise<CheckOutcome> {
    return this.#engine.check(call);
  }

  reserve(call: AcquireCall): Promise<AcquireOutcome> {
    return this.#engine.reserve(call);
  }

  commit(ticket: string, grantTo: { leaseId: string | null; leaseMs: number; undoMs: number }): Promise<CommitOutcome> {
    return this.#engine.commit(ticket, grantTo);
  }

  withdraw(ticket: string): Promise<boolean> {
    return this.#engine.withdraw(ticket);
  }

  leave(ticket: string): Promise<void> {
    return this.#engine.leave(ticket);
  }

  cancel(requestId: string): Promise<boolean> {
    return this.#engine.cancel(requestId);
  }

  release(leaseId: string): Promise<boolean> {
    return this.#engine.release(leaseId);
  }

  renew(leaseId: string, leaseMs: number): Promise<boolean> {
    return this.#engine.renew(leaseId, leaseMs);
  }

  decrement(slots: number, occupancySeconds: number | undefined): Promise<MinimalLimit | null> {
    return this.#engine.decrement(slots, occupancySeconds);
  }

  create(input: LimitCreate): Promise<CreateOutcome> {
    return this.#engine.create(input);
  }

  describe(): Promise<LimitRecord | null> {
    return this.#engine.describe();
  }

  update(patch: Partial<LimitSettings>): Promise<boolean> {
    return this.#engine.update(patch);
  }

  remove(): Promise<{ id: string; generation: number } | null> {
    return this.#engine.remove();
  }

  leases(): Promise<LimitLeases | null> {
    return this.#engine.leases();
  }

  // ── waiting sockets (hibernatable; see waiting-sockets.ts) ──

  /** The upgrade of `GET …/{name}/wait`, forwarded by the Worker after auth. */
  override async fetch(request: Request): Promise<Response> {
    return this.#sockets.accept(request);
  }

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.#sockets.message(socket, message);
  }

  override async webSocketClose(socket: WebSocket): Promise<void> {
    await this.#sockets.closed(socket);
  }

  override async webSocketError(socket: WebSocket): Promise<void> {
    await this.#sockets.closed(socket);
  }

  // ── history, metrics and events ──

  async history(resolution: HistoryResolution): Promise<LimitHistory | null> {
    this.#history.forceNext();
    const record = await this.#engine.describe();
    return record ? historyView(this.#history, record.name, resolution, this.now()) : null;
  }

  /** Everything `GET /metrics` shows of this limit, in one call; `peaks` adds the last hour's per minute. */
  async metrics(peaks = false): Promise<LimitMetrics | null> {
    this.#history.forceNext();
    const record = await this.#engine.describe();
    return record ? metricsView(this.#history, record, this.#engine.state.queue.length, peaks, this.now()) : null;
  }

  /** What the engine reports goes to the history and, when a sink is bound, out as events. */
  #observer() {
    const config = () => this.#engine.state.config;
    const record = this.#history.record;
    const events = this.events;
    return {
      granted: (slots: number, waitMs: number, key: string, now: number) => {
        record.granted(slots, waitMs, now);
        events.acquired(config(), slots, key, now);
      },
      refused: (now: number, timedOut: boolean) => record.refused(now, timedOut),
      cancelled: (now: number) => record.cancelled(now),
      expired: (count: number, now: number) => record.expired(count, now),
      released: (slots: number, holdMs: number, key: string, now: number) => {
        record.released(holdMs, now);
        events.released(config(), slots, key, now);
      },
      lifecycle: (kind: "created" | "updated" | "deleted", now: number) => {
        events.lifecycle(kind, config(), now);
        if (kind === "deleted") {
          this.#history.clear();
        }
      },
    };
  }

  /** Writes held-back history in a second if no call does it first (off the hot path). */
  #flushHistorySoon(): void {
    this.#historyTimer ??= setTimeout(() => {
      this.#historyTimer = null;
      this.#history.forceNext();
      void this.#engine.tick();
    }, 1_000);
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    await this.#engine.tick();
  }

  /** Persists what changed, and keeps the alarm at the next moment something is due. */
  async #save(state: LimitState): Promise<void> {
    // History rows ride in the same transaction; events go out after it.
    const now = this.now();
    const levels = { active: heldSlots(state, now), waiting: state.queue.length, limit: state.config?.limit ?? 0 };
    this.#store.persist(state, this.#history.pendingWrite(levels, now));
    this.events.flush();
    const wanted = nextDueAt(state);
    if (wanted !== null && (this.#alarmAt === null || wanted + 1 < this.#alarmAt)) {
      // A row is due only once `now > at`, so the alarm fires one millisecond after.
      this.#alarmAt = wanted + 1;
      await this.ctx.storage.setAlarm(this.#alarmAt);
    }
  }
}
