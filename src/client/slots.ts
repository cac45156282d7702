/**
 * A held set of slots: the lease, its background renewal, and its release. Renewal is a chain of
 * `setTimeout`s (JavaScript has no threads) that never keeps a Node process alive on its own, and
 * everything it started is stopped by `release()`.
 */

import type { LeasedLimit, LeaseGrant } from "../protocol/types";
import { sleep, unrefTimer } from "./backoff";
import { formatNames, LeaseLostError } from "./errors";
import { isTransient, refusalOf, toGclError, unreachable, type Transport, UnreachableError } from "./http";
import type { Logger, ResolvedAcquireOptions } from "./options";
import { request } from "./request";

/** Renew when this fraction of the lease has passed. */
const RENEW_AT_FRACTION = 0.75;
/** Tries per renewal, the first included, before the lease counts as lost. */
const RENEWAL_ATTEMPTS = 3;
/** The last try is made this fraction of the lease before it would expire. */
const RENEWAL_MARGIN_FRACTION = 0.05;

/** Slots taken with `acquire()`. Give them back with `release()`, or hold them with `await using`. */
export interface Slots {
  /** The lease id (opaque); `null` when no name was given and nothing was requested. */
  readonly leaseId: string | null;
  /** The names asked for, de-duplicated and sorted. */
  readonly names: readonly string[];
  /** The limits the slots were taken on (inactive limits included: they admit without counting). */
  readonly limits: readonly LeasedLimit[];
  /** Each limit's fencing token, by name: larger for every later grant on that limit. */
  readonly fencingTokens: Readonly<Record<string, number>>;
  /** Names that matched no limit (skipped unless `strict`). */
  readonly missing: readonly string[];
  /**
   * Aborts when the lease is lost (reason: a `LeaseLostError`; not with `onLeaseLost:
   * "continue"`) or when the `signal` given to `acquire()` aborts (with its reason).
   */
  readonly signal: AbortSignal;
  /** Whether `release()` has been called. */
  readonly released: boolean;
  /**
   * Stops renewal and gives the slots back; later calls return the same promise. Retries passing
   * failures; if the service still cannot be reached, rejects with a `GclError` (the slots come
   * back by themselves when the lease expires).
   */
  release(): Promise<void>;
  /** `release()`, for `await using`; a failure is logged, not thrown (the lease expires anyway). */
  [Symbol.asyncDispose](): Promise<void>;
}

interface HeldSlotsInit {
  http: Transport;
  logger: Logger;
  names: readonly string[];
  grant: LeaseGrant | null;
  options: ResolvedAcquireOptions;
}

export class HeldSlots implements Slots {
  readonly leaseId: string | null;
  readonly names: readonly string[];
  readonly limits: readonly LeasedLimit[];
  readonly fencingTokens: Readonly<Record<string, number>>;
  readonly missing: readonly string[];

  readonly #http: Transport;
  readonly #logger: Logger;
  readonly #options: ResolvedAcquireOptions;
  /** Aborts the holder's signal. */
  readonly #holder = new AbortController();
  /** Stops an in-flight renewal when the slots are released. */
  readonly #renewal = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the lease's current term began, at the latest: it lives until this + the lease duration. */
  #termStartedAt = Date.now();
  #releasing: Promise<void> | undefined;
  readonly #onCallerAbort = (): void => this.#holder.abort(this.#options.signal?.reason);

  constructor(init: HeldSlotsInit) {
    const { grant, options } = init;
    this.#http = init.http;
    this.#logger = init.logger;
    this.#options = options;
    this.names = init.names;
    this.leaseId = grant?.lease_id ?? null;
    this.limits = grant?.limits ?? [];
    this.missing = grant?.missing ?? [];
    this.fencingTokens = Object.fromEntries(this.limits.map((limit) => [limit.name, limit.fencing_token]));
    options.signal?.addEventListener("abort", this.#onCallerAbort, { once: true });
    if (this.#holdsLease()) {
      this.#scheduleRenewal();
    }
  }

  get signal(): AbortSignal {
    return this.#holder.signal;
  }

  get released(): boolean {
    return this.#releasing !== undefined;
  }

  release(): Promise<void> {
    this.#releasing ??= this.#release();
    return this.#releasing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.releaseQuietly();
  }

  /** `release()`, logging a failure instead of throwing it: for exit paths that must not fail. */
  async releaseQuietly(): Promise<void> {
    try {
      await this.release();
    } catch (error) {
      this.#logger.error(
        `Could not release concurrency slots on ${formatNames(this.names)} (lease ${this.leaseId}); ` +
          `they come back when the lease expires, within ${this.#options.leaseDuration} s`,
        error,
      );
    }
  }

  /** An all-missing grant holds nothing: Prefect neither renews nor releases it (C-6). */
  #holdsLease(): boolean {
    return this.leaseId !== null && this.limits.length > 0;
  }

  async #release(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
    }
    this.#renewal.abort();
    this.#options.signal?.removeEventListener("abort", this.#onCallerAbort);
    if (!this.#holdsLease()) {
      return;
    }
    // Not the caller's signal: the slots must go back even when the caller gave up.
    await request(this.#http, "POST", "/decrement-with-lease", { body: { lease_id: this.leaseId } });
  }

  /**
   * Schedules the next renewal at 0.75 × the lease after `sentAt`: the moment the last grant or
   * renewal was asked for, which is no later than the server started the lease's new term.
   */
  #scheduleRenewal(sentAt: number = Date.now()): void {
    this.#termStartedAt = sentAt;
    const dueInMs = sentAt + this.#options.leaseDuration * 1000 * RENEW_AT_FRACTION - Date.now();
    // #renew handles its own failures; only a throwing logger could reach this catch.
    this.#timer = setTimeout(() => void this.#renew().catch(() => undefined), Math.max(0, dueInMs));
    unrefTimer(this.#timer);
  }

  /**
   * One renewal: up to RENEWAL_ATTEMPTS tries, spread over the quarter of the lease it has left, so
   * an outage shorter than that (a Worker restarting) is ridden out rather than ending the lease.
   */
  async #renew(): Promise<void> {
    const leaseMs = this.#options.leaseDuration * 1000;
    const lastTryBy = this.#termStartedAt + leaseMs * (1 - RENEWAL_MARGIN_FRACTION);
    const signal = this.#renewal.signal;
    let lastError: unknown;
    for (let attempt = 1; attempt <= RENEWAL_ATTEMPTS && !signal.aborted; attempt += 1) {
      if (attempt > 1) {
        // An even share of the time left per remaining try, jittered a little earlier.
        const shareMs = Math.max(0, lastTryBy - Date.now()) / (RENEWAL_ATTEMPTS - attempt + 1);
        await sleep(shareMs * (0.8 + 0.2 * Math.random()), signal, { unref: true }).catch(() => undefined);
        if (signal.aborted) {
          return;
        }
      }
      const sentAt = Date.now();
      try {
        const answer = await this.#http.once("POST", `/leases/${encodeURIComponent(this.leaseId ?? "")}/renew`, {
          body: { lease_duration: this.#options.leaseDuration },
          signal,
        });
        if (answer.status >= 200 && answer.status < 300) {
          this.#scheduleRenewal(sentAt);
          return;
        }
        if (!isTransient(answer)) {
          // 410: expired, released behind our back, or revoked by a delete. Retrying cannot help.
          const { status, code, detail } = refusalOf(answer);
          this.#lose(`renewal was refused (${status} ${code ?? "error"}: ${detail})`, toGclError(answer));
          return;
        }
        lastError = toGclError(answer);
      } catch (error) {
        lastError = error instanceof UnreachableError ? unreachable(error) : error;
      }
    }
    if (!signal.aborted) {
      const last = lastError instanceof Error ? lastError.message : String(lastError);
      this.#lose(`${RENEWAL_ATTEMPTS} renewal attempts failed (last: ${last})`, lastError);
    }
  }

  #lose(reason: string, cause: unknown): void {
    if (this.#renewal.signal.aborted) {
      return;
    }
    const error = new LeaseLostError({ leaseId: this.leaseId ?? "", names: this.names, reason, cause });
    if (this.#options.onLeaseLost === "continue") {
      this.#logger.warn(`${error.message}; continuing without the slots (onLeaseLost: "continue")`);
      return;
    }
    this.#logger.error(`${error.message}; aborting the holder's signal`);
    this.#holder.abort(error);
  }
}

/** Whether `value` is a lease grant as `/increment-with-lease` answers it. */
export function isLeaseGrant(value: unknown): value is LeaseGrant {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const grant = value as Partial<Record<keyof LeaseGrant, unknown>>;
  return typeof grant.lease_id === "string" && Array.isArray(grant.limits) && Array.isArray(grant.missing);
}
