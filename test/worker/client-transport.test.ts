import { describe, it, vi } from "vitest";
import {
  AcquireTimeoutError,
  type ClientOptions,
  ConcurrencySlotAcquisitionError,
  createClient,
  type FetchInit,
  GclError,
} from "../../src/client";
import { answer, recording, recordingLogger } from "../helpers/client";
import { sleep } from "../helpers/common";

const RECORD = {
  id: "00000000-0000-4000-8000-000000000000",
  name: "db",
  limit: 1,
  active: true,
  active_slots: 0,
  denied_slots: 0,
  slot_decay_per_second: 0,
  avg_slot_occupancy_seconds: 0,
  created: "2026-01-01T00:00:00.000Z",
  updated: "2026-01-01T00:00:00.000Z",
};
const GRANT = {
  lease_id: "lease-1",
  limits: [{ id: RECORD.id, name: "db", limit: 1, fencing_token: 7 }],
  missing: [],
  expires_at: "2026-01-01T00:01:00.000Z",
};
const LOCKED = { detail: "Locked", code: "locked" };

type Step = (init: FetchInit) => Response | Promise<Response>;

/** A client whose `fetch` plays `steps` in order (the last one repeats), with fast retries. */
function scripted(steps: Step[], options: ClientOptions = {}) {
  let calls = 0;
  const { fetch, sent } = recording(async (_url, init) => {
    const step = steps[Math.min(calls, steps.length - 1)];
    calls += 1;
    if (step === undefined) {
      throw new Error("no step");
    }
    return step(init);
  });
  const logger = recordingLogger();
  // Scripted HTTP answers: the client waits by long-polls (sockets are tested in socket.test.ts).
  const gcl = createClient({ retry: { baseDelayMs: 1, maxDelayMs: 5 }, logger, sockets: false, ...options, fetch });
  return { gcl, sent, logger };
}

const networkError: Step = () => {
  throw new TypeError("fetch failed");
};

/** Answers like a long-poll that ran out: after the `wait_seconds` it was asked for. */
const lockedAfterWait: Step = async (init) => {
  const waitSeconds = Number((JSON.parse(init.body ?? "{}") as { wait_seconds?: number }).wait_seconds ?? 0);
  await sleep(waitSeconds * 1000);
  return answer(423, LOCKED, { "Retry-After": "30.000" });
};

describe("retries of passing failures", () => {
  it.for([
    ["a network error", networkError],
    ["429", () => answer(429, { detail: "slow down", code: "unavailable" })],
    ["502 from a proxy", () => new Response("<html>bad gateway</html>", { status: 502 })],
    ["503", () => answer(503, { detail: "a limit object is briefly unavailable; try again", code: "unavailable" })],
    ["504", () => answer(504)],
  ] as const)("retries %s and then succeeds", async ([, failure], { expect }) => {
    const { gcl, sent } = scripted([failure, failure, () => answer(200, RECORD)]);

    expect(await gcl.limits.get("db")).toEqual(RECORD);
    expect(sent).toHaveLength(3);
  });

  it.for([
    [401, "unauthorized"],
    [403, "forbidden"],
    [404, "not_found"],
    [409, "already_exists"],
    [422, "invalid_request"],
  ] as const)("never retries a %i", async ([status, code], { expect }) => {
    const { gcl, sent } = scripted([() => answer(status, { detail: `nope ${status}`, code })]);

    await expect(gcl.limits.get("db")).rejects.toMatchObject({
      name: "GclError",
      code,
      status,
      message: `nope ${status}`,
    });
    expect(sent).toHaveLength(1);
  });

  it("does not retry a Worker whose auth is not configured", async ({ expect }) => {
    const { gcl, sent } = scripted([
      () => answer(503, { detail: "auth is not configured", code: "auth_not_configured" }),
    ]);

    await expect(gcl.limits.list()).rejects.toMatchObject({ code: "auth_not_configured" });
    expect(sent).toHaveLength(1);
  });

  it("honours the Retry-After of a 429", async ({ expect }) => {
    const { gcl } = scripted([() => answer(429, undefined, { "Retry-After": "0.2" }), () => answer(200, RECORD)]);
    const started = Date.now();

    await gcl.limits.get("db");

    expect(Date.now() - started).toBeGreaterThanOrEqual(199);
  });

  it("gives up after retry.maxAttempts: admin calls throw GclError `unavailable`", async ({ expect }) => {
    const { gcl, sent } = scripted([networkError], { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } });

    const error = await gcl.limits.get("db").catch((e: unknown) => e);

    expect(error).toBeInstanceOf(GclError);
    expect(error).toMatchObject({ code: "unavailable" });
    expect((error as Error).message).toMatch(
      /^could not reach GET http:\/\/127\.0\.0\.1:8787\/api\/v2\/concurrency_limits\/db: fetch failed$/,
    );
    expect(sent).toHaveLength(3);
  });

  it("gives up after retry.maxAttempts: multi-name acquisitions throw ConcurrencySlotAcquisitionError", async ({
    expect,
  }) => {
    const { gcl } = scripted([networkError], { retry: false });

    const error = await gcl.acquire(["db", "api"]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConcurrencySlotAcquisitionError);
    expect((error as Error).message).toContain(
      "Unable to acquire concurrency slots on ['api', 'db']: could not reach POST",
    );
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it("rides out an unreachable service while waiting on one name, keeping one request_id", async ({ expect }) => {
    const { gcl, sent } = scripted([networkError, networkError, networkError, () => answer(200, GRANT)], {
      retry: false,
    });

    const slot = await gcl.acquire("db", { timeoutSeconds: 30 });

    expect(slot.leaseId).toBe("lease-1");
    const ids = sent.filter((request) => request.path === "/increment-with-lease").map((r) => r.body?.request_id);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(1);
    await slot.release();
  });

  it("times out, not fails, when the service stays unreachable past the deadline", async ({ expect }) => {
    const { gcl } = scripted([networkError], { retry: false });

    const error = await gcl.acquire("db", { timeoutSeconds: 0.3 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AcquireTimeoutError);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it("treats a request without an answer in time like a network error", async ({ expect }) => {
    const { gcl } = scripted([() => new Promise<never>(() => undefined)], {
      retry: false,
      requestTimeoutSeconds: 0.05,
    });

    await expect(gcl.limits.get("db")).rejects.toThrow(
      "no answer from GET http://127.0.0.1:8787/api/v2/concurrency_limits/db within 0.05 s",
    );
  });

  it("stops backing off when the caller aborts", async ({ expect }) => {
    const { gcl } = scripted([networkError], { retry: { maxAttempts: 10, baseDelayMs: 10_000, maxDelayMs: 10_000 } });
    const reason = new Error("enough");

    await Promise.all([
      expect(gcl.limits.get("db", { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({ name: "TimeoutError" }),
      expect(gcl.acquire("db", { signal: AbortSignal.abort(reason) })).rejects.toBe(reason),
    ]);
  });
});

describe("waiting", () => {
  it("asks the server to wait up to 60 s per request when no timeout is set", async ({ expect }) => {
    const { gcl, sent } = scripted([() => answer(200, GRANT), () => answer(204)]);

    const slot = await gcl.acquire("db", { occupy: 1, holder: { type: "job", id: "7" } });
    await slot.release();

    expect(sent[0]?.body).toEqual({
      names: ["db"],
      slots: 1,
      mode: "concurrency",
      lease_duration: 60,
      wait_seconds: 60,
      request_id: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      holder: { type: "job", id: "7" },
    });
    expect(slot.fencingTokens).toEqual({ db: 7 });
    expect(sent[1]).toMatchObject({ path: "/decrement-with-lease", body: { lease_id: "lease-1" } });
  });

  it("never asks the server to wait past the deadline", async ({ expect }) => {
    const { gcl, sent } = scripted([lockedAfterWait]);

    await expect(gcl.acquire("db", { timeoutSeconds: 0.3 })).rejects.toThrow(AcquireTimeoutError);

    // One wait, then the place it kept in line is given up at once.
    expect(sent.map((request) => request.path)).toEqual(["/increment-with-lease", "/cancel"]);
    expect(sent[0]?.body?.wait_seconds).toBeLessThanOrEqual(0.3);
    expect(sent[0]?.body?.wait_seconds).toBeGreaterThan(0.25);
    expect(sent[1]?.body?.request_id).toBe(sent[0]?.body?.request_id);
  });

  it("polls again at once after a full 60-second wait, without sleeping the Retry-After", async ({ expect }) => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      const { gcl, sent } = scripted([lockedAfterWait, () => answer(200, GRANT)]);

      const acquiring = gcl.acquire("db");
      await vi.advanceTimersByTimeAsync(60_000);
      const slot = await acquiring;

      expect(sent.map((request) => request.body?.wait_seconds)).toEqual([60, 60]);
      expect(slot.leaseId).toBe("lease-1");
      await slot.release();
    } finally {
      vi.useRealTimers();
    }
  });

  it("falls back to Retry-After sleeps when the server answers without waiting", async ({ expect }) => {
    const locked = () => answer(423, LOCKED, { "Retry-After": "0.100" });
    const { gcl, sent } = scripted([locked, locked, () => answer(200, [{ id: RECORD.id, name: "db", limit: 1 }])]);
    const started = Date.now();

    const result = await gcl.rateLimit("db", { timeoutSeconds: 5 });

    expect(result.limits.map((limit) => limit.name)).toEqual(["db"]);
    expect(sent).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(199);
  });

  it("retries a long-poll cut by a network error with only what is left of the deadline", async ({ expect }) => {
    const dropAfter200ms: Step = async () => {
      await sleep(200);
      throw new TypeError("connection reset");
    };
    const { gcl, sent } = scripted([dropAfter200ms, () => answer(200, GRANT), () => answer(204)]);

    await (await gcl.acquire("db", { timeoutSeconds: 1 })).release();

    const waits = sent.filter((r) => r.path === "/increment-with-lease").map((r) => Number(r.body?.wait_seconds));
    expect(waits).toHaveLength(2);
    expect(waits[1]).toBeLessThanOrEqual((waits[0] ?? 0) - 0.19);
  });

  it("times out, with the failure as cause, when the service stays down past the deadline", async ({ expect }) => {
    const { gcl } = scripted([networkError], { retry: { maxAttempts: 10, baseDelayMs: 1_000, maxDelayMs: 1_000 } });
    const started = Date.now();

    const error = await gcl.acquire("db", { timeoutSeconds: 0.3 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AcquireTimeoutError);
    expect((error as Error).cause).toMatchObject({ name: "UnreachableError" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(299);
  });

  it("makes at most maxRetries + 1 requests", async ({ expect }) => {
    const { gcl, sent } = scripted([() => answer(423, LOCKED, { "Retry-After": "0.001" })]);

    const error = await gcl.acquire("db", { maxRetries: 3 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConcurrencySlotAcquisitionError);
    expect(error).not.toBeInstanceOf(AcquireTimeoutError);
    expect((error as Error).message).toBe(
      "Unable to acquire concurrency slots on ['db']: still locked after 4 attempt(s) (maxRetries: 3)",
    );
    expect(sent).toHaveLength(4);
  });

  it("times out while the server keeps answering without waiting", async ({ expect }) => {
    const { gcl } = scripted([() => answer(423, LOCKED, { "Retry-After": "0.05" })]);
    await expect(gcl.acquire("db", { timeoutSeconds: 0.2 })).rejects.toThrow(AcquireTimeoutError);
  });
});

describe("requests", () => {
  it("sends the bearer token and JSON, under the API prefix of any base URL", async ({ expect }) => {
    const urls: string[] = [];
    const inits: FetchInit[] = [];
    const gcl = createClient({
      url: "https://gcl.example.com/prefix/",
      token: "s3cret",
      fetch: async (url, init) => {
        urls.push(url);
        inits.push(init);
        return answer(201, RECORD);
      },
    });

    expect(gcl.url).toBe("https://gcl.example.com/prefix");
    await gcl.limits.create({ name: "db", limit: 1 });
    await gcl.limits.get("tag:a b").catch(() => undefined);

    expect(urls).toEqual([
      "https://gcl.example.com/prefix/api/v2/concurrency_limits/",
      "https://gcl.example.com/prefix/api/v2/concurrency_limits/tag%3Aa%20b",
    ]);
    expect(inits[0]).toMatchObject({
      method: "POST",
      body: JSON.stringify({ name: "db", limit: 1 }),
      headers: { authorization: "Bearer s3cret", "content-type": "application/json" },
    });
  });

  it("maps an error code it does not know by the answer's status, keeping the detail", async ({ expect }) => {
    const { gcl } = scripted([() => answer(409, { detail: "a future conflict", code: "from_the_future" })]);

    await expect(gcl.limits.create({ name: "db", limit: 1 })).rejects.toMatchObject({
      code: "already_exists",
      message: "a future conflict",
    });
  });

  it("says when a URL does not lead to an edge-gcl Worker", async ({ expect }) => {
    const { gcl } = scripted([() => new Response("<html>hello</html>", { status: 200 })]);

    await expect(gcl.acquire("db")).rejects.toThrow("(is `url` an edge-gcl Worker?)");
  });
});
