// The reference model of one limit for model.test.ts, written as plainly as possible: a list of
// tickets scanned in full (no heaps, no running sums), anonymous slots, a bucket that leaks
// linearly, and tombstones. Used only by test/core.

import { TOMBSTONE_MS } from "../../src/core/tickets";
import { T0 } from "./fixtures";

export interface ModelRow {
  kind: "lease" | "increment";
  requestId: string | null;
  leaseId: string | null;
  slots: number;
  /** Slots counted by the row itself (not via the bucket). */
  counted: number;
  /** Slots the row poured into the bucket. */
  bucketed: number;
  /** When the row was granted (or committed): when its bucketed slots went in. */
  acquiredAt: number;
  expiresAt: number;
  pending: boolean;
}

/** The bucket a withdrawal may leave: exactly what is known about the undo, as an interval. */
export interface Refund {
  /** Every slot the grant poured in taken back (clamped at empty). */
  low: number;
  /** Only the slots that cannot have leaked yet taken back: the bucket can be no fuller. */
  high: number;
}

export class Model {
  /** Rows in the order they were first stored (a commit keeps its reservation's place). */
  readonly rows = new Map<string, ModelRow>();
  readonly tombstones = new Map<string, number>();
  anonymous = 0;
  #bucket = 0;
  #bucketAt = T0;
  #decaySince = T0;

  constructor(
    readonly limit: number,
    public decay: number,
  ) {}

  bucket(now: number): number {
    return this.decay > 0 ? Math.max(0, this.#bucket - (this.decay * (now - this.#bucketAt)) / 1_000) : 0;
  }

  #rebase(now: number): void {
    this.#bucket = this.bucket(now);
    this.#bucketAt = now;
  }

  #end(id: string, now: number): void {
    const row = this.rows.get(id);
    this.rows.delete(id);
    if (row?.requestId) {
      const until = Math.max(this.tombstones.get(row.requestId) ?? 0, now + TOMBSTONE_MS);
      this.tombstones.set(row.requestId, until);
    }
  }

  /**
   * Ends the rows due at `now` (`now > expiresAt`): a lease dies, a reservation is dropped, an
   * increment folds its counted slots into the anonymous ones. Returns the leases that died.
   */
  expire(now: number): string[] {
    const died: string[] = [];
    for (const [id, row] of [...this.rows]) {
      if (now > row.expiresAt) {
        this.#end(id, now);
        if (!row.pending && row.kind === "increment") {
          this.anonymous += row.counted;
        } else if (!row.pending) {
          died.push(id);
        }
      }
    }
    return died;
  }

  requestIdTaken(requestId: string | null, now: number): boolean {
    if (requestId === null) {
      return false;
    }
    const live = [...this.rows.values()].some((row) => row.requestId === requestId);
    return live || now <= (this.tombstones.get(requestId) ?? Number.NEGATIVE_INFINITY);
  }

  counted(): number {
    let sum = 0;
    for (const row of this.rows.values()) {
      sum += row.counted;
    }
    return sum;
  }

  held(now: number): number {
    return this.counted() + this.anonymous + this.bucket(now);
  }

  /** Counted slots go into the bucket on a decaying limit. */
  #bucketIfDecaying(row: ModelRow, now: number): void {
    if (this.decay > 0 && row.counted > 0) {
      this.#rebase(now);
      this.#bucket += row.counted;
      row.bucketed = row.counted;
      row.counted = 0;
    }
  }

  grant(id: string, row: Omit<ModelRow, "counted" | "bucketed" | "pending" | "acquiredAt">, now: number): void {
    const stored: ModelRow = { ...row, counted: row.slots, bucketed: 0, pending: false, acquiredAt: now };
    this.#bucketIfDecaying(stored, now);
    this.rows.set(id, stored);
  }

  reserve(
    id: string,
    row: Omit<ModelRow, "counted" | "bucketed" | "pending" | "leaseId" | "acquiredAt">,
    now: number,
  ): void {
    this.rows.set(id, { ...row, leaseId: null, counted: row.slots, bucketed: 0, pending: true, acquiredAt: now });
  }

  commit(id: string, grantTo: { leaseId: string; expiresAt: number }, now: number): ModelRow | null {
    const row = this.rows.get(id);
    if (!row?.pending) {
      return null;
    }
    row.pending = false;
    row.leaseId = row.kind === "lease" ? grantTo.leaseId : null;
    row.expiresAt = grantTo.expiresAt;
    row.acquiredAt = now;
    this.#bucketIfDecaying(row, now);
    return row;
  }

  /** The live lease named `leaseId`: the ticket id is the part before the dot. */
  lease(leaseId: string): [string, ModelRow] | null {
    for (const [id, row] of this.rows) {
      if (row.kind === "lease" && !row.pending && row.leaseId === leaseId) {
        return [id, row];
      }
    }
    return null;
  }

  release(leaseId: string, now: number): boolean {
    const found = this.lease(leaseId);
    if (found) {
      this.#end(found[0], now);
    }
    return found !== null;
  }

  /**
   * Gives back what `id` took: its counted slots exactly. Its bucketed slots are refunded, but how
   * many is a choice: the bucket cannot tell which of its slots leaked, so an implementation may
   * take back any amount that leaves the bucket in `[low, high]`. Returns that interval (null
   * when nothing was held); the caller checks the core against it and `adoptBucket`s the core's.
   */
  withdraw(id: string, now: number): Refund | null {
    const row = this.rows.get(id);
    if (!row) {
      return null;
    }
    this.#end(id, now);
    this.#rebase(now);
    const bucket = this.#bucket;
    // Leaked since the grant, if the rate has not changed since (else: anything up to all of it).
    const leaked = this.#decaySince <= row.acquiredAt ? (this.decay * (now - row.acquiredAt)) / 1_000 : row.bucketed;
    return { low: Math.max(0, bucket - row.bucketed), high: bucket - Math.max(0, row.bucketed - leaked) };
  }

  adoptBucket(value: number, now: number): void {
    this.#bucket = value;
    this.#bucketAt = now;
  }

  /** Anonymous slots first, then live increments' counted slots, oldest first; never below 0. */
  decrement(slots: number): void {
    let left = slots;
    const fromAnonymous = Math.min(left, this.anonymous);
    this.anonymous -= fromAnonymous;
    left -= fromAnonymous;
    for (const row of this.rows.values()) {
      if (row.kind === "increment" && !row.pending && left > 0) {
        const freed = Math.min(left, row.counted);
        row.counted -= freed;
        left -= freed;
      }
    }
  }

  /** A PATCH of the decay rate: accrued leak kept; turned off, live leases count their slots again. */
  patchDecay(decay: number, now: number): void {
    this.#rebase(now);
    if (this.decay > 0 && decay <= 0) {
      this.#bucket = 0;
      for (const row of this.rows.values()) {
        // A held lease counts its slots again, in full (the model's limit is always active).
        if (row.kind === "lease" && !row.pending && row.counted === 0) {
          row.counted = row.slots;
        }
        row.bucketed = 0;
      }
    } else if (decay < this.decay) {
      // Slowing down: what leaked at the old rate can no longer be refunded.
      for (const row of this.rows.values()) {
        if (row.bucketed > 0) {
          row.bucketed = Math.max(0, row.bucketed - (this.decay * Math.max(0, now - row.acquiredAt)) / 1000);
        }
      }
    }
    if (decay !== this.decay) {
      this.#decaySince = now;
    }
    this.decay = decay;
  }
}
