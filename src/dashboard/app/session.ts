/**
 * The dashboard's connection to its own Worker: the shared client's administration API
 * (`createLimitsApi` over its `HttpTransport`, the same code `createClient()` gives the CLI and
 * applications) with the token the user gave, kept in this tab's session storage only; the
 * server's clock read from each answer's `Date` header; and how errors read.
 */

import { type FetchInit, GclError, type LimitRecord } from "../../client/index";
import { HttpTransport } from "../../client/http";
import { createLimitsApi, type LimitsApi } from "../../client/limits";
import { resolveClientOptions } from "../../client/options";
import { UUID_PATTERN } from "../../protocol/names";

const TOKEN_KEY = "edge-gcl.token";

function readToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}

function writeToken(token: string): void {
  try {
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
    } else {
      sessionStorage.removeItem(TOKEN_KEY);
    }
  } catch {
    // Storage can be disabled; the token then lives only as long as the page.
  }
}

/** What an error says to a person: the API's detail with its status and code. */
export function describe(error: unknown): string {
  if (error instanceof GclError) {
    return error.code === "unavailable" ? error.message : `${error.message} (${error.status} ${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function isCode(error: unknown, ...codes: string[]): error is GclError {
  return error instanceof GclError && codes.includes(error.code);
}

export class Session {
  token = readToken();
  client: { limits: LimitsApi } = this.#connect();
  /** Server clock minus ours, when they differ by more than the `Date` header's 1 s grain. */
  #clockOffsetMs = 0;
  /** Called with the API's detail when it answers 401, and when it answers 403. */
  onUnauthorized: (detail: string) => void = () => undefined;
  onForbidden: () => void = () => undefined;

  setToken(token: string): void {
    this.token = token;
    writeToken(token);
    this.client = this.#connect();
  }

  now = (): number => Date.now() + this.#clockOffsetMs;

  /**
   * Every call tries once (the page polls again soon), with the page's own fetch and no cache.
   * Only the client's administration half: the page never takes slots, and the Worker inlines
   * this bundle, so acquisition code left out is bytes the deployed Worker does not carry.
   */
  #connect(): { limits: LimitsApi } {
    const options = resolveClientOptions({
      url: location.origin,
      ...(this.token ? { token: this.token } : {}),
      retry: false,
      requestTimeoutSeconds: 15,
      logger: { warn: () => undefined, error: () => undefined },
      fetch: async (url: string, init: FetchInit) => {
        const sentAt = Date.now();
        const response = await fetch(url, { ...init, cache: "no-store" });
        this.#noteServerClock(response, sentAt);
        if (response.status === 401 || response.status === 403) {
          const body = (await response
            .clone()
            .json()
            .catch(() => null)) as { detail?: unknown } | null;
          if (response.status === 401) {
            this.onUnauthorized(typeof body?.detail === "string" ? body.detail : "");
          } else {
            this.onForbidden();
          }
        }
        return response;
      },
    });
    return { limits: createLimitsApi(new HttpTransport(options)) };
  }

  #noteServerClock(response: Response, sentAt: number): void {
    const date = Date.parse(response.headers.get("date") ?? "");
    if (Number.isNaN(date)) {
      return;
    }
    const offset = date + 500 - (sentAt + Date.now()) / 2;
    this.#clockOffsetMs = Math.abs(offset) > 2000 ? offset : 0;
  }
}

/**
 * How to address a limit in a path: by id when its name looks like one (the API reads a
 * UUID-shaped path segment as a limit id).
 */
export function limitKey(limit: LimitRecord | string, known: readonly LimitRecord[] = []): string {
  if (typeof limit === "string") {
    const record = UUID_PATTERN.test(limit) ? known.find((candidate) => candidate.name === limit) : undefined;
    return record ? record.id : limit;
  }
  return UUID_PATTERN.test(limit.name) ? limit.id : limit.name;
}
