/**
 * The Worker's default export: a `WorkerEntrypoint` that serves HTTP through `fetch` and, to
 * Workers bound to it as a service, the RPC methods of `GclRpc` with no HTTP or JSON on the way.
 * Each method validates its arguments with the HTTP routes' schemas, calls the same operation,
 * and answers `{ ok: true, value }` or `{ ok: false, error }` (see `src/protocol/rpc.ts`).
 *
 * Trust: RPC needs no token. Only Workers on the same account can hold a service binding to this
 * one, and whoever can deploy a Worker on that account can already redeploy this one.
 */

import { WorkerEntrypoint } from "cloudflare:workers";
import { createApp } from "../app";
import * as limits from "../operations/limits";
import * as slots from "../operations/slots";
import { asGclError } from "../operations/failure";
import { releaseAnyLeaseId, renewAnyLeaseId } from "../prefect/lease-ids";
import { GclError } from "../protocol/errors";
import type { GclRpc, RpcResult } from "../protocol/rpc";
import {
  CancelSchema,
  CreateLimitSchema,
  DecrementSchema,
  FilterSchema,
  IncrementSchema,
  IncrementWithLeaseSchema,
  RenewSchema,
  UpdateLimitSchema,
} from "../protocol/schemas";
import type { LeaseGrant, LimitLeases, LimitRecord, MinimalLimit } from "../protocol/types";
import { parseBody } from "../routes/define";

// Built once per isolate, not per request.
const app = createApp();

/** Runs an operation and turns its outcome into a value: RPC would drop a thrown error's fields. */
async function settle<T>(run: () => Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (thrown) {
    const error = asGclError(thrown);
    return {
      ok: false,
      error:
        error.retryAfterSeconds === undefined
          ? error.toBody()
          : { ...error.toBody(), retry_after_seconds: error.retryAfterSeconds },
    };
  }
}

/** A string argument (a lease id, a limit's name or id), or a 422 naming it. */
function stringArgument(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") {
    throw new GclError("invalid_request", `${field}: must be a non-empty string`, {
      errors: [{ path: field, message: "must be a non-empty string" }],
    });
  }
  return value;
}

async function done(promise: Promise<void>): Promise<null> {
  await promise;
  return null;
}

export class GclEntrypoint extends WorkerEntrypoint<Env> implements GclRpc {
  override fetch(request: Request): Response | Promise<Response> {
    return app.fetch(request, this.env, this.ctx);
  }

  acquire(body: unknown): Promise<RpcResult<LeaseGrant>> {
    return settle(() =>
      slots.incrementWithLease(this.env, parseBody(IncrementWithLeaseSchema, body, true), this.#wait()),
    );
  }

  increment(body: unknown): Promise<RpcResult<MinimalLimit[]>> {
    return settle(() => slots.increment(this.env, parseBody(IncrementSchema, body, true), this.#wait()));
  }

  /** As over HTTP: a lease id that is not ours, or is gone, answers `lease_not_found`. */
  renew(leaseId: unknown, body?: unknown): Promise<RpcResult<null>> {
    return settle(() => {
      const id = stringArgument(leaseId, "lease_id");
      const renewal = parseBody(RenewSchema, body, false);
      return done(
        renewAnyLeaseId(this.env, id, renewal.lease_duration, (native) => slots.renew(this.env, native, renewal)),
      );
    });
  }

  /** As over HTTP: releasing a lease id that is not ours, or is gone, succeeds and does nothing. */
  release(leaseId: unknown): Promise<RpcResult<null>> {
    return settle(() => {
      const id = stringArgument(leaseId, "lease_id");
      return done(
        releaseAnyLeaseId(this.env, id, (native) => slots.decrementWithLease(this.env, { lease_id: native })),
      );
    });
  }

  decrement(body: unknown): Promise<RpcResult<MinimalLimit[]>> {
    return settle(() => slots.decrement(this.env, parseBody(DecrementSchema, body, true)));
  }

  cancel(body: unknown): Promise<RpcResult<null>> {
    return settle(() => done(slots.cancel(this.env, parseBody(CancelSchema, body, true))));
  }

  createLimit(body: unknown): Promise<RpcResult<LimitRecord>> {
    return settle(() => limits.createLimit(this.env, parseBody(CreateLimitSchema, body, true)));
  }

  getLimit(idOrName: unknown): Promise<RpcResult<LimitRecord>> {
    return settle(() => limits.readLimit(this.env, stringArgument(idOrName, "id_or_name")));
  }

  listLimits(page?: unknown): Promise<RpcResult<LimitRecord[]>> {
    return settle(() => limits.listLimits(this.env, parseBody(FilterSchema, page, false)));
  }

  updateLimit(idOrName: unknown, patch: unknown): Promise<RpcResult<null>> {
    return settle(() =>
      done(
        limits.updateLimit(this.env, stringArgument(idOrName, "id_or_name"), parseBody(UpdateLimitSchema, patch, true)),
      ),
    );
  }

  deleteLimit(idOrName: unknown): Promise<RpcResult<null>> {
    return settle(() => done(limits.deleteLimit(this.env, stringArgument(idOrName, "id_or_name"))));
  }

  limitLeases(idOrName: unknown): Promise<RpcResult<LimitLeases>> {
    return settle(() => limits.limitLeases(this.env, stringArgument(idOrName, "id_or_name")));
  }

  /** RPC has no request signal; a caller that gives up withdraws by `request_id` (`cancel`). */
  #wait(): slots.WaitContext {
    return { waitUntil: (promise) => this.ctx.waitUntil(promise) };
  }
}
