import { describe, expectTypeOf, it } from "vitest";
import { concurrent, type SlotAcquirer } from "../../src/async";
import { AcquireTimeoutError, ConcurrencySlotAcquisitionError, createClient, type GclClient } from "../../src/client";
import { activeSlots, api, createLimit, eventually, sleep, takeLease, uniqueName, waitingOn } from "../helpers/api";
import { deferred, testClient, workerFetch } from "../helpers/client";

const leaseIds = async (name: string): Promise<string[]> =>
  (await api<{ leases: { lease_id: string }[] }>("GET", `/${name}/leases`)).body.leases.map((lease) => lease.lease_id);

describe("concurrency()", () => {
  it("holds the slots exactly while fn runs and returns what fn returns", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 3);

    const result = await gcl.concurrency(
      name,
      async (signal) => {
        expect(signal.aborted).toBe(false);
        expect(await activeSlots(name)).toBe(2);
        return "done";
      },
      { occupy: 2 },
    );

    expect(result).toBe("done");
    expect(await activeSlots(name)).toBe(0);
  });

  it("releases the slots when fn throws, and rethrows fn's error", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);
    const failure = new Error("boom");

    await expect(
      gcl.concurrency(name, async () => {
        expect(await activeSlots(name)).toBe(1);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await activeSlots(name)).toBe(0);
  });

  it("never has more than `limit` calls inside fn when 20 run in parallel on a limit of 2", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 2);
    let inside = 0;
    let most = 0;

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        gcl.concurrency(name, async () => {
          inside += 1;
          most = Math.max(most, inside);
          await sleep(5);
          inside -= 1;
          return index;
        }),
      ),
    );

    expect(results).toEqual(Array.from({ length: 20 }, (_, index) => index));
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBeGreaterThanOrEqual(1);
    expect(await activeSlots(name)).toBe(0);
  });

  it("takes every name at once and hands fn per-limit fencing tokens", async ({ expect }) => {
    const { gcl } = testClient();
    const [a, b] = [uniqueName("a"), uniqueName("b")];
    await createLimit(a, 1);
    await createLimit(b, 1);
    const first = await gcl.acquire([b, a, b]);
    await first.release();
    const second = await gcl.acquire([a, b]);

    expect(second.names).toEqual([a, b].sort());
    expect(second.limits.map((limit) => limit.name).sort()).toEqual([a, b].sort());
    expect(second.fencingTokens[a]).toBeGreaterThan(first.fencingTokens[a] ?? Number.POSITIVE_INFINITY);
    expect(second.fencingTokens[b]).toBeGreaterThan(first.fencingTokens[b] ?? Number.POSITIVE_INFINITY);
    expect(await activeSlots(a)).toBe(1);
    expect(await activeSlots(b)).toBe(1);
    await second.release();
    expect(await activeSlots(a)).toBe(0);
  });

  it("moves a wait longer than its first long-poll onto the limit's socket, with no polling after", {
    timeout: 15_000,
  }, async ({ expect }) => {
    const { gcl, sent } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);
    const holder = await takeLease([name]);

    const waiting = gcl.concurrency(name, async () => "mine", { timeoutSeconds: 30 });
    await eventually(async () => sent.some((request) => request.path === `/${name}/wait`), { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });

    expect(await waiting).toBe("mine");
    const tries = sent.filter((request) => request.path !== "/decrement-with-lease");
    expect(tries.map((request) => request.path)).toEqual(["/increment-with-lease", `/${name}/wait`]);
    expect(tries[0]?.body?.wait_seconds).toBe(2);
  });

  // With sockets the first long-poll lasts 2 s (then the socket); without, up to the timeout.
  it.for([
    ["with sockets", {}, [2, 2]],
    ["without sockets", { sockets: false }, [9, 10]],
  ] as const)(
    "%s, waits a short wait in one long-poll and takes its turn by coming back once",
    async ([, options, [shortestWait, longestWait]], { expect }) => {
      const { gcl, sent } = testClient(options);
      const name = uniqueName();
      await createLimit(name, 1);
      const holder = await takeLease([name]);

      const waiting = gcl.concurrency(name, async () => "mine", { timeoutSeconds: 10 });
      await eventually(async () => (await waitingOn(name)) === 1);
      await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });

      expect(await waiting).toBe("mine");
      // No polling: one long-poll, whose turn came as "come back now", and the same request again.
      const tries = sent.filter((request) => request.path !== "/decrement-with-lease");
      expect(tries.map((request) => request.path)).toEqual(["/increment-with-lease", "/increment-with-lease"]);
      expect(tries[0]?.body?.wait_seconds).toBeGreaterThanOrEqual(shortestWait);
      expect(tries[0]?.body?.wait_seconds).toBeLessThanOrEqual(longestWait);
      expect(tries[1]?.body?.request_id).toBe(tries[0]?.body?.request_id);
    },
  );
});

describe("acquire()", () => {
  it("releases at the end of an `await using` scope", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);

    {
      await using slot = await gcl.acquire(name, { holder: { type: "test", id: "scope" } });
      expect(slot.leaseId).toEqual(expect.any(String));
      expect(await leaseIds(name)).toEqual([slot.leaseId]);
      expect(slot.released).toBe(false);
    }

    expect(await activeSlots(name)).toBe(0);
  });

  it("release() is idempotent", async ({ expect }) => {
    const { gcl, sent } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);
    const slot = await gcl.acquire(name);

    await Promise.all([slot.release(), slot.release()]);
    await slot.release();

    expect(slot.released).toBe(true);
    expect(sent.filter((request) => request.path === "/decrement-with-lease")).toHaveLength(1);
  });
});

describe("timeouts and retries", () => {
  it("gives up with AcquireTimeoutError after timeoutSeconds and leaves the line", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);
    const started = Date.now();

    const error = await gcl.concurrency(name, () => "never", { timeoutSeconds: 0.3 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AcquireTimeoutError);
    expect(error).toBeInstanceOf(ConcurrencySlotAcquisitionError);
    expect((error as Error).message).toBe(
      `Attempt to acquire concurrency slots on ['${name}'] timed out after 0.3 second(s)`,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(await waitingOn(name)).toBe(0);
  });

  it("with maxRetries: 0 makes one answer-now attempt and fails without waiting", async ({ expect }) => {
    const { gcl, sent } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);

    const error = await gcl.acquire(name, { maxRetries: 0, timeoutSeconds: 30 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConcurrencySlotAcquisitionError);
    expect(error).not.toBeInstanceOf(AcquireTimeoutError);
    expect(error).toMatchObject({ code: "locked", status: 423 });
    expect((error as Error).message).toContain("maxRetries: 0");
    expect(sent.map((request) => request.body?.wait_seconds)).toEqual([0]);
  });

  it("with timeoutSeconds: 0 makes one answer-now attempt and then times out", async ({ expect }) => {
    const { gcl, sent } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);

    await expect(gcl.acquire(name, { timeoutSeconds: 0 })).rejects.toThrow(AcquireTimeoutError);
    expect(sent.map((request) => request.body?.wait_seconds)).toEqual([0]);
  });

  it("fails at once, with the server's code and detail, when occupy exceeds the limit", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 2);

    const error = await gcl.acquire(name, { occupy: 3 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConcurrencySlotAcquisitionError);
    expect(error).toMatchObject({
      code: "slots_exceed_limit",
      status: 422,
      detail: "Slots requested is greater than the limit",
      names: [name],
    });
    expect((error as Error).message).toBe(
      `Unable to acquire concurrency slots on ['${name}']: 422 slots_exceed_limit: Slots requested is greater than the limit`,
    );
  });
});

describe("missing limits", () => {
  it("strict: fails when any name is missing, and gives back what the others granted", async ({ expect }) => {
    const { gcl } = testClient();
    const [present, absent] = [uniqueName("present"), uniqueName("absent")];
    await createLimit(present, 1);
    let ran = false;

    const error = await gcl
      .concurrency(
        [present, absent],
        () => {
          ran = true;
        },
        { strict: true },
      )
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConcurrencySlotAcquisitionError);
    expect((error as Error).message).toBe(`Concurrency limits ['${absent}'] must be created before acquiring slots`);
    expect(ran).toBe(false);
    expect(await activeSlots(present)).toBe(0);
  });

  it("strict: fails when every name is missing", async ({ expect }) => {
    const { gcl } = testClient();
    await expect(gcl.acquire([uniqueName(), uniqueName()], { strict: true })).rejects.toThrow(/must be created/);
  });

  it("non-strict: runs fn without a lease when every name is missing, warns, and never renews or releases", async ({
    expect,
  }) => {
    const { gcl, logger, sent } = testClient();
    const absent = uniqueName("absent");

    const result = await gcl.concurrency(
      absent,
      async (signal) => {
        await sleep(1_000);
        return signal.aborted ? "aborted" : "ran";
      },
      { leaseDuration: 1 },
    );

    expect(result).toBe("ran");
    expect(logger.warnings).toEqual([`Concurrency limits ['${absent}'] do not exist - skipping acquisition.`]);
    expect(sent.map((request) => request.path)).toEqual(["/increment-with-lease"]);
  });

  it("non-strict: holds the limits that exist and warns about the others", async ({ expect }) => {
    const { gcl, logger } = testClient();
    const [present, absent] = [uniqueName("present"), uniqueName("absent")];
    await createLimit(present, 1);

    await gcl.concurrency([present, absent], async () => {
      expect(await activeSlots(present)).toBe(1);
    });

    expect(await activeSlots(present)).toBe(0);
    expect(logger.warnings).toEqual([`Concurrency limits ['${absent}'] do not exist - acquiring only ['${present}'].`]);
  });

  it("treats an empty list of names as nothing to take, as Prefect does", async ({ expect }) => {
    const { gcl, sent } = testClient();
    expect(await gcl.concurrency([], () => 42)).toBe(42);
    expect(sent).toEqual([]);
  });
});

describe("aborting", () => {
  it("stops waiting when the signal aborts, rejecting with its reason", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);
    const controller = new AbortController();
    const reason = new Error("caller gave up");

    const waiting = gcl.concurrency(name, () => "never", { signal: controller.signal });
    await eventually(async () => (await waitingOn(name)) === 1);
    controller.abort(reason);

    await expect(waiting).rejects.toBe(reason);
    // The Worker sees the disconnect and takes the request out of line.
    await eventually(async () => (await waitingOn(name)) === 0);
  });

  it("rejects at once, sending nothing, when the signal is already aborted", async ({ expect }) => {
    const { gcl, sent } = testClient();
    const reason = new Error("already");
    await expect(gcl.acquire(uniqueName(), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(sent).toEqual([]);
  });

  it("aborts fn's signal when the caller aborts while holding, and releases when fn settles", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);
    const controller = new AbortController();
    const entered = deferred();
    const reason = new Error("stop");

    const running = gcl.concurrency(
      name,
      (signal) =>
        new Promise<never>((_, reject) => {
          entered.resolve();
          signal.addEventListener("abort", () => reject(signal.reason));
        }),
      { signal: controller.signal },
    );
    await entered.promise;
    expect(await activeSlots(name)).toBe(1);
    controller.abort(reason);

    await expect(running).rejects.toBe(reason);
    expect(await activeSlots(name)).toBe(0);
  });
});

describe("option validation", () => {
  const gcl = createClient({ fetch: workerFetch });

  it.for([
    [{ timeoutSeconds: "10" }, "Expected `timeoutSeconds` to be a finite number >= 0, got `10` (string)"],
    [{ timeoutSeconds: -1 }, "Expected `timeoutSeconds` to be a finite number >= 0, got `-1` (number)"],
    [{ occupy: 0 }, "Expected `occupy` to be an integer between 1 and 1000000000, got `0` (number)"],
    [{ occupy: 1.5 }, "Expected `occupy` to be an integer between 1 and 1000000000, got `1.5` (number)"],
    [{ maxRetries: -1 }, "Expected `maxRetries` to be an integer >= 0, got `-1` (number)"],
    [{ leaseDuration: 0.5 }, "Expected `leaseDuration` to be a finite number between 1 and 86400, got `0.5` (number)"],
    [{ strict: "yes" }, "Expected `strict` to be a boolean, got `yes` (string)"],
    [{ onLeaseLost: "ignore" }, 'Expected `onLeaseLost` to be "abort" or "continue", got `ignore` (string)'],
    [{ holder: { type: "job" } }, "Expected `holder` to be { type, id }"],
    [{ signal: {} }, "Expected `signal` to be an AbortSignal, got `{}` (object)"],
  ] as const)("rejects %o before sending anything", async ([options, message], { expect }) => {
    // The cast feeds deliberately wrong types through the public signature.
    await expect(gcl.acquire("db", options as never)).rejects.toThrow(message);
  });

  it.for([
    ["", "Expected `names` to be limit names"],
    ["a/b", "Expected `names` to be limit names"],
    [
      Array.from({ length: 33 }, (_, index) => `n${index}`),
      "Expected `names` to list at most 32 distinct names, got 33",
    ],
  ] as const)("rejects names %j", async ([names, message], { expect }) => {
    await expect(gcl.rateLimit(names)).rejects.toThrow(message);
  });

  it("rejects bad client options when the client is created", ({ expect }) => {
    expect(() => createClient({ url: "gcl.example.com" })).toThrow(
      "Expected `url` to be an absolute http(s) URL, got `gcl.example.com` (string)",
    );
    expect(() => createClient({ retry: { maxAttempts: 0 } })).toThrow(
      "Expected `retry.maxAttempts` to be an integer >= 1, got `0` (number)",
    );
    expect(() => createClient({ retry: { baseDelayMs: 10, maxDelayMs: 5 } })).toThrow(
      "Expected `retry.maxDelayMs` to be a finite number >= `retry.baseDelayMs`, got `5` (number)",
    );
    expect(() => createClient({ requestTimeoutSeconds: 0 })).toThrow(
      "Expected `requestTimeoutSeconds` to be a finite number > 0",
    );
  });

  it("rejects a missing fn", async ({ expect }) => {
    await expect(gcl.concurrency("db", undefined as never)).rejects.toThrow("Expected `fn` to be a function");
  });
});

describe("with edge-gcl/async", () => {
  it("is a SlotAcquirer, so concurrent() can hold global slots around each job", async ({ expect }) => {
    expectTypeOf<GclClient>().toExtend<SlotAcquirer>();
    const { gcl } = testClient();
    const client: SlotAcquirer = gcl;
    const name = uniqueName();
    await createLimit(name, 2);
    let inside = 0;
    let most = 0;
    const jobs = Array.from({ length: 8 }, (_, index) => async (signal: AbortSignal) => {
      inside += 1;
      most = Math.max(most, inside);
      await sleep(5);
      inside -= 1;
      signal.throwIfAborted();
      return index;
    });

    const results: number[] = [];
    for await (const result of concurrent(jobs, { limit: 8, slots: { client, names: name } })) {
      results.push(result);
    }

    expect(results.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBeLessThanOrEqual(2);
    expect(await activeSlots(name)).toBe(0);
  });
});
