// Builders shared by the core tests: a limit state created at a fixed instant, and acquisitions
// that expire what is due and go through `admit` first, exactly as the limit engine does (every
// operation starts with `expire`, since reads such as `heldSlots` are pure). Used only by test/core.

import { admit } from "../../src/core/admission";
import { heldSlots } from "../../src/core/decay";
import { encodeLeaseId } from "../../src/core/lease-id";
import { createLimit, type LimitSettings } from "../../src/core/settings";
import { createState, type LimitState, type Ticket } from "../../src/core/state";
import { expire, grant, reserve } from "../../src/core/tickets";
import type { AcquireMode } from "../../src/protocol/types";

/** A realistic epoch instant, so float noise at real timestamps is exercised too. */
export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

/** Jitter source in the middle of its range, for tests that do not look at jitter. */
export const MID_RANDOM = (): number => 0.5;

export const LIMIT_ID = "7d3c1e0a-5b2f-4c6d-9e8f-0a1b2c3d4e5f";

/**
 * An increment's undo window as the engine sets it for a request that may wait 30 s: the wait
 * plus the engine's 60 s undo margin. No test depends on the exact value.
 */
export const UNDO_MS = 30_000 + 60_000;

/** A state holding one freshly created limit (defaults: `limit 10`, active, no decay). */
export function limitState(settings: Partial<LimitSettings> & { name?: string } = {}, now: number = T0): LimitState {
  const state = createState();
  createLimit(
    state,
    {
      id: LIMIT_ID,
      name: settings.name ?? "db",
      limit: settings.limit ?? 10,
      active: settings.active ?? true,
      slotDecayPerSecond: settings.slotDecayPerSecond ?? 0,
      activeSlots: settings.activeSlots ?? 0,
      deniedSlots: settings.deniedSlots ?? 0,
    },
    now,
  );
  return state;
}

/** Slots held at `now` as an operation sees them: what is due is expired first. */
export function heldAt(state: LimitState, now: number): number {
  expire(state, now);
  return heldSlots(state, now);
}

let ticketCounter = 0;

function nextTicketId(): string {
  ticketCounter += 1;
  return `ticket-${ticketCounter}`;
}

function admitted(state: LimitState, slots: number, mode: AcquireMode, now: number, what: string): void {
  expire(state, now);
  const admission = admit(state, { slots, mode }, now, MID_RANDOM);
  if (admission.status !== "ok" && admission.status !== "inactive") {
    throw new Error(`${what} of ${slots} refused: ${JSON.stringify(admission)}`);
  }
}

/** `/increment`: admits, then grants an increment ticket undoable for `undoMs`; throws if refused. */
export function increment(
  state: LimitState,
  slots: number,
  now: number,
  mode: AcquireMode = "concurrency",
  options: { undoMs?: number; id?: string; requestId?: string } = {},
): Ticket {
  admitted(state, slots, mode, now, "increment");
  return grant(
    state,
    {
      id: options.id ?? nextTicketId(),
      requestId: options.requestId ?? null,
      kind: "increment",
      leaseId: null,
      slots,
      holder: null,
    },
    now + (options.undoMs ?? UNDO_MS),
    now,
  );
}

/** A lease ticket: its `leaseId` is always set. */
export type LeaseTicket = Ticket & { leaseId: string };

/** `/increment-with-lease`: admits, then grants a lease; throws if the admission was refused. */
export function acquireLease(
  state: LimitState,
  request: { slots: number; durationMs: number; id?: string; requestId?: string; mode?: AcquireMode },
  now: number,
): LeaseTicket {
  admitted(state, request.slots, request.mode ?? "concurrency", now, "lease");
  const id = request.id ?? nextTicketId();
  const leaseId = encodeLeaseId(id, [state.config?.name ?? "db"]);
  const ticket = grant(
    state,
    { id, requestId: request.requestId ?? null, kind: "lease", leaseId, slots: request.slots, holder: null },
    now + request.durationMs,
    now,
  );
  return { ...ticket, leaseId };
}

/** A multi-name request's first phase: admits, then reserves until `now + pendingMs`. */
export function reserveSlots(
  state: LimitState,
  request: { id: string; slots: number; pendingMs: number; kind?: "lease" | "increment"; requestId?: string },
  now: number,
): Ticket {
  admitted(state, request.slots, "concurrency", now, "reservation");
  return reserve(
    state,
    {
      id: request.id,
      requestId: request.requestId ?? null,
      kind: request.kind ?? "lease",
      leaseId: null,
      slots: request.slots,
      holder: null,
    },
    now + request.pendingMs,
    now,
  );
}

/** The sum of `counted` over the stored tickets, computed independently of `leasedSlots`. */
export function sumCounted(state: LimitState): number {
  let sum = 0;
  for (const ticket of state.tickets.values()) {
    sum += ticket.counted;
  }
  return sum;
}
