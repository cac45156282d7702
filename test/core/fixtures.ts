// Builders shared by the core tests: a limit state created at a fixed instant, and acquisitions
// that go through `admit` first, exactly as the limit object does. Used only by test/core.

import {
  admit,
  createLimit,
  grantIncrement,
  grantLease,
  type LimitSettings,
} from "../../src/core/limit";
import { createState, type Lease, type LimitState } from "../../src/core/state";
import type { AcquireMode } from "../../src/protocol/types";

/** A realistic epoch instant, so float noise at real timestamps is exercised too. */
export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

/** Jitter source in the middle of its range, for tests that do not look at jitter. */
export const MID_RANDOM = (): number => 0.5;

export const LIMIT_ID = "7d3c1e0a-5b2f-4c6d-9e8f-0a1b2c3d4e5f";

/** A state holding one freshly created limit (defaults: `limit 10`, active, no decay). */
export function limitState(
  settings: Partial<LimitSettings> & { name?: string } = {},
  now: number = T0,
): LimitState {
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

/** `/increment`: admits, then grants; throws if the admission was refused. */
export function increment(
  state: LimitState,
  slots: number,
  now: number,
  mode: AcquireMode = "concurrency",
): void {
  const admission = admit(state, { slots, mode }, now, MID_RANDOM);
  if (admission.status !== "ok" && admission.status !== "inactive") {
    throw new Error(`increment of ${slots} refused: ${JSON.stringify(admission)}`);
  }
  grantIncrement(state, slots, now);
}

let leaseCounter = 0;

/** `/increment-with-lease`: admits, then grants a lease; throws if the admission was refused. */
export function acquireLease(
  state: LimitState,
  request: { slots: number; durationMs: number; id?: string; mode?: AcquireMode },
  now: number,
): Lease {
  const admission = admit(state, { slots: request.slots, mode: request.mode ?? "concurrency" }, now, MID_RANDOM);
  if (admission.status !== "ok" && admission.status !== "inactive") {
    throw new Error(`lease of ${request.slots} refused: ${JSON.stringify(admission)}`);
  }
  leaseCounter += 1;
  return grantLease(
    state,
    {
      id: request.id ?? `lease-${leaseCounter}`,
      slots: request.slots,
      holder: null,
      expiresAt: now + request.durationMs,
    },
    now,
  );
}

/** The sum of `counted` over the stored rows, computed independently of `leasedSlots`. */
export function sumCounted(state: LimitState): number {
  let sum = 0;
  for (const lease of state.leases.values()) {
    sum += lease.counted;
  }
  return sum;
}
