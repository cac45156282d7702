/**
 * Views of a limit's state in wire shape (`protocol/types`). Pure reads: they change nothing, so
 * the caller expires what is due at `now` first (every operation does).
 */

import type { LeaseInfo, LimitRecord, MinimalLimit, WaiterInfo } from "../protocol/types";
import { deniedSlotsAt, heldSlots } from "./decay";
import type { LimitConfig, LimitState } from "./state";

/** Rounds a count that may carry float noise up to whole slots (1e-9 of a slot is no slot). */
function wholeSlotsUp(value: number): number {
  return Math.max(0, Math.ceil(value - 1e-9));
}

/** The limit as reads return it, or null when no limit of this name exists. */
export function limitRecord(state: LimitState, now: number): LimitRecord | null {
  const { config } = state;
  if (!config) {
    return null;
  }
  return {
    id: config.id,
    name: config.name,
    limit: config.limit,
    active: config.active,
    active_slots: wholeSlotsUp(heldSlots(state, now)),
    denied_slots: wholeSlotsUp(deniedSlotsAt(state, now)),
    slot_decay_per_second: config.slotDecayPerSecond,
    avg_slot_occupancy_seconds: Math.round(state.avgSlotOccupancySeconds * 1000) / 1000,
    location_hint: config.locationHint ?? null,
    created: new Date(config.createdAt).toISOString(),
    updated: new Date(config.updatedAt).toISOString(),
  };
}

export function minimalLimit(config: LimitConfig): MinimalLimit {
  return { id: config.id, name: config.name, limit: config.limit };
}

/** Live, committed leases, oldest first. */
export function leaseInfos(state: LimitState): LeaseInfo[] {
  return [...state.tickets.values()]
    .filter((ticket) => ticket.kind === "lease" && !ticket.pending && ticket.line === null && ticket.leaseId !== null)
    .sort((a, b) => a.acquiredAt - b.acquiredAt)
    .map((lease) => ({
      lease_id: lease.leaseId ?? "",
      slots: lease.slots,
      holder: lease.holder,
      acquired_at: new Date(lease.acquiredAt).toISOString(),
      expires_at: new Date(lease.expiresAt).toISOString(),
    }));
}

/** The line, head first: who waits, for what, since when. */
export function waiterInfos(state: LimitState): WaiterInfo[] {
  return state.queue.flatMap((waiter, index) => {
    const ticket = state.tickets.get(waiter.id);
    return ticket
      ? [
          {
            position: index + 1,
            slots: ticket.slots,
            mode: waiter.mode,
            holder: ticket.holder,
            waiting_since: new Date(ticket.acquiredAt).toISOString(),
          },
        ]
      : [];
  });
}
