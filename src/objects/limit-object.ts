/**
 * `LimitObject`: one Durable Object per limit name (`env.LIMITS.getByName(name)`). A thin adapter:
 * read the clock once, run the pure core in `../core`, persist what changed, keep one alarm at
 * the earliest lease expiry. Expected outcomes are returned as values, never thrown, because
 * Workers RPC drops the fields of thrown errors.
 */

import { DurableObject } from "cloudflare:workers";
import {
  type AcquireMode,
  admit,
  cancelReservation,
  commitReservation,
  createLimit,
  decrement,
  deleteLimit,
  earliestExpiry,
  expire,
  grantIncrement,
  grantLease,
  type LimitSettings,
  release,
  renew,
  reserve,
  updateLimit,
} from "../core/limit";
import type { Holder, LimitConfig, LimitState, ReservationKind } from "../core/state";
import { leaseInfos, limitRecord, minimalLimit } from "../core/views";
import type { LimitLeases, LimitRecord, MinimalLimit } from "../protocol/types";
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
  | { status: "invalid"; code: "slots_exceed_limit" | "rate_limit_without_decay" }
  | { status: "locked"; retryAfterSeconds: number };

export type CommitOutcome =
  | { status: "granted"; fencingToken: number | null; expiresAt: number | null }
  | { status: "gone" };

export class LimitObject extends DurableObject<Env> {
  /** The clock. Tests replace it (through `runInDurableObject`) to drive decay and expiry. */
  now: () => number = () => Date.now();
  random: () => number = Math.random;

  readonly #store: LimitStore;
  #state: LimitState;
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new LimitStore(ctx.storage);
    this.#state = this.#store.load();
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ── Acquisition ──

  /** Admission and grant in one call: the hot path of a single-name request. */
  async acquire(call: AcquireCall): Promise<AcquireOutcome> {
    const now = this.now();
    const state = this.#state;
    const admission = admit(state, call, now, this.random);
    if (admission.status !== "ok" && admission.status !== "inactive") {
      return this.#finish(admission);
    }
    const config = state.config as LimitConfig;
    if (call.kind === "increment") {
      grantIncrement(state, call.slots, now);
      return this.#finish({ status: "granted", limit: minimalLimit(config), fencingToken: null, expiresAt: null });
    }
    const lease = grantLease(
      state,
      { id: call.id, slots: call.slots, holder: call.holder, expiresAt: now + call.leaseMs },
      now,
    );
    return this.#finish({
      status: "granted",
      limit: minimalLimit(config),
      fencingToken: lease.fencingToken,
      expiresAt: lease.expiresAt,
    });
  }

  /** First phase of a multi-name request: hold the slots as a reservation until `pendingUntil`. */
  async reserve(call: AcquireCall & { pendingUntil: number }): Promise<AcquireOutcome> {
    const now = this.now();
    const state = this.#state;
    const admission = admit(state, call, now, this.random);
    if (admission.status !== "ok" && admission.status !== "inactive") {
      return this.#finish(admission);
    }
    reserve(state, { ...call, pendingUntil: call.pendingUntil }, now);
    return this.#finish({ status: "reserved", limit: minimalLimit(state.config as LimitConfig) });
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

  /** Undo a reservation (another name of the request was refused). */
  async cancel(id: string): Promise<void> {
    cancelReservation(this.#state, id);
    return this.#finish(undefined);
  }

  // ── Holding ──

  async release(leaseId: string): Promise<boolean> {
    return this.#finish(release(this.#state, leaseId, this.now()));
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
    return this.#finish(true);
  }

  /** Deletes the limit, revoking its leases; returns the deleted limit's id, or null. */
  async remove(): Promise<string | null> {
    const id = this.#state.config?.id ?? null;
    if (id !== null) {
      deleteLimit(this.#state);
    }
    return this.#finish(id);
  }

  async leases(): Promise<LimitLeases | null> {
    const state = this.#state;
    const leases = state.config ? { leases: leaseInfos(state, this.now()), waiting: 0 } : null;
    return this.#finish(leases);
  }

  // ── Expiry ──

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    expire(this.#state, this.now());
    await this.#finish(undefined);
  }

  /** Persists what the operation changed and keeps the alarm at the earliest expiry. */
  async #finish<T>(result: T): Promise<T> {
    const state = this.#state;
    // Reads expire dead rows too; their deletion is persisted like any other change.
    this.#store.persist(state);
    const wanted = this.#alarmAt === null ? earliestExpiry(state) : state.nextExpiryAt;
    if (wanted !== null && Number.isFinite(wanted) && (this.#alarmAt === null || wanted < this.#alarmAt)) {
      // A row is dead only once `now > expiresAt`, so the alarm fires one millisecond after.
      this.#alarmAt = wanted + 1;
      await this.ctx.storage.setAlarm(this.#alarmAt);
    }
    return result;
  }
}
