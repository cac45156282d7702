// Error classes of the async utilities (`edge-gcl/async`).
// `concurrent()` wraps failures in the Concurrent* family so callers can tell a failed job
// from a broken source with `instanceof`; `TaskGroup` throws `GatherIncomplete` when results
// are read too early. Imports nothing but `./job` helpers; safe in every runtime.

import { describeValue } from "./job";

/**
 * Base class of every error `concurrent()` produces. Thrown or yielded as is when the source
 * produced something that is neither a job function nor a promise.
 */
export class ConcurrentError extends Error {
  override name = "ConcurrentError";
}

/**
 * A job failed: it threw, its promise rejected, or its distributed slots could not be
 * acquired or released. The original error is in `cause`, and the message is copied from it.
 */
export class ConcurrentExecutionError extends ConcurrentError {
  override name = "ConcurrentExecutionError";

  constructor(cause: unknown) {
    super(messageOf(cause), { cause });
  }
}

/**
 * The source iterable itself failed (its iterator threw or returned garbage). Always thrown,
 * even with `yieldExceptions`, because no further job can be produced. The original is in `cause`.
 */
export class ConcurrentIteratorError extends ConcurrentError {
  override name = "ConcurrentIteratorError";

  constructor(cause: unknown) {
    super(messageOf(cause), { cause });
  }
}

/**
 * Results were read from a {@link TaskGroup} before every job had fulfilled: some are still
 * running, or one failed (that failure is in `cause`).
 */
export class GatherIncomplete extends Error {
  override name = "GatherIncomplete";
}

/** The wrapped error's own message, so `String(wrapper)` reads like the original (aio.tasks parity). */
function messageOf(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return describeValue(error);
}
