/**
 * Public entry of `edge-gcl/client`: the client of an edge-gcl Worker, its errors and the wire
 * types it returns. Re-exports only; nothing behind it imports `cloudflare:*`, `node:*` or zod.
 */

export { createClient, type GclClient, type RateLimitResult } from "./client";
export {
  AcquireTimeoutError,
  type AcquisitionFailureReason,
  ConcurrencySlotAcquisitionError,
  LeaseLostError,
  type ServerRefusal,
} from "./errors";
export type { AdminCallOptions, LimitsApi } from "./limits";
export {
  DEFAULT_ACQUIRE_OPTIONS,
  DEFAULT_CLIENT_OPTIONS,
  DEFAULT_RETRY_OPTIONS,
  DEFAULT_WAIT_OPTIONS,
  type AcquireOptions,
  type ClientOptions,
  type FetchInit,
  type FetchLike,
  type FetchResponse,
  type Logger,
  type Names,
  type RateLimitOptions,
  type RetryOptions,
  type WaitOptions,
} from "./options";
export type { Slots } from "./slots";
export { UnreachableError } from "./transport";
export {
  GclError,
  isErrorCode,
  STATUS_BY_CODE,
  type ErrorBody,
  type ErrorCode,
  type FieldError,
} from "../protocol/errors";
export type {
  DurationSummary,
  HistoryBucket,
  HistoryResolution,
  LimitHistory,
  LimitSnapshot,
  MetricsSnapshot,
} from "../protocol/observe";
export type {
  CreateLimitBody,
  FilterBody,
  LeasedLimit,
  LeaseGrant,
  LeaseHolder,
  LeaseInfo,
  LimitLeases,
  LimitRecord,
  MinimalLimit,
  UpdateLimitBody,
} from "../protocol/types";
export type { GclRpc, RpcError, RpcResult } from "../protocol/rpc";
