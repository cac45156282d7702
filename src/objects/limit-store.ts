/**
 * SQLite persistence of one limit's state: one counters row and one row per lease or
 * reservation. Tables are created on the first write, so probing an unknown name leaves no
 * storage behind. Used only by `limit-object.ts`.
 */

import { createState, type Lease, type LimitConfig, type LimitState } from "../core/state";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS limit_state (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    config TEXT,
    anonymous_slots INTEGER NOT NULL,
    rate_slots REAL NOT NULL,
    rate_slots_at INTEGER NOT NULL,
    denied_slots REAL NOT NULL,
    denied_slots_at INTEGER NOT NULL,
    avg_slot_occupancy_seconds REAL NOT NULL,
    last_fencing_token INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS leases (
    id TEXT PRIMARY KEY,
    slots INTEGER NOT NULL,
    counted INTEGER NOT NULL,
    holder TEXT,
    acquired_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    pending TEXT,
    fencing_token INTEGER NOT NULL
  );`;

type CountersRow = {
  config: string | null;
  anonymous_slots: number;
  rate_slots: number;
  rate_slots_at: number;
  denied_slots: number;
  denied_slots_at: number;
  avg_slot_occupancy_seconds: number;
  last_fencing_token: number;
};

type LeaseRow = {
  id: string;
  slots: number;
  counted: number;
  holder: string | null;
  acquired_at: number;
  expires_at: number;
  pending: string | null;
  fencing_token: number;
};

export class LimitStore {
  readonly #storage: DurableObjectStorage;
  #schemaReady = false;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
  }

  load(): LimitState {
    const state = createState();
    const sql = this.#storage.sql;
    this.#schemaReady =
      sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'limit_state'").toArray().length > 0;
    if (!this.#schemaReady) {
      return state;
    }
    const row = sql.exec<CountersRow>("SELECT * FROM limit_state WHERE singleton = 1").toArray()[0];
    if (row) {
      state.config = row.config ? (JSON.parse(row.config) as LimitConfig) : null;
      state.anonymousSlots = row.anonymous_slots;
      state.rateSlots = row.rate_slots;
      state.rateSlotsAt = row.rate_slots_at;
      state.deniedSlots = row.denied_slots;
      state.deniedSlotsAt = row.denied_slots_at;
      state.avgSlotOccupancySeconds = row.avg_slot_occupancy_seconds;
      state.lastFencingToken = row.last_fencing_token;
    }
    for (const lease of sql.exec<LeaseRow>("SELECT * FROM leases")) {
      const restored: Lease = {
        id: lease.id,
        slots: lease.slots,
        counted: lease.counted,
        holder: lease.holder ? (JSON.parse(lease.holder) as Lease["holder"]) : null,
        acquiredAt: lease.acquired_at,
        expiresAt: lease.expires_at,
        pending: lease.pending === "lease" || lease.pending === "increment" ? lease.pending : null,
        fencingToken: lease.fencing_token,
      };
      state.leases.set(restored.id, restored);
      state.leasedSlots += restored.counted;
      state.nextExpiryAt = Math.min(state.nextExpiryAt, restored.expiresAt);
    }
    return state;
  }

  /**
   * Writes what `state.dirty` names, in one transaction, and clears it. `alsoWrite` (observe #14:
   * the history rows) runs inside the same transaction.
   */
  persist(state: LimitState, alsoWrite?: () => void): void {
    const { dirty } = state;
    if (!dirty.counters && dirty.leases.size === 0 && alsoWrite === undefined) {
      return;
    }
    const sql = this.#storage.sql;
    this.#storage.transactionSync(() => {
      alsoWrite?.(); // observe(#14)
      if (!this.#schemaReady) {
        sql.exec(SCHEMA);
        this.#schemaReady = true;
      }
      if (dirty.counters) {
        sql.exec(
          `INSERT OR REPLACE INTO limit_state VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)`,
          state.config ? JSON.stringify(state.config) : null,
          state.anonymousSlots,
          state.rateSlots,
          state.rateSlotsAt,
          state.deniedSlots,
          state.deniedSlotsAt,
          state.avgSlotOccupancySeconds,
          state.lastFencingToken,
        );
      }
      for (const id of dirty.leases) {
        const lease = state.leases.get(id);
        if (lease) {
          sql.exec(
            `INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            lease.id,
            lease.slots,
            lease.counted,
            lease.holder ? JSON.stringify(lease.holder) : null,
            lease.acquiredAt,
            lease.expiresAt,
            lease.pending,
            lease.fencingToken,
          );
        } else {
          sql.exec("DELETE FROM leases WHERE id = ?", id);
        }
      }
    });
    dirty.counters = false;
    dirty.leases.clear();
  }
}
