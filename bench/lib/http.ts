/**
 * The load generator's HTTP: `node:http` with a keep-alive agent to 127.0.0.1, so a sequential
 * client reuses one connection and 64 clients hold 64. Not `fetch`: on this machine undici's
 * fetch costs the client about as much CPU per request as the Worker spends answering it, and
 * with 2 cores shared that CPU comes out of the server's share.
 */

import { Agent, request } from "node:http";

const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: 256 });

export interface Answer {
  status: number;
  /** The `Retry-After` header, parsed as decimal seconds (as Prefect's client does). */
  retryAfterS: number | null;
  body: unknown;
}

/** POSTs `body` as JSON (no body when undefined) and reads the JSON answer. */
export function post(url: string, body: unknown, signal?: AbortSignal): Promise<Answer> {
  const payload = body === undefined ? null : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers:
          payload === null
            ? { "content-length": "0" }
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
        ...(signal ? { signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const retryAfter = res.headers["retry-after"];
          try {
            resolve({
              status: res.statusCode ?? 0,
              retryAfterS: typeof retryAfter === "string" ? Number.parseFloat(retryAfter) : null,
              body: text === "" ? null : (JSON.parse(text) as unknown),
            });
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    req.on("error", reject);
    req.end(payload ?? undefined);
  });
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");
}
