/**
 * The slot routes of the hot path: increment (with or without a lease), decrement, release and
 * renew. None of them touches the catalog: limits are addressed by name, and a lease id names
 * the limits it covers.
 */

import { acquireSlots, normalizeNames, type SlotRequest, type SlotResult } from "../coordinator/acquire";
import { workerCoordination } from "../coordinator/workers";
import { decodeLeaseId } from "../core/lease-id";
import { DEFAULT_LEASE_SECONDS } from "../protocol/constants";
import { DETAIL, GclError } from "../protocol/errors";
import {
  CancelSchema,
  DecrementSchema,
  DecrementWithLeaseSchema,
  IncrementSchema,
  IncrementWithLeaseSchema,
  LeaseGrantSchema,
  MinimalLimitsSchema,
  RenewSchema,
} from "../protocol/schemas";
import type { IncrementWithLeaseBody, LeaseGrant, MinimalLimit } from "../protocol/types";
import { type App, type AppContext, defineRoute } from "./define";

/** Turns a refusal into the error the route answers with. */
function refusal(result: Exclude<SlotResult, { status: "granted" }>): GclError {
  switch (result.status) {
    case "locked":
      return new GclError("locked", DETAIL.locked, { retryAfterSeconds: result.retryAfterSeconds });
    case "queue_full":
      return new GclError("queue_full", DETAIL.queueFull(result.name), { retryAfterSeconds: result.retryAfterSeconds });
  }
  const listed = result.names.map((name) => `'${name}'`).join(", ");
  switch (result.code) {
    case "slots_exceed_limit":
      return new GclError("slots_exceed_limit", DETAIL.slotsExceedLimit);
    case "rate_limit_without_decay":
      return new GclError("rate_limit_without_decay", DETAIL.rateLimitWithoutDecay(result.names));
    case "request_id_in_use":
      return new GclError(
        "request_id_in_use",
        `request_id is already in use on ${listed} (by a request that is waiting, holds slots, ended in the last minute, or was cancelled): use a new one per request`,
      );
  }
}

/** The acquisition an increment body asks for: slots under a lease, or without one. */
function slotRequest(body: IncrementWithLeaseBody, kind: SlotRequest["kind"]): SlotRequest {
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

/** Takes the slots; a client that goes away withdraws what is waiting or was granted too late. */
async function acquire(c: AppContext, request: SlotRequest): Promise<Extract<SlotResult, { status: "granted" }>> {
  const co = workerCoordination(c.env, (task) => c.executionCtx.waitUntil(task));
  const result = await acquireSlots(co, request, c.req.raw.signal);
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

export function slotRoutes(app: App): void {
  defineRoute(
    app,
    {
      method: "post",
      path: "/increment",
      summary: "Take slots without a lease (rate limits, or slots released with /decrement)",
      role: "client",
      body: IncrementSchema,
      success: { status: 200, description: "The limits the slots were taken on", schema: MinimalLimitsSchema },
      errors: [423],
    },
    async (c, body) => {
      const result = await acquire(c, slotRequest(body, "increment"));
      return c.json(result.limits.map(({ limit }) => limit));
    },
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/increment-with-lease",
      summary: "Take slots under a lease that expires unless renewed",
      role: "client",
      body: IncrementWithLeaseSchema,
      success: { status: 200, description: "The lease", schema: LeaseGrantSchema },
      errors: [423],
    },
    async (c, body) => {
      const result = await acquire(c, slotRequest(body, "lease"));
      const grant: LeaseGrant = {
        lease_id: result.leaseId,
        limits: result.limits.map(({ limit, fencingToken }) => ({ ...limit, fencing_token: fencingToken ?? 0 })),
        missing: result.missing,
        expires_at: new Date(result.expiresAt).toISOString(),
      };
      return c.json(grant);
    },
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/decrement",
      summary: "Give back slots taken with /increment",
      role: "client",
      body: DecrementSchema,
      success: { status: 200, description: "The limits found", schema: MinimalLimitsSchema },
    },
    async (c, body) => {
      const found = await Promise.all(
        normalizeNames(body.names).map((name) =>
          c.env.LIMITS.getByName(name).decrement(body.slots, body.occupancy_seconds),
        ),
      );
      const limits: MinimalLimit[] = found.flatMap((limit) => (limit === null ? [] : [{ ...limit }]));
      return c.json(limits);
    },
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/decrement-with-lease",
      summary: "Release a lease (204 also when it is already gone)",
      role: "client",
      body: DecrementWithLeaseSchema,
      success: { status: 204, description: "Released" },
    },
    async (c, body) => {
      await releaseLease(c.env, body.lease_id, leaseNames(body.lease_id));
      return c.body(null, 204);
    },
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/cancel",
      summary: "Withdraw a request by its request_id: its place in line, or the grant it never received",
      role: "client",
      body: CancelSchema,
      success: { status: 204, description: "Withdrawn (also when there was nothing to withdraw)" },
    },
    async (c, body) => {
      await Promise.all(normalizeNames(body.names).map((name) => c.env.LIMITS.getByName(name).cancel(body.request_id)));
      return c.body(null, 204);
    },
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/leases/{lease_id}/renew",
      summary: "Extend a live lease to now + lease_duration",
      role: "client",
      body: RenewSchema,
      bodyRequired: false,
      success: { status: 204, description: "Renewed" },
      errors: [410],
    },
    async (c, body) => {
      const leaseId = c.req.param("lease_id") ?? "";
      const names = leaseNames(leaseId);
      const leaseMs = (body.lease_duration ?? DEFAULT_LEASE_SECONDS) * 1000;
      const renewed = await Promise.all(names.map((name) => c.env.LIMITS.getByName(name).renew(leaseId, leaseMs)));
      if (renewed.includes(false)) {
        // A lease lost on one limit is lost: free what it still holds elsewhere.
        await releaseLease(c.env, leaseId, names);
        throw new GclError("lease_not_found", DETAIL.leaseNotFound);
      }
      return c.body(null, 204);
    },
  );
}
