/**
 * The seam between the client and the Worker. Everything above it (waiting, leases, limits.*)
 * speaks in API calls (`POST /increment-with-lease` and a body) and reads answers as status,
 * headers and body; below it, `HttpTransport` sends them as HTTP over a `fetch` and
 * `RpcTransport` as RPC calls over a service binding. This file holds what both share: the
 * answer's shape, the retry loop, and how an error answer becomes a `GclError`.
 */

import { type ErrorCode, type FieldError, GclError, isErrorCode, STATUS_BY_CODE } from "../protocol/errors";
import { fullJitterMs, parseRetryAfterMs, retryDelayMs, sleep } from "./backoff";
import type { ServerRefusal } from "./errors";
import type { FetchResponse, ResolvedClientOptions } from "./options";

/** An answer, successful or not, with its body parsed (raw text if it is not JSON). */
export interface HttpAnswer {
  status: number;
  headers: FetchResponse["headers"];
  body: unknown;
}

export interface RequestOptions {
  /** The request body; a function is called again for every try (a long-poll's wait shrinks). */
  body?: unknown;
  /** The caller's signal: aborting it rejects with its reason and is never retried. */
  signal?: AbortSignal | undefined;
  /** Extra time to allow on top of the client's `requestTimeoutSeconds` (a long-poll's wait). */
  extraTimeoutMs?: number;
  /** No retry may start after this time (epoch ms). @default Infinity */
  deadline?: number;
  /** `path` is from the Worker's root (`/metrics`), not under the API prefix (HTTP only). */
  fromRoot?: boolean;
}

/** The service could not be reached, or did not answer in time, on every attempt. */
export class UnreachableError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "UnreachableError";
  }
}

/** Statuses that say "try again shortly": rate limited, or a gateway or the service is briefly down. */
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

/** Whether an error answer is worth retrying. A Worker without auth configured stays that way. */
export function isTransient(answer: HttpAnswer): boolean {
  return TRANSIENT_STATUSES.has(answer.status) && errorCodeOf(answer) !== "auth_not_configured";
}

/** How the client reaches the Worker: one try (`once`), and tries with retries (`send`). */
export abstract class Transport {
  protected readonly options: ResolvedClientOptions;

  constructor(options: ResolvedClientOptions) {
    this.options = options;
  }

  get url(): string {
    return this.options.url;
  }

  /**
   * Sends a request once.
   * @throws the caller's `signal.reason` when it aborts; UnreachableError when the service could
   * not be reached or no answer came within the time limit.
   */
  abstract once(method: string, path: string, options?: RequestOptions): Promise<HttpAnswer>;

  /**
   * Opens the waiting socket of limit `name` (`GET …/{name}/wait`), open and ready to send; null
   * where this transport or runtime has none (RPC, or no WebSocket) or the server refused it.
   */
  async openSocket(_name: string): Promise<WebSocket | null> {
    return null;
  }

  /** Whether `openSocket` may open one here (sockets allowed, and a way to open them). */
  mayOpenSockets(): boolean {
    return false;
  }

  /**
   * Sends a request, retrying passing failures up to `retry.maxAttempts` times. Resolves with the
   * last answer, whatever its status.
   * @throws the caller's `signal.reason` when it aborts; UnreachableError when no attempt got an answer.
   */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<HttpAnswer> {
    const { retry } = this.options;
    const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
    for (let attempt = 1; ; attempt += 1) {
      let delayMs: number;
      try {
        const answer = await this.once(method, path, options);
        if (!isTransient(answer) || attempt >= retry.maxAttempts) {
          return answer;
        }
        // A 429 or 503 may say when to come back; an overloaded object is never retried at once.
        delayMs = retryDelayMs(attempt, retry, {
          retryAfterMs: parseRetryAfterMs(answer.headers.get("retry-after")),
          overloaded: errorCodeOf(answer) === "overloaded",
        });
        if (await outlives(delayMs, deadline, options.signal)) {
          return answer;
        }
      } catch (error) {
        if (!(error instanceof UnreachableError) || attempt >= retry.maxAttempts) {
          throw error;
        }
        delayMs = fullJitterMs(attempt, retry);
        if (await outlives(delayMs, deadline, options.signal)) {
          throw error;
        }
      }
      await sleep(delayMs, options.signal);
    }
  }
}

/**
 * Whether a retry after `delayMs` would start past `deadline`; if so, waits out the time left
 * first, so the caller gives up at its deadline (as a timeout) rather than before it.
 */
async function outlives(delayMs: number, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
  const leftMs = deadline - Date.now();
  if (delayMs < leftMs) {
    return false;
  }
  await sleep(leftMs, signal);
  return true;
}

function errorCodeOf(answer: HttpAnswer): unknown {
  const { body } = answer;
  return typeof body === "object" && body !== null && "code" in body ? body.code : undefined;
}

/** The server's `code`, `detail` and status of an error answer (a proxy's HTML page included). */
export function refusalOf(answer: HttpAnswer): ServerRefusal {
  const { body, status } = answer;
  const code = errorCodeOf(answer);
  let detail = `HTTP ${status}`;
  if (typeof body === "object" && body !== null && "detail" in body && typeof body.detail === "string") {
    detail = body.detail;
  } else if (typeof body === "string" && body.trim() !== "") {
    detail = body.trim().slice(0, 200);
  }
  return { status, code: isErrorCode(code) ? code : undefined, detail };
}

/** The protocol error an error answer stands for; a code this version does not know maps by status. */
export function toGclError(answer: HttpAnswer): GclError {
  const refusal = refusalOf(answer);
  const { body } = answer;
  const errors =
    typeof body === "object" && body !== null && "errors" in body && Array.isArray(body.errors)
      ? (body.errors as FieldError[])
      : undefined;
  const retryAfterMs = parseRetryAfterMs(answer.headers.get("retry-after"));
  return new GclError(refusal.code ?? codeForStatus(refusal.status), refusal.detail, {
    ...(errors === undefined ? {} : { errors }),
    ...(retryAfterMs === undefined ? {} : { retryAfterSeconds: retryAfterMs / 1000 }),
  });
}

/**
 * A code for an answer without a known one (a proxy's page, or a newer server's new code): gateway
 * errors are `unavailable`, other statuses take the first code that has them, else `internal` or
 * `invalid_request`.
 */
function codeForStatus(status: number): ErrorCode {
  if (status === 502 || status === 503 || status === 504) {
    return "unavailable";
  }
  const known = (Object.keys(STATUS_BY_CODE) as ErrorCode[]).find((code) => STATUS_BY_CODE[code] === status);
  return known ?? (status >= 500 ? "internal" : "invalid_request");
}

/** The error an admin call throws when the service could not be reached. */
export function unreachable(error: UnreachableError): GclError {
  return new GclError("unavailable", error.message, { cause: error });
}
