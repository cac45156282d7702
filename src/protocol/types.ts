/**
 * Wire types of the HTTP API (snake_case, Prefect's names), shared by the Worker, the client and
 * the CLI. Types only: the runtime schemas that validate requests live in `./schemas`.
 */

export type AcquireMode = "concurrency" | "rate_limit";

/** Who holds a lease. Free-form: Prefect's `{type: "task_run", id: <uuid>}` fits. */
export interface LeaseHolder {
  type: string;
  id: string;
}

/** A limit as every read returns it. */
export interface LimitRecord {
  id: string;
  name: string;
  limit: number;
  active: boolean;
  /** Live at read time: lease slots + anonymous slots + decayed rate slots, rounded up. */
  active_slots: number;
  denied_slots: number;
  slot_decay_per_second: number;
  avg_slot_occupancy_seconds: number;
  /** ISO 8601 timestamps. */
  created: string;
  updated: string;
  /** The Cloudflare region hint given on create, or null. */
  location_hint: string | null;
}

/** Cloudflare's location hints for where a limit's Durable Object is first placed. */
export type LocationHint = "wnam" | "enam" | "sam" | "weur" | "eeur" | "apac" | "oc" | "afr" | "me";

export interface CreateLimitBody {
  name: string;
  limit: number;
  active?: boolean;
  slot_decay_per_second?: number;
  active_slots?: number;
  denied_slots?: number;
  /** Where to place the limit's object first (Cloudflare's region hints). */
  location_hint?: LocationHint;
}

export type UpdateLimitBody = Partial<Omit<CreateLimitBody, "location_hint">> & {
  /** Limits cannot be renamed (one object per name): only the current name is accepted. */
  name?: string;
};

export interface FilterBody {
  limit?: number;
  offset?: number;
}

export interface IncrementBody {
  names: string[];
  slots: number;
  mode?: AcquireMode;
  /** Seconds to wait inside the limit objects for slots, 0–60. @default 0 */
  wait_seconds?: number;
  /**
   * An id of the client's choosing (1–64 of `A-Z a-z 0-9 - _`), so that `POST /cancel` can
   * withdraw the request while it waits, or the grant its client never received.
   */
  request_id?: string;
}

export interface CancelBody {
  names: string[];
  request_id: string;
}

export interface IncrementWithLeaseBody extends IncrementBody {
  /** @default 60 */
  lease_duration?: number;
  holder?: LeaseHolder;
}

export interface DecrementBody {
  names: string[];
  slots: number;
  occupancy_seconds?: number;
}

export interface RenewBody {
  lease_duration?: number;
}

/** A limit as increment and decrement answers list it. */
export interface MinimalLimit {
  id: string;
  name: string;
  limit: number;
}

export interface LeasedLimit extends MinimalLimit {
  /** Strictly increases with every grant on this limit. */
  fencing_token: number;
}

export interface LeaseGrant {
  /** Opaque: pass it back to renew or release, never parse it. */
  lease_id: string;
  limits: LeasedLimit[];
  /** Names that matched no limit (skipped, as in Prefect). */
  missing: string[];
  /** ISO 8601. */
  expires_at: string;
}

export interface LeaseInfo {
  lease_id: string;
  slots: number;
  holder: LeaseHolder | null;
  acquired_at: string;
  expires_at: string;
}

/** A request waiting in a limit's line. */
export interface WaiterInfo {
  /** 1 for the head of the line. */
  position: number;
  slots: number;
  mode: AcquireMode;
  holder: LeaseHolder | null;
  /** ISO 8601: when it joined the line. */
  waiting_since: string;
}

export interface LimitLeases {
  leases: LeaseInfo[];
  /** Requests queued for slots on this limit. */
  waiting: number;
  /** The same requests, head first. */
  waiters: WaiterInfo[];
}
