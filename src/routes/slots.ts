/**
 * The slot routes of the hot path: increment (with or without a lease), decrement, release,
 * cancel and renew. Thin: each parses its request, calls the operation in `../operations/slots`
 * and renders the answer.
 */

import {
  cancel,
  decrement,
  decrementWithLease,
  increment,
  incrementWithLease,
  renew,
  withdrawLease,
  type WaitContext,
} from "../operations/slots";
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
import { GclError } from "../protocol/errors";
import { isLimitName, UUID_PATTERN } from "../protocol/names";
import { grantForCaller, releaseAnyLeaseId, renewAnyLeaseId } from "../prefect/lease-ids";
import { type App, type AppContext, defineRoute } from "./define";

/** A request that goes away gives back what it waits for; the give-back outlives the response. */
function waitContext(c: AppContext): WaitContext {
  return {
    signal: c.req.raw.signal,
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  };
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
    async (c, body) => c.json(await increment(c.env, body, waitContext(c))),
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
      const grant = await incrementWithLease(c.env, body, waitContext(c));
      // Prefect's client gets a UUID lease id it can parse (src/prefect/lease-ids.ts).
      // If its answer cannot be completed, the grant is undone exactly (withdrawn, not released).
      const undo = (leaseId: string) => withdrawLease(c.env, leaseId);
      return c.json(await grantForCaller(c.env, c.req.raw.headers, grant, undo));
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/{id_or_name}/wait",
      summary:
        "Wait for slots over a WebSocket (upgrade): send {op: acquire, kind, request}, get queued, then an offer to confirm (see README, Waiting in line)",
      role: "client",
      success: { status: 101, description: "Switching protocols: the waiting socket" },
      errors: [426],
    },
    async (c) => {
      const name = c.req.param("id_or_name") ?? "";
      if (!isLimitName(name) || UUID_PATTERN.test(name)) {
        throw new GclError(
          "invalid_request",
          "name: a socket waits on a limit by its name (1–200 characters, none of / % & > <)",
        );
      }
      if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
        throw new GclError("upgrade_required", "this route is a WebSocket: send `Upgrade: websocket`");
      }
      // Accepted by the limit object itself, with the Hibernation API.
      return c.env.LIMITS.getByName(name).fetch(c.req.raw);
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
    async (c, body) => c.json(await decrement(c.env, body)),
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
      // A UUID resolves through the lease directory; an id that names no lease is already released.
      await releaseAnyLeaseId(c.env, body.lease_id, (leaseId) => decrementWithLease(c.env, { lease_id: leaseId }));
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
      await cancel(c.env, body);
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
      // A UUID resolves through the lease directory; an id that names no lease → 410.
      const given = c.req.param("lease_id") ?? "";
      await renewAnyLeaseId(c.env, given, body.lease_duration, (leaseId) => renew(c.env, leaseId, body));
      return c.body(null, 204);
    },
  );
}
