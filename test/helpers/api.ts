/**
 * Test helpers for the workers project: call the real Worker through `exports.default.fetch`
 * and drive a limit object's clock. Unique limit names (storage is isolated per file, not per
 * test), sleeping and polling come from the runtime-neutral common.ts, re-exported here.
 */

import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { LimitObject } from "../../src/objects/limit-object";

// The runtime-neutral helpers, here too so workers tests need one import.
export { eventually, sleep, uniqueName } from "./common";

export const API = "http://gcl.test/api/v2/concurrency_limits";

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** Sends one request to the Worker; `body` is JSON-encoded unless it is a string. */
// biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field; a wrong read fails the test
export async function api<T = any>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const response = await exports.default.fetch(API + path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as T };
}

/** Creates a limit and returns its record; fails the test if creation fails. */
export async function createLimit(name: string, limit: number, extra: Record<string, unknown> = {}) {
  const response = await api("POST", "/", { name, limit, ...extra });
  if (response.status !== 201) {
    throw new Error(`creating ${name} failed: ${response.status} ${JSON.stringify(response.body)}`);
  }
  return response.body;
}

/** Takes a lease; returns the raw response. */
export function takeLease(names: string[], slots = 1, extra: Record<string, unknown> = {}) {
  return api("POST", "/increment-with-lease", { names, slots, ...extra });
}

/**
 * Replaces a limit object's clock with a controllable one starting at the object's current time;
 * `advance(ms)` moves it forward.
 */
export async function controlClock(name: string): Promise<{ advance(ms: number): Promise<void> }> {
  const stub = env.LIMITS.getByName(name);
  let now = await runInDurableObject(stub, (instance: LimitObject) => {
    const start = instance.now();
    instance.now = () => now;
    return start;
  });
  return {
    async advance(ms: number) {
      now += ms;
      // Re-install in case the object was evicted and rebuilt with the real clock.
      await runInDurableObject(stub, (instance: LimitObject) => {
        instance.now = () => now;
      });
    },
  };
}

/** How many slots a limit has taken now. */
export async function activeSlots(name: string): Promise<number> {
  return (await api("GET", `/${encodeURIComponent(name)}`)).body.active_slots;
}

/** How many requests wait in line on a limit. */
export async function waitingOn(name: string): Promise<number> {
  return (await api("GET", `/${encodeURIComponent(name)}/leases`)).body.waiting;
}
