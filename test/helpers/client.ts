/**
 * Helpers for the client tests in the workers project: a client whose `fetch` is the real
 * Worker's handler (`exports.default.fetch`), a logger that records, and a log of the requests
 * the client sent.
 */

import { exports } from "cloudflare:workers";
import { type ClientOptions, createClient, type FetchLike, type GclClient, type Logger } from "../../src/client";

export interface RecordingLogger extends Logger {
  warnings: string[];
  errors: string[];
}

export function recordingLogger(): RecordingLogger {
  const warnings: string[] = [];
  const errors: string[] = [];
  return {
    warnings,
    errors,
    warn: (message) => void warnings.push(message),
    error: (message) => void errors.push(message),
  };
}

export interface SentRequest {
  method: string;
  /** Path under the API prefix, e.g. `/increment-with-lease`. */
  path: string;
  body: Record<string, unknown> | undefined;
  headers: Record<string, string>;
}

/** The real Worker, in process. */
export const workerFetch: FetchLike = (url, init) => exports.default.fetch(url, init);

/** Wraps `fetch` so every request is recorded in `sent`. */
export function recording(fetch: FetchLike): { fetch: FetchLike; sent: SentRequest[] } {
  const sent: SentRequest[] = [];
  return {
    sent,
    fetch: (url, init) => {
      sent.push({
        method: init.method,
        path: new URL(url).pathname.replace("/api/v2/concurrency_limits", ""),
        body: init.body === undefined ? undefined : (JSON.parse(init.body) as Record<string, unknown>),
        headers: init.headers,
      });
      return fetch(url, init);
    },
  };
}

export interface TestClient {
  gcl: GclClient;
  logger: RecordingLogger;
  sent: SentRequest[];
}

/** A client of the real Worker with a recording logger and request log. */
export function testClient(options: ClientOptions = {}): TestClient {
  const logger = recordingLogger();
  const { fetch, sent } = recording(options.fetch ?? workerFetch);
  // A canned `fetch` answers HTTP only: its client waits by long-polls.
  const gcl = createClient({ url: "http://gcl.test", logger, sockets: options.fetch === undefined, ...options, fetch });
  return { gcl, logger, sent };
}

export { deferred } from "./deferred";
export { answer } from "./common";
