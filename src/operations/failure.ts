/**
 * What any failure means to a caller: a GclError as it is, an overloaded Durable Object as
 * `overloaded` (503 with Retry-After), a platform error that says "try again" as `unavailable`,
 * anything else as `internal` (a bug, logged). Shared by every transport so that HTTP and RPC
 * callers see the same codes.
 */

import { isOverloadedError, isRetryableError, overloadedError } from "../coordinator/failures";
import { GclError } from "../protocol/errors";

export function asGclError(error: unknown): GclError {
  if (error instanceof GclError) {
    return error;
  }
  if (isOverloadedError(error)) {
    return overloadedError(error);
  }
  if (isRetryableError(error)) {
    return new GclError("unavailable", "a limit object is briefly unavailable; try again", { cause: error });
  }
  console.error("unhandled error", error);
  return new GclError("internal", "internal error");
}
