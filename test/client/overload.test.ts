/**
 * An `overloaded` answer (503 with Retry-After) is retried later, never at once: at least the
 * Retry-After, doubled per retry, with jitter on top. A plain 503 keeps its quick retry. Fake
 * timers and a fixed `Math.random`, so nothing here depends on the wall clock.
 */

import { afterEach, beforeEach, describe, it, vi } from "vitest";
import { retryDelayMs } from "../../src/client/backoff";
import { createClient, type FetchLike, GclError } from "../../src/client";
import { answer as json } from "../helpers/common";

const RECORD = { id: "00000000-0000-4000-8000-000000000000", name: "db", limit: 1 };

const overloaded = () =>
  json(503, { detail: "a limit object is overloaded", code: "overloaded" }, { "Retry-After": "1.000" });
const unavailable = () =>
  json(503, { detail: "a limit object is briefly unavailable; try again", code: "unavailable" });

/** A fetch that plays `first` once, then answers the record; `calls` counts the requests. */
function canned(first: () => Response) {
  const state = { calls: 0 };
  const fetch: FetchLike = async () => {
    state.calls += 1;
    return state.calls === 1 ? first() : json(200, RECORD);
  };
  return { fetch, state };
}

describe("retryDelayMs", () => {
  const policy = { baseDelayMs: 200, maxDelayMs: 5_000 };

  it("never retries an overloaded answer sooner than its Retry-After, and doubles it per retry", ({ expect }) => {
    const low = () => 0;
    const high = () => 0.999_999;
    const answer = { retryAfterMs: 1_000, overloaded: true };

    expect([1, 2, 3].map((attempt) => retryDelayMs(attempt, policy, answer, low))).toEqual([1_000, 2_000, 4_000]);
    expect(retryDelayMs(1, policy, answer, high)).toBe(1_999);
  });

  it("backs off an overloaded answer without Retry-After from the base delay, never 0", ({ expect }) => {
    expect(retryDelayMs(1, policy, { retryAfterMs: undefined, overloaded: true }, () => 0)).toBe(200);
    expect(retryDelayMs(1, { baseDelayMs: 0, maxDelayMs: 0 }, { retryAfterMs: 0, overloaded: true }, () => 0)).toBe(1);
  });

  it("keeps a plain answer's Retry-After, or full jitter without one", ({ expect }) => {
    expect(retryDelayMs(2, policy, { retryAfterMs: 1_500, overloaded: false }, () => 0)).toBe(1_500);
    expect(retryDelayMs(2, policy, { retryAfterMs: undefined, overloaded: false }, () => 0.5)).toBe(200);
  });
});

describe("the client against an overloaded Worker", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.spyOn(Math, "random").mockReturnValue(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits out the Retry-After before it tries again", async ({ expect }) => {
    const { fetch, state } = canned(overloaded);
    const gcl = createClient({ url: "http://gcl.test", fetch });

    const record = gcl.limits.get("db");
    await vi.advanceTimersByTimeAsync(999);
    const before = state.calls;
    await vi.advanceTimersByTimeAsync(1);

    expect(before).toBe(1);
    expect(state.calls).toBe(2);
    expect(await record).toEqual(RECORD);
  });

  it("retries a plain 503 without that wait (the contrast)", async ({ expect }) => {
    const { fetch, state } = canned(unavailable);
    const gcl = createClient({ url: "http://gcl.test", fetch });

    const record = gcl.limits.get("db");
    await vi.advanceTimersByTimeAsync(0);

    expect(state.calls).toBe(2);
    expect(await record).toEqual(RECORD);
  });

  it("reports `overloaded` with its Retry-After once the retries run out", async ({ expect }) => {
    const fetch: FetchLike = async () => overloaded();
    const gcl = createClient({ url: "http://gcl.test", fetch, retry: false });

    const error = await gcl.limits.get("db").catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(GclError);
    expect(error).toMatchObject({ code: "overloaded", status: 503, retryAfterSeconds: 1 });
  });
});
