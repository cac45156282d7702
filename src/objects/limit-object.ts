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
import { nextDueAt } from "../core/tickets";
import { MAX_WAITERS } from "../protocol/constants";
import type { LimitLeases, LimitRecord, MinimalLimit } from "../protocol/types";
import { LimitStore } from "./limit-store";

export type { AcquireCall, AcquireOutcome, CheckOutcome, CommitOutcome, CreateOutcome } from "../core/engine";

export class LimitObject extends DurableObject<Env> {
  /** The clock. Tests replace it (through `runInDurableObject`) to drive decay and expiry. */
  now: () => number = () => Date.now();
  random: () => number = Math.random;

  readonly #store: LimitStore;
  readonly #engine: LimitEngine;
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new LimitStore(ctx.storage);
    this.#engine = new LimitEngine(
      this.#store.load(),
      {
        now: () => this.now(),
        random: () => this.random(),
        setTimer: (callback, ms) => setTimeout(callback, ms),
        clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
        save: (state) => this.#save(state),
      },
      MAX_WAITERS,
    );
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

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    await this.#engine.tick();
  }

  /** Persists what changed, and keeps the alarm at the next moment something is due. */
  async #save(state: LimitState): Promise<void> {
    this.#store.persist(state);
    const wanted = nextDueAt(state);
    if (wanted !== null && (this.#alarmAt === null || wanted + 1 < this.#alarmAt)) {
      // A row is due only once `now > at`, so the alarm fires one millisecond after.
      this.#alarmAt = wanted + 1;
      await this.ctx.storage.setAlarm(this.#alarmAt);
    }
  }
}
