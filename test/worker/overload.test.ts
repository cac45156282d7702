/**
 * Over HTTP, an overloaded limit object is a 503 `overloaded` with a Retry-After, on the hot path
 * (an increment, through the coordinator) and off it (a renewal). The app runs against an env
 * whose limit objects throw the platform's overload error.
 */

import { describe, it } from "vitest";
import { createApp } from "../../src/app";
import { OVERLOADED_RETRY_AFTER_SECONDS } from "../../src/protocol/constants";
import { encodeLeaseId } from "../../src/core/lease-id";

const PREFIX = "http://gcl.test/api/v2/concurrency_limits";

function overloadedEnv(): Env {
  const fail = async () => {
    throw Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), {
      retryable: true,
      overloaded: true,
    });
  };
  const stub = new Proxy({}, { get: () => fail });
  return { GCL_ALLOW_ANONYMOUS: "true", LIMITS: { getByName: () => stub } } as unknown as Env;
}

const ctx = {
  waitUntil: () => undefined,
  passThroughOnException: () => undefined,
  props: {},
} as unknown as ExecutionContext;

async function post(path: string, body: unknown): Promise<Response> {
  const init = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  return createApp().request(`${PREFIX}${path}`, init, overloadedEnv(), ctx);
}

describe("an overloaded limit object", () => {
  it.for([
    ["an increment with a lease", "/increment-with-lease", { names: ["db"], slots: 1, mode: "concurrency" }],
    ["a multi-name increment", "/increment", { names: ["a", "b"], slots: 1, mode: "rate_limit" }],
    [
      "a renewal",
      `/leases/${encodeLeaseId("00000000-0000-4000-8000-000000000000", ["db"])}/renew`,
      { lease_duration: 60 },
    ],
  ] as const)("answers %s with 503 `overloaded` and Retry-After", async ([, path, body], { expect }) => {
    const response = await post(path, body);

    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: "overloaded" });
    expect(response.headers.get("retry-after")).toBe(OVERLOADED_RETRY_AFTER_SECONDS.toFixed(3));
  });
});
