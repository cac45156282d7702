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
 *
 * In three layers: `engine-base.ts` (each operation's frame, and serving the line),
 * `engine-waiting.ts` (arriving, waiting, coming back, leaving), and here holding and administration.
 */

import { WaitingEngine } from "./engine-waiting";
import { createLimit, deleteLimit, type LimitCreate, type LimitSettings, updateLimit } from "./settings";
import type { LimitConfig } from "./state";
import { decrement, leaseNamed, release, renew } from "./tickets";
import { leaseInfos, limitRecord, minimalLimit, waiterInfos } from "./views";

export type { AcquireCall, AcquireOutcome, CheckOutcome, CommitOutcome, Refusal } from "./outcomes";
export { PENDING_MARGIN_MS, UNDO_MARGIN_MS } from "./tickets";
export type { EngineHost, SocketWaits } from "./engine-base";
export type { SocketArrival } from "./engine-waiting";

export type CreateOutcome = { status: "created" | "exists"; record: LimitRecordOf; generation: number };
type LimitRecordOf = NonNullable<ReturnType<typeof limitRecord>>;

export class LimitEngine extends WaitingEngine {
  // ── Holding ──

  async release(leaseId: string): Promise<boolean> {
    const now = this.begin();
    const lease = leaseNamed(this.state, leaseId);
    const released = release(this.state, leaseId, now);
    if (released && lease) {
      this.host.observer?.released(lease.slots, now - lease.acquiredAt, lease.id, now);
    }
    return this.finish(released);
  }

  async renew(leaseId: string, leaseMs: number): Promise<boolean> {
    const now = this.begin();
    return this.finish(renew(this.state, leaseId, now + leaseMs));
  }

  async decrement(slots: number, occupancySeconds: number | undefined) {
    const now = this.begin();
    decrement(this.state, { slots, occupancySeconds }, now);
    return this.finish(this.state.config ? minimalLimit(this.state.config) : null);
  }

  // ── Administration ──

  /** Creates the limit, unless one of this name exists: then says which. */
  async create(input: LimitCreate): Promise<CreateOutcome> {
    const now = this.begin();
    const created = this.state.config === null;
    if (created) {
      createLimit(this.state, input, now);
      this.host.observer?.lifecycle("created", now);
    }
    const config = this.state.config as LimitConfig;
    const record = limitRecord(this.state, now) as LimitRecordOf;
    return this.finish({ status: created ? "created" : "exists", record, generation: config.generation });
  }

  async describe() {
    const now = this.begin();
    return this.finish(limitRecord(this.state, now));
  }

  /** Applies a PATCH; false when no limit of this name exists. */
  async update(patch: Partial<LimitSettings>): Promise<boolean> {
    const now = this.begin();
    if (!this.state.config) {
      return this.finish(false);
    }
    updateLimit(this.state, patch, now);
    this.host.observer?.lifecycle("updated", now);
    return this.finish(true);
  }

  /** Deletes the limit, revoking its leases; says which limit was deleted, or null. */
  async remove(): Promise<{ id: string; generation: number } | null> {
    const now = this.begin();
    const config = this.state.config;
    if (config === null) {
      return this.finish(null);
    }
    this.host.observer?.lifecycle("deleted", now);
    deleteLimit(this.state, now);
    return this.finish({ id: config.id, generation: config.generation ?? 0 });
  }

  async leases() {
    this.begin();
    const state = this.state;
    const listing = state.config
      ? { leases: leaseInfos(state), waiting: state.queue.length, waiters: waiterInfos(state) }
      : null;
    return this.finish(listing);
  }
}
