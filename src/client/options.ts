/**
 * Options of the client and of its calls: the documented types, their defaults, and resolvers
 * that validate at the call, before any request, with messages naming the option. Imports only
 * the protocol's constants and types.
 */

import {
  DEFAULT_LEASE_SECONDS,
  DEFAULT_URL,
  MAX_LEASE_SECONDS,
  MAX_HOLDER_TYPE_LENGTH,
  MAX_NAME_LENGTH,
  MAX_NAMES,
  MAX_SLOTS,
  MIN_LEASE_SECONDS,
} from "../protocol/constants";
import { isLimitName, NAME_RULE } from "../protocol/names";
import type { LeaseHolder } from "../protocol/types";
import { got, isAbortSignal } from "../protocol/arguments";
import { expectInteger, expectNumber, expectObject, isHolder, isHttpUrl } from "./validate";

// ── Client ──

/** Where warnings and errors that have no caller to go to are reported. `console` fits. */
export interface Logger {
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

/** What the client passes to `fetch`. */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** What the client reads from a `fetch` answer: any `Response` fits. */
export interface FetchResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/**
 * A `fetch` function: the global one, a service binding's (`env.GCL.fetch.bind(env.GCL)`), or a
 * Worker's own handler in tests.
 */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponse>;

/** How calls that failed for a passing reason (network error, 429, 502, 503, 504) are retried. */
export interface RetryOptions {
  /**
   * Tries per call, the first included. Minimum: 1.
   * @default 4
   */
  readonly maxAttempts?: number;
  /**
   * Bound of the first random delay, in milliseconds; it doubles with each retry.
   * @default 200
   */
  readonly baseDelayMs?: number;
  /**
   * Largest delay bound, in milliseconds. Must be >= `baseDelayMs`.
   * @default 5000
   */
  readonly maxDelayMs?: number;
}

export interface ClientOptions {
  /**
   * Base URL of the edge-gcl Worker. With a service binding the host is not used, but the URL
   * must still be absolute.
   * @default "http://127.0.0.1:8787" (`npm run dev`)
   */
  readonly url?: string;
  /**
   * Bearer token: `GCL_CLIENT_TOKEN` to take slots, `GCL_ADMIN_TOKEN` also to manage limits.
   * @default undefined (no Authorization header; fine for `npm run dev`)
   */
  readonly token?: string;
  /**
   * The `fetch` to send requests with.
   * @default globalThis.fetch
   */
  readonly fetch?: FetchLike;
  /**
   * A service binding to edge-gcl (`env.GCL`, from `services = [{ binding = "GCL", service =
   * "edge-gcl" }]`): every call is then an RPC call on it, with no HTTP in between. `url`,
   * `token` and `fetch` are not used (a service binding is trusted as same-account).
   * @default undefined (HTTP over `fetch`)
   */
  readonly binding?: object;
  /**
   * Receives warnings (missing limits, a lease lost with `onLeaseLost: "continue"`) and errors
   * (a lease lost, a release that failed after the work was done).
   * @default console
   */
  readonly logger?: Logger;
  /**
   * Retries of network errors and 429/502/503/504 answers; `false` tries once.
   * @default { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5000 }
   */
  readonly retry?: RetryOptions | false;
  /**
   * How long to wait for an answer, in seconds, on top of the server-side wait a long-poll asks
   * for. A request without an answer by then is treated like a network error.
   * @default 30
   */
  readonly requestTimeoutSeconds?: number;
  /**
   * Whether a single-name wait waits over the limit's WebSocket (pushed, hibernating, no polling)
   * where the runtime has one: Workers (through `fetch`), and Node ≥ 22, Deno, Bun and browsers
   * (their `WebSocket`, when `fetch` is the global one). Falls back to long-polls otherwise.
   * @default true
   */
  readonly sockets?: boolean;
}

export const DEFAULT_RETRY_OPTIONS = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 } as const;

export const DEFAULT_CLIENT_OPTIONS = {
  url: DEFAULT_URL,
  requestTimeoutSeconds: 30,
} as const;

export interface ResolvedClientOptions {
  readonly url: string;
  readonly token: string | undefined;
  readonly fetch: FetchLike;
  /** Set when calls go over RPC instead of HTTP. */
  readonly binding: object | undefined;
  readonly logger: Logger;
  readonly retry: Required<RetryOptions>;
  readonly requestTimeoutMs: number;
  /** Whether waits may use WebSockets. */
  readonly sockets: boolean;
  /** Whether `fetch` is the caller's own (then a socket is opened through it, or not at all). */
  readonly ownFetch: boolean;
}

/**
 * Validates `options` and fills in defaults.
 * @throws TypeError or RangeError naming the offending option.
 */
export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  expectObject(options, "options");
  const url = options.url ?? DEFAULT_CLIENT_OPTIONS.url;
  if (typeof url !== "string" || !isHttpUrl(url)) {
    throw new TypeError(`Expected \`url\` to be an absolute http(s) URL, got ${got(url)}`);
  }
  const { token, logger = console } = options;
  if (token !== undefined && (typeof token !== "string" || token === "")) {
    throw new TypeError(`Expected \`token\` to be a non-empty string, got ${got(token)}`);
  }
  if (options.fetch !== undefined && typeof options.fetch !== "function") {
    throw new TypeError(`Expected \`fetch\` to be a function, got ${got(options.fetch)}`);
  }
  const { binding } = options;
  if (binding !== undefined && ((typeof binding !== "object" && typeof binding !== "function") || binding === null)) {
    throw new TypeError(`Expected \`binding\` to be a service binding (env.GCL), got ${got(binding)}`);
  }
  if (binding !== undefined && options.fetch !== undefined) {
    throw new TypeError(
      "Expected either `binding` or `fetch`, not both: a binding is called over RPC, `fetch` over HTTP",
    );
  }
  if (
    typeof logger !== "object" ||
    logger === null ||
    typeof logger.warn !== "function" ||
    typeof logger.error !== "function"
  ) {
    throw new TypeError(`Expected \`logger\` to have \`warn\` and \`error\` methods, got ${got(logger)}`);
  }
  const requestTimeoutSeconds = options.requestTimeoutSeconds ?? DEFAULT_CLIENT_OPTIONS.requestTimeoutSeconds;
  expectNumber(requestTimeoutSeconds, "requestTimeoutSeconds", { min: 0, exclusiveMin: true });
  if (options.sockets !== undefined && typeof options.sockets !== "boolean") {
    throw new TypeError(`Expected \`sockets\` to be a boolean, got ${got(options.sockets)}`);
  }
  // Read `fetch` at call time: tests and polyfills may replace the global after the client is made.
  const fetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  return {
    url: url.replace(/\/+$/, ""),
    token,
    fetch,
    binding,
    logger,
    retry: resolveRetryOptions(options.retry),
    requestTimeoutMs: requestTimeoutSeconds * 1000,
    sockets: options.sockets ?? true,
    ownFetch: options.fetch !== undefined,
  };
}

function resolveRetryOptions(retry: RetryOptions | false | undefined): Required<RetryOptions> {
  if (retry === false) {
    return { ...DEFAULT_RETRY_OPTIONS, maxAttempts: 1 };
  }
  expectObject(retry ?? {}, "retry");
  const maxAttempts = retry?.maxAttempts ?? DEFAULT_RETRY_OPTIONS.maxAttempts;
  const baseDelayMs = retry?.baseDelayMs ?? DEFAULT_RETRY_OPTIONS.baseDelayMs;
  const maxDelayMs = retry?.maxDelayMs ?? DEFAULT_RETRY_OPTIONS.maxDelayMs;
  expectInteger(maxAttempts, "retry.maxAttempts", 1);
  expectNumber(baseDelayMs, "retry.baseDelayMs", { min: 0 });
  expectNumber(maxDelayMs, "retry.maxDelayMs", { min: baseDelayMs, minLabel: "`retry.baseDelayMs`" });
  return { maxAttempts, baseDelayMs, maxDelayMs };
}

// ── Acquisition ──

/** One limit name, or several that must all have room. */
export type Names = string | readonly string[];

/** Options shared by every call that waits for slots. */
export interface WaitOptions {
  /**
   * Slots to take on each limit. An integer >= 1.
   * @default 1
   */
  readonly occupy?: number;
  /**
   * Give up with an `AcquireTimeoutError` after this many seconds. `0` makes a single answer-now
   * attempt. Bounds the whole call, whatever `maxRetries` allows.
   * @default undefined (wait forever)
   */
  readonly timeoutSeconds?: number;
  /**
   * Requests after the first one, each a server-side wait of up to 60 s (or a `Retry-After`
   * sleep on a server that does not wait); `0` is a single answer-now attempt. When they run out
   * the call fails with a `ConcurrencySlotAcquisitionError`. Network errors and 429/502/503/504
   * are not counted here (see `retry` on the client).
   * @default undefined (no limit: `timeoutSeconds` alone decides)
   */
  readonly maxRetries?: number;
  /**
   * Fail with a `ConcurrencySlotAcquisitionError` if any name has no limit. Otherwise missing
   * names are skipped with a warning, as in Prefect.
   * @default false
   */
  readonly strict?: boolean;
  /**
   * Stops waiting (the call rejects with the signal's reason); while slots are held, aborts the
   * holder's `signal` too.
   * @default undefined
   */
  readonly signal?: AbortSignal;
}

/** Options of `acquire()` and `concurrency()`. */
export interface AcquireOptions extends WaitOptions {
  /**
   * Seconds the lease lives unless renewed; the client renews it every 0.75 × this while held.
   * Between 1 and 86400. A crashed holder's slots come back after at most this long.
   * @default 60
   */
  readonly leaseDuration?: number;
  /**
   * Who holds the lease, shown by `limits.leases()`.
   * @default undefined
   */
  readonly holder?: LeaseHolder;
  /**
   * What happens when the lease cannot be renewed: `"abort"` aborts the holder's `signal` with a
   * `LeaseLostError` (and logs an error); `"continue"` logs a warning and lets the work go on
   * without the slots (others may then be admitted).
   * @default "abort"
   */
  readonly onLeaseLost?: "abort" | "continue";
}

/** Options of `rateLimit()`. */
export type RateLimitOptions = WaitOptions;

export const DEFAULT_WAIT_OPTIONS = {
  occupy: 1,
  timeoutSeconds: undefined,
  maxRetries: undefined,
  strict: false,
  signal: undefined,
} as const;

export const DEFAULT_ACQUIRE_OPTIONS = {
  ...DEFAULT_WAIT_OPTIONS,
  leaseDuration: DEFAULT_LEASE_SECONDS,
  holder: undefined,
  onLeaseLost: "abort",
} as const;

export interface ResolvedWaitOptions {
  readonly occupy: number;
  readonly timeoutSeconds: number | undefined;
  readonly maxRetries: number | undefined;
  readonly strict: boolean;
  readonly signal: AbortSignal | undefined;
}

export interface ResolvedAcquireOptions extends ResolvedWaitOptions {
  readonly leaseDuration: number;
  readonly holder: LeaseHolder | undefined;
  readonly onLeaseLost: "abort" | "continue";
}

/**
 * Validates `options` of `rateLimit()` (and the shared part of `acquire()`) and fills in defaults.
 * @throws TypeError or RangeError naming the offending option.
 */
export function resolveWaitOptions(options: WaitOptions = {}): ResolvedWaitOptions {
  expectObject(options, "options");
  const { timeoutSeconds, maxRetries, signal } = options;
  const occupy = options.occupy ?? DEFAULT_WAIT_OPTIONS.occupy;
  const strict = options.strict ?? DEFAULT_WAIT_OPTIONS.strict;
  expectInteger(occupy, "occupy", 1, MAX_SLOTS);
  if (timeoutSeconds !== undefined) {
    expectNumber(timeoutSeconds, "timeoutSeconds", { min: 0 });
  }
  if (maxRetries !== undefined) {
    expectInteger(maxRetries, "maxRetries", 0);
  }
  if (typeof strict !== "boolean") {
    throw new TypeError(`Expected \`strict\` to be a boolean, got ${got(strict)}`);
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${got(signal)}`);
  }
  return { occupy, timeoutSeconds, maxRetries, strict, signal };
}

/**
 * Validates `options` of `acquire()` and `concurrency()` and fills in defaults.
 * @throws TypeError or RangeError naming the offending option.
 */
export function resolveAcquireOptions(options: AcquireOptions = {}): ResolvedAcquireOptions {
  const wait = resolveWaitOptions(options);
  const { holder } = options;
  const leaseDuration = options.leaseDuration ?? DEFAULT_ACQUIRE_OPTIONS.leaseDuration;
  const onLeaseLost = options.onLeaseLost ?? DEFAULT_ACQUIRE_OPTIONS.onLeaseLost;
  expectNumber(leaseDuration, "leaseDuration", { min: MIN_LEASE_SECONDS, max: MAX_LEASE_SECONDS });
  if (holder !== undefined && !isHolder(holder)) {
    throw new TypeError(
      `Expected \`holder\` to be { type, id } with non-empty strings (type <= ${MAX_HOLDER_TYPE_LENGTH}, id <= ${MAX_NAME_LENGTH} characters), got ${got(holder)}`,
    );
  }
  if (onLeaseLost !== "abort" && onLeaseLost !== "continue") {
    throw new TypeError(`Expected \`onLeaseLost\` to be "abort" or "continue", got ${got(onLeaseLost)}`);
  }
  return { ...wait, leaseDuration, holder, onLeaseLost };
}

/**
 * Validates limit names and returns them de-duplicated and sorted, as the server takes them
 * (Prefect's C-1). An empty array is allowed: the call then takes nothing.
 * @throws TypeError or RangeError naming `names`.
 */
export function resolveNames(names: Names): string[] {
  const list: readonly unknown[] = typeof names === "string" ? [names] : Array.isArray(names) ? names : [names];
  for (const name of list) {
    if (!isLimitName(name)) {
      throw new TypeError(`Expected \`names\` to be limit names (${NAME_RULE}), got ${got(name)}`);
    }
  }
  const unique = [...new Set(list as readonly string[])].sort();
  if (unique.length > MAX_NAMES) {
    throw new RangeError(`Expected \`names\` to list at most ${MAX_NAMES} distinct names, got ${unique.length}`);
  }
  return unique;
}
