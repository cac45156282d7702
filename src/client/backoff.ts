/**
 * Waiting helpers of the client: full-jitter backoff, an abortable sleep, `Retry-After` parsing
 * and timer unref. Standard JavaScript only, so they run in Workers, Node, Deno, Bun and browsers.
 */

/** How a failed call is retried. */
export interface BackoffPolicy {
  /** First delay bound, in milliseconds; it doubles with every attempt. */
  baseDelayMs: number;
  /** Largest delay bound, in milliseconds. */
  maxDelayMs: number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry): uniformly random up to
 * `min(maxDelayMs, baseDelayMs × 2^(attempt-1))` ("full jitter"), so clients that failed together
 * do not come back together.
 */
export function fullJitterMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * bound);
}

/**
 * The delay before retrying an answer that asked for it. An `overloaded` object is never retried
 * at once: at least its `Retry-After` (or `baseDelayMs`), doubled for every retry, plus up to as
 * much again at random so the clients it shed do not all come back together. Any other answer
 * waits its `Retry-After` if it gave one, else full jitter.
 */
export function retryDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  answer: { retryAfterMs: number | undefined; overloaded: boolean },
  random: () => number = Math.random,
): number {
  if (!answer.overloaded) {
    return answer.retryAfterMs ?? fullJitterMs(attempt, policy, random);
  }
  const floor = Math.max(answer.retryAfterMs ?? 0, policy.baseDelayMs, 1) * 2 ** Math.max(0, attempt - 1);
  return Math.floor(floor * (1 + random()));
}

/**
 * Resolves after `ms`, or rejects with `signal.reason` as soon as `signal` aborts. The timer is
 * cleared on abort, so an aborted sleep keeps nothing alive; with `unref`, a pending one does not
 * keep a Node process alive either.
 */
export function sleep(ms: number, signal?: AbortSignal, options: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    if (options.unref) {
      unrefTimer(timer);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The `Retry-After` header as milliseconds. The server sends decimal seconds (as Prefect's
 * clients parse it); an HTTP date is accepted too, for proxies. `undefined` when absent or
 * unreadable.
 */
export function parseRetryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === "") {
    return undefined;
  }
  const seconds = Number(header);
  if (Number.isFinite(seconds)) {
    return Math.max(0, seconds * 1000);
  }
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Lets Node, Bun and Deno exit while only this timer is pending. Used for lease renewal: if
 * nothing but the renewal is left, nobody is working under the lease any more.
 */
export function unrefTimer(timer: unknown): void {
  // Node, Bun: a Timeout object with unref(). Workers and browsers: a number, nothing to do.
  if (typeof timer === "object" && timer !== null && "unref" in timer && typeof timer.unref === "function") {
    (timer as { unref(): void }).unref();
  }
}
