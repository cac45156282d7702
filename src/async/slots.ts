// Distributed slots around a job: acquire global concurrency slots from the limit service
// before the job starts and release them after it settles, on every path. Defines the minimal
// structural client interface (`SlotAcquirer`) so any client with `acquire()` fits: the one
// `createClient()` from `edge-gcl/client` returns, or an in-memory fake. Imported by
// `concurrent.ts`; standard JS only.

import { got } from "../protocol/arguments";
import { isLimitName, NAME_RULE } from "../protocol/names";
import type { LazyJob } from "./job";

/** A held set of slots, as returned by {@link SlotAcquirer.acquire}. */
export interface SlotLease {
  /** Gives the slots back. Called exactly once per lease by this module. */
  release(): Promise<void>;
  /** Aborts if the lease is lost (for example it expired on the server); the job is then aborted too. */
  readonly signal: AbortSignal;
}

/**
 * Anything that can hand out global slots: the limit service client, or an in-memory fake.
 * It is structural, so the client does not need to import this type.
 */
export interface SlotAcquirer {
  /**
   * Waits until `occupy` slots of every limit in `names` are held, and resolves with the lease.
   * Should reject with `signal.reason` when `signal` aborts while waiting.
   */
  acquire(names: string | string[], options?: { occupy?: number; signal?: AbortSignal }): Promise<SlotLease>;
}

/** Which global slots to hold around each job. */
export interface SlotOptions {
  /** Hands out the slots, e.g. the result of `createClient()`. */
  readonly client: SlotAcquirer;
  /** The limit name, or several names that must all have room. */
  readonly names: string | readonly string[];
  /**
   * How many slots of each limit one job occupies. Minimum: 1.
   * @default 1
   */
  readonly occupy?: number;
}

/** {@link SlotOptions} after validation. */
export interface ResolvedSlotOptions {
  readonly client: SlotAcquirer;
  readonly names: string | readonly string[];
  readonly occupy: number;
}

/** Default values of the optional {@link SlotOptions} fields. */
export const DEFAULT_SLOT_OPTIONS = { occupy: 1 } as const;

/**
 * Validates `slots` (the option is named by `path` in messages) and fills in defaults.
 * @throws TypeError or RangeError naming the offending field.
 */
export function resolveSlotOptions(slots: SlotOptions, path = "slots"): ResolvedSlotOptions {
  if (typeof slots !== "object" || slots === null) {
    throw new TypeError(`Expected \`${path}\` to be an object, got ${got(slots)}`);
  }
  const { client, names } = slots;
  if (typeof client !== "object" || client === null || typeof client.acquire !== "function") {
    throw new TypeError(`Expected \`${path}.client\` to have an \`acquire()\` method, got ${got(client)}`);
  }
  const validNames =
    typeof names === "string"
      ? isLimitName(names)
      : Array.isArray(names) && names.length > 0 && names.every(isLimitName);
  if (!validNames) {
    throw new TypeError(
      `Expected \`${path}.names\` to be a limit name (${NAME_RULE}) or a non-empty array of them, got ${got(names)}`,
    );
  }
  const occupy = slots.occupy ?? DEFAULT_SLOT_OPTIONS.occupy;
  if (typeof occupy !== "number" || !Number.isInteger(occupy) || occupy < 1) {
    throw new RangeError(`Expected \`${path}.occupy\` to be an integer >= 1, got ${got(occupy)}`);
  }
  return { client, names, occupy };
}

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/**
 * Wraps a lazy job so that it runs only while holding the slots described by `slots`.
 * The slots are acquired with the caller's signal, released after the job settles (also when
 * it fails or is aborted), and a lost lease aborts the job's signal. A failed acquire or
 * release makes the wrapped job reject; if both the job and the release fail, it rejects with
 * an `AggregateError` of the two.
 * @throws TypeError or RangeError at wrap time if `slots` is invalid.
 */
export function withSlots<T>(job: LazyJob<T>, slots: SlotOptions): LazyJob<T> {
  const { client, names, occupy } = resolveSlotOptions(slots);
  return async function jobWithSlots(signal: AbortSignal): Promise<T> {
    signal.throwIfAborted();
    // Copy: the interface takes a mutable array and the client must not alter our options.
    const lease = await client.acquire(typeof names === "string" ? names : [...names], { occupy, signal });
    if (signal.aborted || lease.signal.aborted) {
      // Granted after we stopped wanting it, or already lost: give it back without running the job.
      const reason: unknown = signal.aborted ? signal.reason : lease.signal.reason;
      await lease.release();
      throw reason;
    }
    const outcome = await runUnderLease(job, signal, lease);
    let releaseError: { readonly error: unknown } | undefined;
    try {
      await lease.release();
    } catch (error) {
      releaseError = { error };
    }
    if (!outcome.ok) {
      if (releaseError !== undefined) {
        throw new AggregateError(
          [outcome.error, releaseError.error],
          "The job failed and its slots could not be released",
        );
      }
      throw outcome.error;
    }
    if (releaseError !== undefined) {
      // The work is done, but a slot may stay held until its lease expires: others must know.
      throw releaseError.error;
    }
    return outcome.value;
  };
}

/** Runs `job` with a signal that aborts when either the caller's signal or the lease's does. */
async function runUnderLease<T>(job: LazyJob<T>, signal: AbortSignal, lease: SlotLease): Promise<Outcome<T>> {
  const controller = new AbortController();
  // Listeners are removed when the job settles so long-lived signals do not accumulate them.
  const onCallerAbort = (): void => controller.abort(signal.reason);
  const onLeaseLost = (): void => controller.abort(lease.signal.reason);
  signal.addEventListener("abort", onCallerAbort, { once: true });
  lease.signal.addEventListener("abort", onLeaseLost, { once: true });
  try {
    return { ok: true, value: await job(controller.signal) };
  } catch (error) {
    return { ok: false, error };
  } finally {
    signal.removeEventListener("abort", onCallerAbort);
    lease.signal.removeEventListener("abort", onLeaseLost);
  }
}
