/**
 * The RPC contract of the Worker's default entrypoint, for Workers bound to it as a service
 * (`env.GCL.acquire({...})`): the method names, their wire-typed arguments, and the result
 * envelope. Shared by the entrypoint (`src/rpc/`) and the client's RPC transport. Types only.
 *
 * Expected failures come back as values, `{ ok: false, error }`, never as thrown errors: Workers
 * RPC keeps only the message of a thrown error and drops its fields (`code`, `retryAfterSeconds`),
 * and a caller must be able to tell "locked, retry in 2 s" from "no such limit" without reading
 * prose.
 */

import type { ErrorBody } from "./errors";
import type {
  CancelBody,
  CreateLimitBody,
  DecrementBody,
  FilterBody,
  IncrementBody,
  IncrementWithLeaseBody,
  LeaseGrant,
  LimitLeases,
  LimitRecord,
  MinimalLimit,
  RenewBody,
  UpdateLimitBody,
} from "./types";

/** An expected failure: the HTTP error body, plus the wait a 423 or a 503 `overloaded` asks for (HTTP's `Retry-After`). */
export interface RpcError extends ErrorBody {
  /** Seconds to wait before trying again (`locked`, `queue_full`, `overloaded`). */
  retry_after_seconds?: number;
}

/** What every RPC method resolves with. */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: RpcError };

/**
 * The methods a service binding to edge-gcl offers. Each validates its input exactly as the
 * matching HTTP route does (same schemas, same 422 `errors`), and answers the same values.
 */
export interface GclRpc {
  /** `POST /increment-with-lease`: slots under a lease (waits up to `wait_seconds`). */
  acquire(body: IncrementWithLeaseBody): Promise<RpcResult<LeaseGrant>>;
  /** `POST /increment`: slots without a lease (rate limits, or `decrement` later). */
  increment(body: IncrementBody): Promise<RpcResult<MinimalLimit[]>>;
  /** `POST /leases/{lease_id}/renew`: `lease_not_found` once the lease is gone. */
  renew(leaseId: string, body?: RenewBody): Promise<RpcResult<null>>;
  /** `POST /decrement-with-lease`: also succeeds when the lease is already gone. */
  release(leaseId: string): Promise<RpcResult<null>>;
  /** `POST /decrement`: gives back slots taken with `increment`. */
  decrement(body: DecrementBody): Promise<RpcResult<MinimalLimit[]>>;
  /** `POST /cancel`: withdraws a request by its `request_id`. */
  cancel(body: CancelBody): Promise<RpcResult<null>>;
  /** `POST /`. */
  createLimit(body: CreateLimitBody): Promise<RpcResult<LimitRecord>>;
  /** `GET /{id_or_name}`. */
  getLimit(idOrName: string): Promise<RpcResult<LimitRecord>>;
  /** `POST /filter`. */
  listLimits(page?: FilterBody): Promise<RpcResult<LimitRecord[]>>;
  /** `PATCH /{id_or_name}`. */
  updateLimit(idOrName: string, patch: UpdateLimitBody): Promise<RpcResult<null>>;
  /** `DELETE /{id_or_name}`. */
  deleteLimit(idOrName: string): Promise<RpcResult<null>>;
  /** `GET /{id_or_name}/leases`. */
  limitLeases(idOrName: string): Promise<RpcResult<LimitLeases>>;
}

export type GclRpcMethod = keyof GclRpc;
