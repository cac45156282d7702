/**
 * Waiting for a single-name request over the limit's WebSocket (`protocol/socket.ts`), once its
 * first long-poll has taken its place: one request that waits in line for as long as the caller does, with nothing sent while it waits but a
 * keep-alive the server answers without waking. Its turn comes as an offer, confirmed at once. A
 * socket that drops is reopened with the same `request_id`, which finds the same place (a Worker
 * restart gives every place a grace); a place lost meanwhile is withdrawn and the request asks
 * again. Used by `waitForSlots` wherever the transport can open a socket; it falls back to
 * long-polls where the first socket cannot be opened.
 */

import type { ServerMessage, SocketRequest } from "../protocol/socket";
import { fullJitterMs, sleep } from "./backoff";
import { ConcurrencySlotAcquisitionError, formatNames, type ServerRefusal } from "./errors";
import type { Transport } from "./transport";

/** What `waitBySocket` answers when the first socket could not be opened: wait by long-polls. */
export const NO_SOCKET: unique symbol = Symbol("no socket");

/** How long a wait rides out a service it cannot reach (a Worker restart), within its deadline. */
const RIDE_OUT_MS = 60_000;
const REOPEN_BACKOFF = { baseDelayMs: 250, maxDelayMs: 2_000 } as const;
/** Keep-alive: answered by the runtime without waking the limit object. */
const PING_EVERY_MS = 30_000;
const PING = '{"op":"ping"}';

export interface SocketWait {
  name: string;
  kind: SocketRequest["kind"];
  /** The request body for one request id, without `names` and `wait_seconds`. */
  request(requestId: string): SocketRequest["request"];
  /** The request's id: a first try over HTTP may have taken its place in line under it. */
  requestId: string;
  deadline: number;
  signal: AbortSignal | undefined;
  /** Thrown when the deadline passes. */
  timedOut(cause?: unknown): Error;
}

type Ending =
  | { end: "granted"; grant: unknown }
  | { end: "refused"; refusal: ServerRefusal; retryAfterSeconds: number | undefined }
  | { end: "dropped"; heard: boolean }
  | { end: "deadline" }
  | { end: "aborted" };

/**
 * Waits for the grant of `wait` and resolves with its body (as the HTTP route answers it), or
 * with `NO_SOCKET` when no socket could be opened at all.
 * @throws the deadline's error, the signal's reason, or ConcurrencySlotAcquisitionError when the
 * server refuses for another reason than "not yet", or stays unreachable.
 */
export async function waitBySocket(http: Transport, wait: SocketWait): Promise<unknown> {
  const names = [wait.name];
  let requestId = wait.requestId;
  let opened = false;
  let lostSince: number | undefined;
  for (let attempt = 1; ; attempt += 1) {
    if (wait.signal?.aborted || Date.now() >= wait.deadline) {
      // Between two sockets: its place may be kept for the grace; let it go at once.
      withdraw(http, names, requestId);
      wait.signal?.throwIfAborted();
      throw wait.timedOut();
    }
    const socket = await http.openSocket(wait.name).catch(() => null);
    opened ||= socket !== null;
    if (socket === null && !opened) {
      return NO_SOCKET;
    }
    const ending =
      socket && (await waitOn(socket, { op: "acquire", kind: wait.kind, request: wait.request(requestId) }, wait));
    if (ending === null || ending.end === "dropped") {
      // Reopened with the same request id: back to the same place (or told it is gone).
      lostSince = ending?.heard ? undefined : lostSince;
      lostSince ??= Date.now();
      if (Date.now() - lostSince >= RIDE_OUT_MS) {
        throw new ConcurrencySlotAcquisitionError(
          `Unable to acquire concurrency slots on ${formatNames(names)}: the service could not be reached for ${RIDE_OUT_MS / 1000} s`,
          { names, reason: "unreachable" },
        );
      }
      await sleep(
        Math.min(fullJitterMs(attempt, REOPEN_BACKOFF) + 250, Math.max(0, wait.deadline - Date.now())),
        wait.signal,
      );
      continue;
    }
    switch (ending.end) {
      case "granted":
        return ending.grant;
      case "deadline":
        throw wait.timedOut();
      case "aborted":
        throw wait.signal?.reason;
    }
    const { refusal, retryAfterSeconds } = ending;
    if (refusal.code === "queue_full") {
      // The line is full: come back when the server says, as a long-poll would.
      await sleep(Math.min((retryAfterSeconds ?? 1) * 1000, Math.max(0, wait.deadline - Date.now())), wait.signal);
      continue;
    }
    if (refusal.code === "request_id_in_use" || refusal.code === "locked") {
      // The place went (its socket closed, or an offer was confirmed too late), or a grant whose
      // answer was lost holds under this id: give that back, and ask again under a new id.
      withdraw(http, names, requestId);
      requestId = crypto.randomUUID();
      continue;
    }
    throw new ConcurrencySlotAcquisitionError(
      `Unable to acquire concurrency slots on ${formatNames(names)}: ${refusal.status} ${refusal.code ?? "error"}: ${refusal.detail}`,
      { names, refusal, reason: "refused" },
    );
  }
}

/**
 * Asks the service to withdraw request `requestId`: its place in line, or a grant whose answer
 * never arrived. Best effort and not awaited: if it fails, a waiter's place runs out and a lease
 * expires.
 */
export function withdraw(http: Transport, names: readonly string[], requestId: string): void {
  void http.send("POST", "/cancel", { body: { names, request_id: requestId } }).catch(() => undefined);
}

/** One socket's life: sends the request, confirms the offer, and ends with what happened. */
function waitOn(socket: WebSocket, request: SocketRequest, wait: SocketWait): Promise<Ending> {
  return new Promise<Ending>((resolve) => {
    let settled = false;
    let heard = false;
    const finish = (ending: Ending, cancel: boolean): void => {
      if (settled) {
        return;
      }
      settled = true;
      if (deadlineTimer !== undefined) {
        clearTimeout(deadlineTimer);
      }
      clearInterval(pinger);
      wait.signal?.removeEventListener("abort", onAbort);
      try {
        if (cancel && socket.readyState === 1) {
          socket.send(JSON.stringify({ op: "cancel" }));
        }
        socket.close(1000, cancel ? "gave up" : "done");
      } catch {
        // Already closed.
      }
      resolve(ending);
    };
    const onAbort = (): void => finish({ end: "aborted" }, true);
    wait.signal?.addEventListener("abort", onAbort, { once: true });
    // No timer without a deadline (a timer's delay is capped near 25 days: it would fire early).
    const deadlineTimer = Number.isFinite(wait.deadline)
      ? setTimeout(() => finish({ end: "deadline" }, true), Math.min(wait.deadline - Date.now(), 2 ** 31 - 1))
      : undefined;
    const pinger = setInterval(() => socket.readyState === 1 && socket.send(PING), PING_EVERY_MS);
    socket.addEventListener("message", (event: MessageEvent) => {
      heard = true;
      const message = parse(event.data);
      switch (message?.type) {
        case "offer":
          socket.send(JSON.stringify({ op: "confirm" }));
          return;
        case "granted":
        case "confirmed":
          return finish({ end: "granted", grant: message.grant }, false);
        case "refused":
          return finish(
            {
              end: "refused",
              refusal: { status: message.status, code: message.error.code, detail: message.error.detail },
              retryAfterSeconds: message.retry_after_seconds,
            },
            false,
          );
        default:
          return; // queued, pong
      }
    });
    socket.addEventListener("close", () => finish({ end: "dropped", heard }, false));
    socket.addEventListener("error", () => finish({ end: "dropped", heard }, false));
    socket.send(JSON.stringify(request));
  });
}

function parse(data: unknown): ServerMessage | null {
  try {
    return JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data as ArrayBuffer)) as ServerMessage;
  } catch {
    return null;
  }
}
