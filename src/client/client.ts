/**
 * `createClient()`: the runtime-neutral client of an edge-gcl Worker. Over HTTP it needs only
 * `fetch`, so it runs in Workers, Node >= 20, Deno, Bun and browsers; in a Worker with a service
 * binding to edge-gcl (`{ binding: env.GCL }`) every call is an RPC call instead.
 */

import type { MinimalLimit } from "../protocol/types";
import { ConcurrencySlotAcquisitionError, formatNames } from "./errors";
import { HttpTransport } from "./http";
import { createLimitsApi, type LimitsApi } from "./limits";
import {
  type AcquireOptions,
  type ClientOptions,
  type Logger,
  type Names,
  type RateLimitOptions,
  type ResolvedWaitOptions,
  resolveAcquireOptions,
  resolveClientOptions,
  resolveNames,
  resolveWaitOptions,
} from "./options";
import { RpcTransport } from "./rpc";
import { HeldSlots, isLeaseGrant, type Slots } from "./slots";
import { got } from "../protocol/arguments";
import { waitForSlots } from "./waiting";

/** What `rateLimit()` resolves with. */
export interface RateLimitResult {
  /** The limits a slot was taken on. */
  limits: MinimalLimit[];
  /** Names that matched no limit (skipped unless `strict`). */
  missing: string[];
}

export interface GclClient {
  /** The Worker's base URL, without a trailing slash. */
  readonly url: string;
  /**
   * Takes `occupy` slots on every limit in `names` (waiting as long as `timeoutSeconds` allows),
   * runs `fn`, and gives the slots back however `fn` ends: return, throw or abort. Resolves with
   * what `fn` returns. `fn`'s signal aborts when the lease is lost or `options.signal` aborts.
   * A failure to release after `fn` is logged, not thrown: the lease expires anyway.
   */
  concurrency<T>(names: Names, fn: (signal: AbortSignal) => T | PromiseLike<T>, options?: AcquireOptions): Promise<T>;
  /**
   * Takes `occupy` slots on every limit in `names` under a lease that is renewed in the
   * background until `release()` (or the end of an `await using` scope).
   */
  acquire(names: Names, options?: AcquireOptions): Promise<Slots>;
  /**
   * Waits until the rate limits in `names` admit `occupy` more slots, and takes them. Nothing is
   * released: decay gives them back. Every limit must have a `slot_decay_per_second`.
   */
  rateLimit(names: Names, options?: RateLimitOptions): Promise<RateLimitResult>;
  /** Administration: create, get, list, update, delete, enable, disable, leases. */
  readonly limits: LimitsApi;
}

/**
 * Creates a client of an edge-gcl Worker.
 *
 * @example
 * ```ts
 * const gcl = createClient({ url: "https://gcl.example.workers.dev", token: process.env.GCL_TOKEN });
 * const rows = await gcl.concurrency("db", (signal) => query(signal), { timeoutSeconds: 10 });
 * // In a Worker with a service binding to edge-gcl: RPC, no HTTP.
 * await using slot = await createClient({ binding: env.GCL }).acquire("db");
 * ```
 * @throws TypeError or RangeError naming the offending option.
 */
export function createClient(options: ClientOptions = {}): GclClient {
  const resolved = resolveClientOptions(options);
  const http =
    resolved.binding === undefined ? new HttpTransport(resolved) : new RpcTransport(resolved.binding, resolved);
  const { logger } = resolved;

  async function acquire(names: Names, acquireOptions: AcquireOptions = {}): Promise<HeldSlots> {
    const sorted = resolveNames(names);
    const settings = resolveAcquireOptions(acquireOptions);
    settings.signal?.throwIfAborted();
    if (sorted.length === 0) {
      // Prefect's C-1: no names, nothing to take.
      return new HeldSlots({ http, logger, names: sorted, grant: null, options: settings });
    }
    const body = await waitForSlots(
      http,
      {
        path: "/increment-with-lease",
        names: sorted,
        body: (waitSeconds, requestId) => ({
          names: sorted,
          slots: settings.occupy,
          mode: "concurrency",
          lease_duration: settings.leaseDuration,
          wait_seconds: waitSeconds,
          request_id: requestId,
          ...(settings.holder === undefined ? {} : { holder: settings.holder }),
        }),
      },
      settings,
    );
    if (!isLeaseGrant(body)) {
      throw unexpectedAnswer(sorted, body);
    }
    const slots = new HeldSlots({ http, logger, names: sorted, grant: body, options: settings });
    if (settings.signal?.aborted) {
      // Granted just as the caller gave up: give it back rather than leave it to expire.
      await slots.releaseQuietly();
      throw settings.signal.reason;
    }
    if (body.missing.length > 0) {
      await checkMissing(sorted, body.missing, settings, logger, () => slots.releaseQuietly());
    }
    return slots;
  }

  return {
    url: resolved.url,
    acquire,
    async concurrency(names, fn, acquireOptions) {
      if (typeof fn !== "function") {
        throw new TypeError(`Expected \`fn\` to be a function, got ${got(fn)}`);
      }
      const slots = await acquire(names, acquireOptions);
      try {
        return await fn(slots.signal);
      } finally {
        await slots.releaseQuietly();
      }
    },
    async rateLimit(names, rateOptions) {
      const sorted = resolveNames(names);
      const settings = resolveWaitOptions(rateOptions);
      settings.signal?.throwIfAborted();
      if (sorted.length === 0) {
        return { limits: [], missing: [] };
      }
      const body = await waitForSlots(
        http,
        {
          path: "/increment",
          names: sorted,
          body: (waitSeconds, requestId) => ({
            names: sorted,
            slots: settings.occupy,
            mode: "rate_limit",
            wait_seconds: waitSeconds,
            request_id: requestId,
          }),
        },
        settings,
      );
      if (!Array.isArray(body)) {
        throw unexpectedAnswer(sorted, body);
      }
      const limits = body as MinimalLimit[];
      const found = new Set(limits.map((limit) => limit.name));
      const missing = sorted.filter((name) => !found.has(name));
      if (missing.length > 0) {
        // Rate slots taken on the limits that exist cannot be given back: only decay frees them.
        await checkMissing(sorted, missing, settings, logger, async () => undefined);
      }
      return { limits, missing };
    },
    limits: createLimitsApi(http),
  };
}

/**
 * Applies `strict` to a grant that skipped `missing` names: throws (after giving back what was
 * taken), or warns and lets the caller go on with the limits that exist.
 */
async function checkMissing(
  names: readonly string[],
  missing: readonly string[],
  settings: ResolvedWaitOptions,
  logger: Logger,
  giveBack: () => Promise<void>,
): Promise<void> {
  if (settings.strict) {
    await giveBack();
    throw new ConcurrencySlotAcquisitionError(
      `Concurrency limits ${formatNames(missing)} must be created before acquiring slots`,
      { reason: "missing", names, missing },
    );
  }
  const present = names.filter((name) => !missing.includes(name));
  logger.warn(
    present.length === 0
      ? `Concurrency limits ${formatNames(missing)} do not exist - skipping acquisition.`
      : `Concurrency limits ${formatNames(missing)} do not exist - acquiring only ${formatNames(present)}.`,
  );
}

function unexpectedAnswer(names: readonly string[], body: unknown): ConcurrencySlotAcquisitionError {
  return new ConcurrencySlotAcquisitionError(
    `Unable to acquire concurrency slots on ${formatNames(names)}: unexpected answer ${got(body)} (is \`url\` an edge-gcl Worker?)`,
    { reason: "unexpected_answer", names },
  );
}
