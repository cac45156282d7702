/**
 * The waiting loop behind `acquire()`, `concurrency()` and `rateLimit()`: long-polls with the
 * server's `wait_seconds` (at most 60 s each, never past the caller's deadline) until the slots are
 * granted, `timeoutSeconds` passes, `maxRetries` runs out or the caller aborts. A single-name
 * request keeps its place in line across polls and network errors by sending the same
 * `request_id` each time, and withdraws it when it gives up; where it can, a wait longer than its
 * first 2 s goes on over the limit's WebSocket (`./socket-wait`), with no polling at all. A server that
 * answers 423 before the wait it was asked for (one that does not wait, or a race it resolves by
 * asking the client to come back) is honoured with a sleep of its `Retry-After`.
 */

import { MAX_WAIT_SECONDS } from "../protocol/constants";
import { fullJitterMs, parseRetryAfterMs, sleep } from "./backoff";
import { AcquireTimeoutError, ConcurrencySlotAcquisitionError, formatNames } from "./errors";
import { type HttpAnswer, isTransient, refusalOf, type Transport, UnreachableError } from "./http";
import type { ResolvedWaitOptions } from "./options";
import { NO_SOCKET, waitBySocket, withdraw } from "./socket-wait";
import type { SocketRequest } from "../protocol/socket";

/** One acquisition request, re-sent with a new `wait_seconds` on every attempt. */
export interface SlotRequest {
  path: "/increment" | "/increment-with-lease";
  /** Sorted, de-duplicated names. */
  names: readonly string[];
  /** The request body for one try; `requestId` lets the client withdraw it (`POST /cancel`). */
  body(waitSeconds: number, requestId: string): Record<string, unknown>;
}

/**
 * How long a waiting single-name request rides out an unreachable service (a Worker restart)
 * before it fails closed; never past its own deadline.
 */
const RIDE_OUT_MS = 60_000;
/** Backoff between tries while the service cannot be reached. */
const OUTAGE_BACKOFF = { baseDelayMs: 250, maxDelayMs: 2_000 } as const;

/**
 * How long a single-name wait long-polls before it moves to the limit's socket: a short wait is
 * served by the long-poll (the cheapest hand-off), a long one waits on the socket, where it costs
 * nothing while it waits.
 */
const SOCKET_AFTER_SECONDS = 2;

/** Backoff for a 423 that came without a usable `Retry-After` (never from this server). */
const LOCKED_BACKOFF = { baseDelayMs: 100, maxDelayMs: 10_000 } as const;

/**
 * Sends `request` until it is granted and resolves with the grant's body.
 * @throws AcquireTimeoutError when `timeoutSeconds` passes; ConcurrencySlotAcquisitionError when
 * the server refuses for another reason than "no room yet", `maxRetries` runs out, or the service
 * cannot be reached; the signal's reason when the caller aborts.
 */
export async function waitForSlots(
  http: Transport,
  request: SlotRequest,
  options: ResolvedWaitOptions,
): Promise<unknown> {
  const { names } = request;
  const { timeoutSeconds, maxRetries, signal } = options;
  const deadline = timeoutSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutSeconds * 1000;
  const timedOut = (cause?: unknown): AcquireTimeoutError =>
    // `timeoutSeconds` is set whenever the deadline is finite.
    new AcquireTimeoutError({ names, timeoutSeconds: timeoutSeconds ?? 0, cause });
  // One request id for the whole wait, so every poll and every retry after a network error comes
  // back to the same place in line (DESIGN §7.2), and a multi-name request to its reservations.
  let placeId = crypto.randomUUID();
  // One name, waiting as long as it takes: the first long-poll answers at once when there is room
  // and serves a short wait; a wait that outlasts it keeps its place and goes on over the socket.
  const [only] = names;
  let bySocket = only !== undefined && names.length === 1 && maxRetries === undefined && http.mayOpenSockets();
  const waitBy = (): Promise<unknown> =>
    waitBySocket(http, {
      name: only ?? "",
      kind: request.path === "/increment-with-lease" ? "lease" : "increment",
      request: (requestId) => {
        const { names: _names, wait_seconds: _wait, ...rest } = request.body(0, requestId);
        return rest as SocketRequest["request"];
      },
      requestId: placeId,
      deadline,
      signal,
      timedOut,
    });

  /** The `wait_seconds` of this attempt: before a socket, a short first long-poll. */
  const nextWait = (): number =>
    bySocket ? Math.min(SOCKET_AFTER_SECONDS, waitFor(deadline, maxRetries)) : waitFor(deadline, maxRetries);
  /** Whether an outage is ridden out: always for one name, once answered for several. */
  let placed = names.length === 1;
  /** Since when every try failed to reach the service (undefined while it answers). */
  let unreachableSince: number | undefined;
  for (let attempt = 1; ; attempt += 1) {
    signal?.throwIfAborted();
    let waitSeconds = nextWait();
    let sentAt = Date.now();
    let answer: HttpAnswer;
    try {
      answer = await http.send("POST", request.path, {
        // Recomputed for each try after a network error, so a retry never waits past the deadline.
        body: () => {
          waitSeconds = nextWait();
          sentAt = Date.now();
          return request.body(waitSeconds, placeId);
        },
        signal,
        extraTimeoutMs: waitSeconds * 1000,
        deadline,
      });
    } catch (error) {
      const now = Date.now();
      unreachableSince ??= now;
      if (placed && error instanceof UnreachableError && now < deadline && now - unreachableSince < RIDE_OUT_MS) {
        // The Worker is restarting (or the network blinked): the place in line outlives it for
        // the server's grace, and a restarted object gives every place a fresh one. Come back.
        // (A multi-name request rides out only once it has places: one never answered fails.)
        await sleep(Math.min(fullJitterMs(attempt, OUTAGE_BACKOFF) + 250, deadline - now), signal);
        continue;
      }
      // Aborted or unreachable: a try may be waiting in line, or granted, with nobody to take it.
      withdraw(http, names, placeId);
      if (!(error instanceof UnreachableError)) {
        throw error;
      }
      if (Date.now() >= deadline) {
        throw timedOut(error);
      }
      throw new ConcurrencySlotAcquisitionError(
        `Unable to acquire concurrency slots on ${formatNames(names)}: ${error.message}`,
        { reason: "unreachable", names, cause: error },
      );
    }
    unreachableSince = undefined;
    placed = true;
    if (answer.status === 200) {
      return answer.body;
    }
    const longWait = Date.now() < deadline && !answeredEarly(Date.now() - sentAt, waitSeconds);
    if (bySocket && longWait && answer.status === 423 && refusalOf(answer).code === "locked") {
      bySocket = false;
      const granted = await waitBy();
      if (granted !== NO_SOCKET) {
        return granted;
      }
      continue;
    }
    const refusal = refusalOf(answer);
    if (refusal.code === "request_id_in_use") {
      // A try that got no answer was granted meanwhile: give that grant back, and go on as a new
      // request (at the back of the line).
      withdraw(http, names, placeId);
      placeId = crypto.randomUUID();
      continue;
    }
    // Giving up: a request that kept its place (it waited, and was answered when its wait was
    // over) lets it go at once rather than after the server's grace.
    const keptPlace = waitSeconds > 0 && !answeredEarly(Date.now() - sentAt, waitSeconds);
    const giveUp = async () => {
      if (keptPlace) {
        await http.once("POST", "/cancel", { body: { names, request_id: placeId } }).catch(() => undefined);
      }
    };
    if (answer.status !== 423) {
      await giveUp();
      const error = new ConcurrencySlotAcquisitionError(
        `Unable to acquire concurrency slots on ${formatNames(names)}: ${refusal.status} ${refusal.code ?? "error"}: ${refusal.detail}`,
        { reason: "refused", names, refusal },
      );
      // Still failing when time ran out: that is a timeout, caused by the failure.
      throw isTransient(answer) && Date.now() >= deadline ? timedOut(error) : error;
    }
    if (maxRetries !== undefined && attempt > maxRetries) {
      await giveUp();
      throw new ConcurrencySlotAcquisitionError(
        `Unable to acquire concurrency slots on ${formatNames(names)}: still locked after ${attempt} attempt(s) (maxRetries: ${maxRetries})`,
        { reason: "max_retries", names, refusal },
      );
    }
    const now = Date.now();
    if (now >= deadline) {
      await giveUp();
      throw timedOut();
    }
    if (answeredEarly(now - sentAt, waitSeconds)) {
      const retryAfterMs =
        parseRetryAfterMs(answer.headers.get("retry-after")) ?? fullJitterMs(attempt, LOCKED_BACKOFF);
      try {
        await sleep(Math.min(retryAfterMs, deadline - now), signal);
      } catch (error) {
        await giveUp();
        throw error;
      }
      if (Date.now() >= deadline) {
        await giveUp();
        throw timedOut();
      }
    }
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
