/**
 * A Durable Object that says it is overloaded is answered `overloaded` (503, Retry-After), not
 * `unavailable`: on the coordinator's path (every increment) and on every other operation's.
 */

import { describe, it } from "vitest";
import { acquireSlots, type Coordination, type LimitPort } from "../../src/coordinator/acquire";
import { isOverloadedError, isRetryableError } from "../../src/coordinator/failures";
import { asGclError } from "../../src/operations/failure";
import { OVERLOADED_RETRY_AFTER_SECONDS } from "../../src/protocol/constants";
import { GclError } from "../../src/protocol/errors";

/** What the platform throws: `overloaded` errors are marked retryable too. */
const overloadedPlatformError = () =>
  Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), {
    retryable: true,
    overloaded: true,
  });
const resetPlatformError = () =>
  Object.assign(new Error("Durable Object reset because its code was updated."), { retryable: true });

describe("reading a platform error", () => {
  it("tells overload from a plain retryable failure", ({ expect }) => {
    expect([isOverloadedError(overloadedPlatformError()), isRetryableError(overloadedPlatformError())]).toEqual([
      true,
      false,
    ]);
    expect([isOverloadedError(resetPlatformError()), isRetryableError(resetPlatformError())]).toEqual([false, true]);
    expect([isOverloadedError("overloaded"), isRetryableError(null)]).toEqual([false, false]);
  });

  it("maps overload to `overloaded`, 503 with a Retry-After, and a reset to `unavailable`", ({ expect }) => {
    const overloaded = asGclError(overloadedPlatformError());
    const reset = asGclError(resetPlatformError());

    expect(overloaded).toMatchObject({
      code: "overloaded",
      status: 503,
      retryAfterSeconds: OVERLOADED_RETRY_AFTER_SECONDS,
    });
    expect(reset).toMatchObject({ code: "unavailable", status: 503, retryAfterSeconds: undefined });
  });
});

describe("the coordinator", () => {
  it("answers `overloaded` when a limit object is overloaded, and gives back what it touched", async ({ expect }) => {
    const left: string[] = [];
    const port: LimitPort = {
      acquire: async () => {
        throw overloadedPlatformError();
      },
      check: async () => ({ status: "ok" }),
      reserve: async () => {
        throw overloadedPlatformError();
      },
      commit: async () => ({ status: "gone" }),
      withdraw: async (ticket) => {
        left.push(`withdraw ${ticket}`);
        return true;
      },
      leave: async (ticket) => void left.push(`leave ${ticket}`),
    };
    const co: Coordination = {
      limit: () => port,
      now: () => 0,
      newId: () => "ticket-1",
      defer: () => undefined,
      sleep: async () => undefined,
    };
    const request = {
      slots: 1,
      mode: "concurrency" as const,
      kind: "lease" as const,
      leaseMs: 60_000,
      holder: null,
      requestId: null,
      waitMs: 0,
    };

    const one = await acquireSlots(co, { ...request, names: ["db"] }).catch((error: unknown) => error);
    const many = await acquireSlots(co, { ...request, names: ["a", "b"] }).catch((error: unknown) => error);

    for (const error of [one, many]) {
      expect(error).toBeInstanceOf(GclError);
      expect(error).toMatchObject({ code: "overloaded", retryAfterSeconds: OVERLOADED_RETRY_AFTER_SECONDS });
    }
    expect(left).toEqual(["withdraw ticket-1", "withdraw ticket-1"]);
  });
});
