/**
 * What a failed call to a Durable Object means. The platform marks its errors `retryable` (the
 * object was reset or moved: try again) and `overloaded` (the object has more requests than it
 * can take: come back later, never at once). Read by the coordinator and by every transport's
 * failure handling, so an overloaded object gets the same answer whichever path reached it.
 */

import { DETAIL, GclError } from "../protocol/errors";
import { OVERLOADED_RETRY_AFTER_SECONDS } from "../protocol/constants";

function flag(error: unknown, name: "retryable" | "overloaded"): boolean {
  return typeof error === "object" && error !== null && (error as Record<string, unknown>)[name] === true;
}

/** An object's "too many requests": retrying at once would add to the load it asked to shed. */
export function isOverloadedError(error: unknown): boolean {
  return flag(error, "overloaded");
}

/** A platform error that says "try again" (reset, moved), overload excluded. */
export function isRetryableError(error: unknown): boolean {
  return flag(error, "retryable") && !isOverloadedError(error);
}

/** The 503 `overloaded` answer, with the `Retry-After` that keeps clients away for a while. */
export function overloadedError(cause: unknown): GclError {
  return new GclError("overloaded", DETAIL.overloaded, { retryAfterSeconds: OVERLOADED_RETRY_AFTER_SECONDS, cause });
}
