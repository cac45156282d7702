// Options of `concurrent()`: the documented type, defaults, and the validating resolver that
// runs when `concurrent()` is called (so bad input throws at once instead of hanging, which is
// what aio.tasks does). Imported by `concurrent.ts`; standard JS only.

import { got, isAbortSignal } from "../protocol/arguments";
import { resolveSlotOptions, type ResolvedSlotOptions, type SlotOptions } from "./slots";

/** The `limit` value that removes the local limit. */
export const UNBOUNDED = -1;

/** Options of {@link concurrent}. */
export interface ConcurrentOptions {
  /**
   * The most jobs in flight at once, counting results not yet taken by the consumer.
   * A positive integer, or `-1` for no limit (the source must then be finite).
   * @default `defaultConcurrency()`: min(32, cores + 4)
   */
  readonly limit?: number;
  /**
   * Yield failed jobs as `ConcurrentError` values and keep going, instead of throwing the
   * first one and stopping. Source failures (`ConcurrentIteratorError`) are always thrown.
   * @default false
   */
  readonly yieldExceptions?: boolean;
  /**
   * Stops the run: jobs in flight are aborted with this signal's reason, no further job is
   * started, and the iterator throws that reason.
   * @default undefined (never aborts)
   */
  readonly signal?: AbortSignal;
  /**
   * Also hold global slots from the limit service around each job function (not around
   * already-running promises, which a slot could not delay).
   * @default undefined (local limit only)
   */
  readonly slots?: SlotOptions;
}

/** {@link ConcurrentOptions} after validation, with defaults applied. */
export interface ResolvedConcurrentOptions {
  readonly limit: number;
  readonly yieldExceptions: boolean;
  readonly signal: AbortSignal | undefined;
  readonly slots: ResolvedSlotOptions | undefined;
}

/**
 * The default limit: `min(32, cores + 4)`, the rule of Python's `ThreadPoolExecutor` that
 * aio.tasks copies. Cores come from `navigator.hardwareConcurrency`, 1 when unknown (Node < 21
 * has no `navigator`). In a Worker, note that only 6 outgoing connections per request are open
 * at once, so fetch-bound jobs gain nothing above 6.
 */
export function defaultConcurrency(): number {
  const reported = typeof navigator !== "undefined" ? navigator.hardwareConcurrency : undefined;
  const cores = typeof reported === "number" && Number.isInteger(reported) && reported > 0 ? reported : 1;
  return Math.min(32, cores + 4);
}

/**
 * Validates `options` and applies defaults.
 * @throws RangeError for a bad `limit`, TypeError or RangeError for other bad fields.
 */
export function resolveConcurrentOptions(options: ConcurrentOptions): ResolvedConcurrentOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Expected \`options\` to be an object, got ${got(options)}`);
  }
  const { limit = defaultConcurrency(), yieldExceptions = false, signal, slots } = options;
  if (typeof limit !== "number" || !(limit === UNBOUNDED || (Number.isInteger(limit) && limit > 0))) {
    throw new RangeError(`Expected \`limit\` to be a positive integer or -1 (unbounded), got ${got(limit)}`);
  }
  if (typeof yieldExceptions !== "boolean") {
    throw new TypeError(`Expected \`yieldExceptions\` to be a boolean, got ${got(yieldExceptions)}`);
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${got(signal)}`);
  }
  return {
    limit,
    yieldExceptions,
    signal,
    slots: slots === undefined ? undefined : resolveSlotOptions(slots),
  };
}
