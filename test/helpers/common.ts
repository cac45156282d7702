/**
 * Runtime-neutral test helpers: unique names, sleeping, polling until a condition holds, a JSON
 * call to a Worker's API over real HTTP, and canned JSON answers for a fake `fetch`.
 * Every vitest project (unit, workers, sinks, e2e, chaos) imports them, so this module uses only
 * what Node and workerd share (timers, `crypto.randomUUID`) and imports nothing runtime-specific
 * (`cloudflare:test` lives in api.ts, Node modules in the Node-side helpers). See also deferred.ts.
 */

let counter = 0;

/**
 * A name no other test uses: `prefix`, a counter and a random tail. The tail keeps names apart
 * where storage outlives the file (a shared `wrangler dev`), the counter within a file.
 */
export function uniqueName(prefix = "limit"): string {
  counter += 1;
  return `${prefix}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Resolves after `ms` milliseconds. For letting time pass, never for asserting on it. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface EventuallyOptions {
  /** The liveness bound: give up after this long. @default 5_000 */
  timeoutMs?: number;
  /** Pause between checks. @default 10 */
  intervalMs?: number;
  /** What is awaited, for the error message. @default "condition" */
  what?: string;
}

/**
 * Polls `check` until it returns true; throws after `timeoutMs` (a liveness bound, not a timing
 * assertion). An error thrown by `check` ends the wait at once.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  options: EventuallyOptions = {},
): Promise<void> {
  const { timeoutMs = 5_000, intervalMs = 10, what = "condition" } = options;
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > giveUpAt) {
      throw new Error(`${what} not reached within ${timeoutMs} ms`);
    }
    await sleep(intervalMs);
  }
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field; a wrong read fails the test
  body: any;
}

/**
 * One call to the API of the Worker at `base` (e.g. `http://127.0.0.1:8787`) over real HTTP, as
 * `token` when given; the body parsed as JSON (null when empty). Throws when the Worker is down.
 */
export async function callApi(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) {
    headers.authorization = `Bearer ${token}`;
  }
  const response = await fetch(`${base}/api/v2/concurrency_limits${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

/** A canned JSON answer for a fake `fetch`. */
export function answer(status: number, body?: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}
