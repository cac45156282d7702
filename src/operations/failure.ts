/**
 * What any failure means to a caller: a GclError as it is, a platform error from a Durable
 * Object that says "try again" as `unavailable`, anything else as `internal` (a bug, logged).
 * Shared by every transport so that HTTP and RPC callers see the same codes.
 */

import { GclError } from "../protocol/errors";

/** Platform errors from a Durable Object that say "try again" (overloaded, reset, moved). */
export function isRetryableError(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === true;
}

export function asGclError(error: unknown): GclError {
  if (error instanceof GclError) {
    return error;
  }
  if (isRetryableError(error)) {
    return new GclError("unavailable", "a limit object is briefly unavailable; try again", { cause: error });
  }
  console.error("unhandled error", error);
  return new GclError("internal", "internal error");
}
