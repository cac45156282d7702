/**
 * SQLite persistence of one limit's state: one counters row, one row per ticket and one per
 * tombstone. Tables are created on the first write, so probing an unknown name leaves no storage
 * behind. Used only by `limit-object.ts`.
 */

import { pushDue } from "../core/due";
import { ticketIdOf } from "../core/lease-id";
import { createState, type LimitConfig, type LimitState, putTicket, type Ticket } from "../core/state";

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
  CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY,
    request_id TEXT,
    kind TEXT NOT NULL,
    lease_id TEXT,
    slots INTEGER NOT NULL,
    counted INTEGER NOT NULL,
    bucketed REAL NOT NULL,
    holder TEXT,
    acquired_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    fencing_token INTEGER NOT NULL,
    line TEXT,
    offer_until INTEGER
  );
  CREATE TABLE IF NOT EXISTS tombstones (request_id TEXT PRIMARY KEY, until INTEGER NOT NULL);`;

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

type TicketRow = {
  id: string;
  request_id: string | null;
  kind: string;
  lease_id: string | null;
  slots: number;
  counted: number;
  bucketed: number;
  holder: string | null;
  acquired_at: number;
  expires_at: number;
  pending: number;
  fencing_token: number;
  line: string | null;
  offer_until: number | null;
};

/** A row of the first version's `leases` table (leases and reservations, no request ids). */
type LegacyLeaseRow = {
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
    const tables = new Set(
      sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .toArray()
        .map((row) => row.name),
    );
    this.#schemaReady = tables.has("tickets");
    if (!tables.has("limit_state")) {
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
    if (tables.has("tickets")) {
      for (const ticket of sql.exec<TicketRow>("SELECT * FROM tickets")) {
        putTicket(state, fromRow(ticket));
      }
      for (const tomb of sql.exec<{ request_id: string; until: number }>("SELECT * FROM tombstones")) {
        state.tombstones.set(tomb.request_id, tomb.until);
        pushDue(state.lazy, { at: tomb.until, key: `r${tomb.request_id}` });
      }
    }
    if (tables.has("leases")) {
      // The first version's rows: kept as tickets, written out by the next persist.
      for (const lease of sql.exec<LegacyLeaseRow>("SELECT * FROM leases")) {
        putTicket(state, fromLegacyRow(lease));
      }
    }
    state.dirty.tickets.clear();
    if (tables.has("leases")) {
      for (const id of state.tickets.keys()) {
        state.dirty.tickets.add(id);
      }
    }
    return state;
  }

  /** Writes what `state.dirty` names, in one transaction, and clears it. */
  persist(state: LimitState, alsoWrite?: () => void): void {
    const { dirty } = state;
    if (!dirty.counters && dirty.tickets.size === 0 && dirty.tombstones.size === 0 && alsoWrite === undefined) {
      return;
    }
    const sql = this.#storage.sql;
    this.#storage.transactionSync(() => {
      alsoWrite?.(); // History rows, in the same transaction.
      if (!this.#schemaReady) {
        sql.exec(SCHEMA);
        sql.exec("DROP TABLE IF EXISTS leases");
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
      for (const id of dirty.tickets) {
        const ticket = state.tickets.get(id);
        if (ticket) {
          sql.exec(
            `INSERT OR REPLACE INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            ticket.id,
            ticket.requestId,
            ticket.kind,
            ticket.leaseId,
            ticket.slots,
            ticket.counted,
            ticket.bucketed,
            ticket.holder ? JSON.stringify(ticket.holder) : null,
            ticket.acquiredAt,
            ticket.expiresAt,
            ticket.pending ? 1 : 0,
            ticket.fencingToken,
            ticket.line ? JSON.stringify(ticket.line) : null,
            ticket.offerUntil,
          );
        } else {
          sql.exec("DELETE FROM tickets WHERE id = ?", id);
        }
      }
      for (const requestId of dirty.tombstones) {
        const until = state.tombstones.get(requestId);
        if (until === undefined) {
          sql.exec("DELETE FROM tombstones WHERE request_id = ?", requestId);
        } else {
          sql.exec("INSERT OR REPLACE INTO tombstones VALUES (?, ?)", requestId, until);
        }
      }
    });
    dirty.counters = false;
    dirty.tickets.clear();
    dirty.tombstones.clear();
  }
}

function fromRow(row: TicketRow): Ticket {
  return {
    id: row.id,
    requestId: row.request_id,
    kind: row.kind === "increment" ? "increment" : "lease",
    leaseId: row.lease_id,
    slots: row.slots,
    counted: row.counted,
    bucketed: row.bucketed,
    holder: row.holder ? (JSON.parse(row.holder) as Ticket["holder"]) : null,
    acquiredAt: row.acquired_at,
    expiresAt: row.expires_at,
    pending: row.pending === 1,
    fencingToken: row.fencing_token,
    line: row.line ? (JSON.parse(row.line) as Ticket["line"]) : null,
    offerUntil: row.offer_until,
  };
}

function fromLegacyRow(row: LegacyLeaseRow): Ticket {
  const pending = row.pending !== null;
  return {
    id: pending ? row.id : ticketIdOf(row.id),
    requestId: null,
    kind: row.pending === "increment" ? "increment" : "lease",
    leaseId: pending ? null : row.id,
    slots: row.slots,
    counted: row.counted,
    bucketed: 0,
    holder: row.holder ? (JSON.parse(row.holder) as Ticket["holder"]) : null,
    acquiredAt: row.acquired_at,
    expiresAt: row.expires_at,
    pending,
    fencingToken: row.fencing_token,
    line: null,
    offerUntil: null,
  };
}
