/**
 * The in-memory model of one limit: its configuration, lease rows, anonymous slots, decaying rate
 * slots, denied-slot bookkeeping and occupancy average. Pure: no I/O, no clock (every time is an
 * argument, epoch milliseconds). Mutators mark what they touched in `dirty` so the Durable Object
 * can persist exactly that.
 */

import type { AcquireMode } from "../protocol/types";

/** Who holds a lease, as the client described it. */
export interface Holder {
  type: string;
  id: string;
}

/** A limit's settings, as created and patched through the API. */
export interface LimitConfig {
  id: string;
  name: string;
  limit: number;
  active: boolean;
  slotDecayPerSecond: number;
  createdAt: number;
  updatedAt: number;
}

/** What a pending reservation becomes when committed. */
export type ReservationKind = "lease" | "increment";

/** One row of slots held on this limit: a lease, or a reservation not yet committed. */
export interface Lease {
  /** The opaque lease id the client sees (or a reservation id). */
  id: string;
  /** Slots requested. */
  slots: number;
  /** Slots this row adds to occupancy: `slots`, or 0 when decay or inactivity accounts for them. */
  counted: number;
  holder: Holder | null;
  acquiredAt: number;
  /** The row is dead the instant `now > expiresAt`. */
  expiresAt: number;
  /** Set while the row is a reservation of a multi-name request, before its commit. */
  pending: ReservationKind | null;
  /** Fencing token issued when the lease was granted; 0 while pending. */
  fencingToken: number;
}

/** A request waiting in line for slots (DESIGN §3.6). In memory only: it lives as long as its call. */
export interface Waiter {
  id: string;
  slots: number;
  mode: AcquireMode;
}

/** Everything one limit object keeps. `config` is null when no limit of this name exists. */
export interface LimitState {
  config: LimitConfig | null;
  /** Slots from `/increment` in concurrency mode on a limit without decay; freed by `/decrement`. */
  anonymousSlots: number;
  /** The leaky bucket of a limit with decay, `rateSlots` as of `rateSlotsAt`. */
  rateSlots: number;
  rateSlotsAt: number;
  /** Denied slots (for Retry-After), decaying continuously from `deniedSlotsAt`. */
  deniedSlots: number;
  deniedSlotsAt: number;
  /** Exponential moving average of how long one slot is held (reference D-6). */
  avgSlotOccupancySeconds: number;
  /** The last fencing token issued; survives delete so tokens never repeat for a name. */
  lastFencingToken: number;
  leases: Map<string, Lease>;
  /** Sum of `counted` over `leases`, kept in step so admission is O(1). */
  leasedSlots: number;
  /** Waiters, first come first served. Never persisted: a restart ends their calls too. */
  queue: Waiter[];
  /** A lower bound of the earliest `expiresAt`, so expiry scans only when something may be dead. */
  nextExpiryAt: number;
  /** observe(#14): committed leases ended by expiry since the limit object last looked. */
  expiredLeases: number;
  dirty: Dirty;
}

/** What changed since the last persist. */
export interface Dirty {
  counters: boolean;
  leases: Set<string>;
}

/** Prefect's starting value of the occupancy average. */
export const INITIAL_AVG_OCCUPANCY_SECONDS = 2;

export function createState(): LimitState {
  return {
    config: null,
    anonymousSlots: 0,
    rateSlots: 0,
    rateSlotsAt: 0,
    deniedSlots: 0,
    deniedSlotsAt: 0,
    avgSlotOccupancySeconds: INITIAL_AVG_OCCUPANCY_SECONDS,
    lastFencingToken: 0,
    leases: new Map(),
    leasedSlots: 0,
    queue: [],
    nextExpiryAt: Number.POSITIVE_INFINITY,
    expiredLeases: 0, // observe(#14)
    dirty: { counters: false, leases: new Set() },
  };
}

export function putLease(state: LimitState, lease: Lease): void {
  const previous = state.leases.get(lease.id);
  state.leasedSlots += lease.counted - (previous?.counted ?? 0);
  state.leases.set(lease.id, lease);
  state.nextExpiryAt = Math.min(state.nextExpiryAt, lease.expiresAt);
  state.dirty.leases.add(lease.id);
}

export function deleteLease(state: LimitState, id: string): Lease | undefined {
  const lease = state.leases.get(id);
  if (lease) {
    state.leasedSlots -= lease.counted;
    state.leases.delete(id);
    state.dirty.leases.add(id);
  }
  return lease;
}

export function touchCounters(state: LimitState): void {
  state.dirty.counters = true;
}
