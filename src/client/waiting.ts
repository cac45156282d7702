/**
 * The waiting loop behind `acquire()`, `concurrency()` and `rateLimit()`: long-polls with the
 * server's `wait_seconds` (at most 60 s each, never past the caller's deadline) until the slots are
 * granted, `timeoutSeconds` passes, `maxRetries` runs out or the caller aborts. A server that
 * answers 423 before the wait it was asked for (one that does not wait, or a race it resolves by
 * asking the client to come back) is honoured with a sleep of its `Retry-After`.
 */

import { MAX_WAIT_SECONDS } from "../protocol/constants";
import { fullJitterMs, parseRetryAfterMs, sleep } from "./backoff";
import { AcquireTimeoutError, ConcurrencySlotAcquisitionError, formatNames } from "./errors";
import { type HttpAnswer, isTransient, refusalOf, type Transport, UnreachableError } from "./http";
import type { ResolvedWaitOptions } from "./options";

/** One acquisition request, re-sent with a new `wait_seconds` on every attempt. */
export interface SlotRequest {
  path: "/increment" | "/increment-with-lease";
  /** Sorted, de-duplicated names. */
  names: readonly string[];
  /** The request body for one try; `requestId` lets the client withdraw it (`POST /cancel`). */
  body(waitSeconds: number, requestId: string): Record<string, unknown>;
}

/** Backoff for a 423 that came without a usable `Retry-After` (never from this server). */
const LOCKED_BACKOFF = { baseDelayMs: 100, maxDelayMs: 10_000 } as const;

/**
 * Sends `request` until it is granted and resolves with the grant's body.
 * @throws AcquireTimeoutError when `timeoutSeconds` passes; ConcurrencySlotAcquisitionError when
 * the server refuses for another reason than "no room yet", `maxRetries` runs out, or the service
 * cannot be reached; the signal's reason when the caller aborts.
 */
export async function waitForSlots(http: Transport, request: SlotRequest, options: ResolvedWaitOptions): Promise<unknown> {
  const { names } = request;
  const { timeoutSeconds, maxRetries, signal } = options;
  const deadline = timeoutSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutSeconds * 1000;
  const timedOut = (cause?: unknown): AcquireTimeoutError =>
    // `timeoutSeconds` is set whenever the deadline is finite.
    new AcquireTimeoutError({ names, timeoutSeconds: timeoutSeconds ?? 0, cause });

  for (let attempt = 1; ; attempt += 1) {
    signal?.throwIfAborted();
    let waitSeconds = waitFor(deadline, maxRetries);
    let sentAt = Date.now();
    /** The request ids of this attempt's tries; a try that got no answer may still be in line. */
    const tries: string[] = [];
    let answer: HttpAnswer;
    try {
      answer = await http.send("POST", request.path, {
        // Recomputed for each try after a network error, so a retry never waits past the deadline.
        body: () => {
          waitSeconds = waitFor(deadline, maxRetries);
          sentAt = Date.now();
          const requestId = crypto.randomUUID();
          tries.push(requestId);
          return request.body(waitSeconds, requestId);
        },
        signal,
        extraTimeoutMs: waitSeconds * 1000,
        deadline,
      });
    } catch (error) {
      // Aborted or unreachable: a try may be waiting in line, or granted, with nobody to take it.
      withdraw(http, names, tries);
      if (!(error instanceof UnreachableError)) {
        throw error;
      }
      if (Date.now() >= deadline) {
        throw timedOut(error);
      }
      throw new ConcurrencySlotAcquisitionError(
        `Unable to acquire concurrency slots on ${formatNames(names)}: ${error.message}`,
        { names, cause: error },
      );
    }
    withdraw(http, names, tries.slice(0, -1));
    if (answer.status === 200) {
      return answer.body;
    }
    const refusal = refusalOf(answer);
    if (answer.status !== 423) {
      const error = new ConcurrencySlotAcquisitionError(
        `Unable to acquire concurrency slots on ${formatNames(names)}: ${refusal.status} ${refusal.code ?? "error"}: ${refusal.detail}`,
        { names, refusal },
      );
      // Still failing when time ran out: that is a timeout, caused by the failure.
      throw isTransient(answer) && Date.now() >= deadline ? timedOut(error) : error;
    }
    if (maxRetries !== undefined && attempt > maxRetries) {
      throw new ConcurrencySlotAcquisitionError(
        `Unable to acquire concurrency slots on ${formatNames(names)}: still locked after ${attempt} attempt(s) (maxRetries: ${maxRetries})`,
        { names, refusal },
      );
    }
    const now = Date.now();
    if (now >= deadline) {
      throw timedOut();
    }
    if (answeredEarly(now - sentAt, waitSeconds)) {
      const retryAfterMs = parseRetryAfterMs(answer.headers.get("retry-after")) ?? fullJitterMs(attempt, LOCKED_BACKOFF);
      await sleep(Math.min(retryAfterMs, deadline - now), signal);
      if (Date.now() >= deadline) {
        throw timedOut();
      }
    }
  }
}

/**
 * Asks the service to withdraw tries that got no answer: their place in line, or a grant that
 * never arrived. Best effort and not awaited: if it fails, a waiter times out and a lease expires.
 */
function withdraw(http: Transport, names: readonly string[], requestIds: readonly string[]): void {
  for (const requestId of requestIds) {
    void http.send("POST", "/cancel", { body: { names, request_id: requestId } }).catch(() => undefined);
  }
}

/**
 * The `wait_seconds` of the next request: none for a single answer-now attempt (`maxRetries: 0`),
 * else up to 60 s and never past the deadline, in whole milliseconds rounded down.
 */
function waitFor(deadline: number, maxRetries: number | undefined): number {
  if (maxRetries === 0) {
    return 0;
  }
  const remainingMs = Math.max(0, deadline - Date.now());
  return Math.floor(Math.min(MAX_WAIT_SECONDS * 1000, remainingMs)) / 1000;
}

/**
 * Whether a 423 came well before the wait asked for: the server did not wait (an older or
 * different server), or asked the client to come back at once. The margin keeps a wait that ended
 * a little early by the clocks (timer granularity) from being mistaken for one.
 */
function answeredEarly(elapsedMs: number, waitSeconds: number): boolean {
  return elapsedMs < waitSeconds * 1000 * 0.9;
}
