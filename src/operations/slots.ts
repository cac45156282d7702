/**
 * The slot operations of the hot path, transport-neutral: increment (with or without a lease),
 * decrement, release, cancel and renew. Each takes the Worker's env and an already validated
 * body, and returns the answer or throws a GclError. None of them touches the catalog: limits are
 * addressed by name, and a lease id names the limits it covers.
 */

import { acquireSlots, normalizeNames, type AcquireRequest, type SlotResult } from "../coordinator/acquire";
import { workerCoordination } from "../coordinator/workers";
import { decodeLeaseId, ticketIdOf } from "../core/lease-id";
import { DEFAULT_LEASE_SECONDS } from "../protocol/constants";
import { DETAIL, GclError } from "../protocol/errors";
import type {
  CancelBody,
  DecrementBody,
  IncrementBody,
  IncrementWithLeaseBody,
  LeaseGrant,
  MinimalLimit,
  RenewBody,
} from "../protocol/types";

/** How a caller may wait, as its transport knows it: seconds to wait, a way to learn it left. */
export interface WaitContext {
  /** Aborted when the caller goes away: whatever is waiting or reserved is given back. */
  signal?: AbortSignal | undefined;
  /** Keeps the give-back running after the answer (a Worker's `ctx.waitUntil`). */
  waitUntil?: ((promise: Promise<unknown>) => void) | undefined;
}

/** Turns a refusal into the error the caller gets. */
export function refusal(result: Exclude<SlotResult, { status: "granted" }>): GclError {
  switch (result.status) {
    case "locked":
      return new GclError("locked", DETAIL.locked, { retryAfterSeconds: result.retryAfterSeconds });
    case "queue_full":
      return new GclError("queue_full", DETAIL.queueFull(result.name), { retryAfterSeconds: result.retryAfterSeconds });
  }
  switch (result.code) {
    case "slots_exceed_limit":
      return new GclError("slots_exceed_limit", DETAIL.slotsExceedLimit);
    case "rate_limit_without_decay":
      return new GclError("rate_limit_without_decay", DETAIL.rateLimitWithoutDecay(result.names));
    case "request_id_in_use":
      return new GclError(
        "request_id_in_use",
        `request_id is already in use on ${result.names.map((name) => `'${name}'`).join(", ")} (by a request that is waiting, holds slots, ended in the last minute, or was cancelled): use a new one per request`,
      );
  }
}

/** The acquisition an increment body asks for: slots under a lease, or without one. */
export function acquireRequest(body: IncrementWithLeaseBody, kind: AcquireRequest["kind"]): AcquireRequest {
  return {
    names: body.names,
    slots: body.slots,
    mode: body.mode ?? "concurrency",
    kind,
    leaseMs: kind === "lease" ? (body.lease_duration ?? DEFAULT_LEASE_SECONDS) * 1000 : 0,
    holder: kind === "lease" ? (body.holder ?? null) : null,
    requestId: body.request_id ?? null,
    waitMs: Math.round((body.wait_seconds ?? 0) * 1000),
  };
}

/** Takes the slots; a caller that goes away withdraws what is waiting or was granted too late. */
async function acquire(
  env: Env,
  request: AcquireRequest,
  context: WaitContext,
): Promise<Extract<SlotResult, { status: "granted" }>> {
  const waitUntil = context.waitUntil ?? ((task: Promise<unknown>) => void task);
  const result = await acquireSlots(workerCoordination(env, waitUntil), request, context.signal);
  if (result.status !== "granted") {
    throw refusal(result);
  }
  return result;
}

/** The names a lease id covers, or a 422. */
function leaseNames(leaseId: string): string[] {
  const names = decodeLeaseId(leaseId);
  if (names === null) {
    throw new GclError("invalid_request", "lease_id: not a lease id issued by this service", {
      errors: [{ path: "lease_id", message: "not a lease id issued by this service" }],
    });
  }
  return names;
}

async function releaseLease(env: Env, leaseId: string, names: readonly string[]): Promise<void> {
  await Promise.all(names.map((name) => env.LIMITS.getByName(name).release(leaseId)));
}

/** Takes slots without a lease (rate limits, or slots given back with `decrement`). */
export async function increment(env: Env, body: IncrementBody, context: WaitContext = {}): Promise<MinimalLimit[]> {
  const result = await acquire(env, acquireRequest(body, "increment"), context);
  return result.limits.map(({ limit }) => limit);
}

/** Takes slots under a lease that expires unless renewed. */
export async function incrementWithLease(
  env: Env,
  body: IncrementWithLeaseBody,
  context: WaitContext = {},
): Promise<LeaseGrant> {
  return leaseGrant(await acquire(env, acquireRequest(body, "lease"), context));
}

/** A lease grant as the API answers it. */
export function leaseGrant(result: Extract<SlotResult, { status: "granted" }>): LeaseGrant {
  return {
    lease_id: result.leaseId,
    limits: result.limits.map(({ limit, fencingToken }) => ({ ...limit, fencing_token: fencingToken ?? 0 })),
    missing: result.missing,
    expires_at: new Date(result.expiresAt).toISOString(),
  };
}

/** Gives back slots taken with `increment`; answers the limits found. */
export async function decrement(env: Env, body: DecrementBody): Promise<MinimalLimit[]> {
  const found = await Promise.all(
    normalizeNames(body.names).map((name) => env.LIMITS.getByName(name).decrement(body.slots, body.occupancy_seconds)),
  );
  return found.flatMap((limit) => (limit === null ? [] : [{ ...limit }]));
}

/** Releases a lease (also a no-op success when it is already gone). */
export async function decrementWithLease(env: Env, body: { lease_id: string }): Promise<void> {
  await releaseLease(env, body.lease_id, leaseNames(body.lease_id));
}

/**
 * Gives back exactly what lease `leaseId` took, as if it had never been granted (the bucket of a
 * rate limit refunded): for a grant whose answer could not be completed.
 */
export async function withdrawLease(env: Env, leaseId: string): Promise<void> {
  const ticket = ticketIdOf(leaseId);
  await Promise.all((decodeLeaseId(leaseId) ?? []).map((name) => env.LIMITS.getByName(name).withdraw(ticket)));
}

/**
 * Withdraws a request by its request_id: its place in line, its reservation or its grant; one
 * that arrives later is refused.
 */
export async function cancel(env: Env, body: CancelBody): Promise<void> {
  await Promise.all(normalizeNames(body.names).map((name) => env.LIMITS.getByName(name).cancel(body.request_id)));
}

/** Extends a live lease to now + lease_duration, or a 410 (and frees what it still holds). */
export async function renew(env: Env, leaseId: string, body: RenewBody): Promise<void> {
  const names = leaseNames(leaseId);
  const leaseMs = (body.lease_duration ?? DEFAULT_LEASE_SECONDS) * 1000;
  const renewed = await Promise.all(names.map((name) => env.LIMITS.getByName(name).renew(leaseId, leaseMs)));
  if (renewed.includes(false)) {
    // A lease lost on one limit is lost: free what it still holds elsewhere.
    await releaseLease(env, leaseId, names);
    throw new GclError("lease_not_found", DETAIL.leaseNotFound);
  }
}
