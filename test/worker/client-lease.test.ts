import { describe, it } from "vitest";
import { LeaseLostError } from "../../src/client";
import { api, createLimit, eventually, sleep, uniqueName } from "../helpers/api";
import { deferred, type SentRequest, testClient, workerFetch } from "../helpers/client";

const leaseIds = async (name: string): Promise<string[]> =>
  (await api<{ leases: { lease_id: string }[] }>("GET", `/${name}/leases`)).body.leases.map((lease) => lease.lease_id);
const renewals = (sent: SentRequest[]) => sent.filter((request) => request.path.endsWith("/renew"));

/** Resolves with the signal's reason when it aborts. */
const aborted = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));

// Independent clients and limits: the tests run side by side to keep the file near 5 s.
describe.concurrent("lease renewal", () => {
  it("keeps a 2-second lease alive through a 5-second fn", { timeout: 15_000 }, async ({ expect }) => {
    const { gcl, sent } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);

    await gcl.concurrency(
      name,
      async (signal) => {
        const [leaseId] = await leaseIds(name);
        for (let second = 1; second <= 5; second += 1) {
          await sleep(1_000);
          expect(signal.aborted).toBe(false);
          expect(await leaseIds(name)).toEqual([leaseId]);
        }
      },
      { leaseDuration: 2 },
    );

    // Every 1.5 s: at least 3 renewals in 5 s, each asking for the same duration.
    expect(renewals(sent).length).toBeGreaterThanOrEqual(3);
    expect(renewals(sent).every((request) => request.body?.lease_duration === 2)).toBe(true);
    expect(await leaseIds(name)).toEqual([]);
  });

  it("retries a failed renewal and keeps the lease when a later try succeeds", { timeout: 10_000 }, async ({
    expect,
  }) => {
    let failures = 1;
    const { gcl, sent, logger } = testClient({
      fetch: (url, init) => {
        if (url.endsWith("/renew") && failures > 0) {
          failures -= 1;
          return Promise.reject(new TypeError("network down"));
        }
        return workerFetch(url, init);
      },
    });
    const name = uniqueName();
    await createLimit(name, 1);

    const slot = await gcl.acquire(name, { leaseDuration: 2 });
    // The first try fails at 1.5 s; the retry must land before the lease ends at 2 s.
    await eventually(async () => renewals(sent).length >= 2);
    await sleep(700);

    expect(slot.signal.aborted).toBe(false);
    expect(await leaseIds(name)).toEqual([slot.leaseId]);
    expect(logger.errors).toEqual([]);
    await slot.release();
  });

  it("sends no renewal after release", async ({ expect }) => {
    const { gcl, sent } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);

    const slot = await gcl.acquire(name, { leaseDuration: 1 });
    await slot.release();
    await sleep(1_000);

    expect(renewals(sent)).toEqual([]);
  });
});

describe.concurrent("lease loss", () => {
  it("aborts fn's signal with a LeaseLostError when the lease is released behind the client's back", async ({
    expect,
  }) => {
    const { gcl, logger } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);

    const error = await gcl
      .concurrency(
        name,
        async (signal) => {
          const [leaseId] = await leaseIds(name);
          await api("POST", "/decrement-with-lease", { lease_id: leaseId });
          throw await aborted(signal);
        },
        { leaseDuration: 1 },
      )
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LeaseLostError);
    expect((error as Error).message).toContain("410 lease_not_found");
    expect(logger.errors).toHaveLength(1);
    expect(logger.errors[0]).toContain(`Lost the lease on concurrency slots ['${name}']`);
  });

  it("aborts the holder's signal when the limit is deleted (which revokes its leases)", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);
    const slot = await gcl.acquire(name, { leaseDuration: 1 });

    await api("DELETE", `/${name}`);
    const reason = await aborted(slot.signal);

    expect(reason).toBeInstanceOf(LeaseLostError);
    expect(reason).toMatchObject({ leaseId: slot.leaseId, names: [name] });
    await slot.release();
  });

  it('with onLeaseLost: "continue" logs a warning and lets fn finish', async ({ expect }) => {
    const { gcl, logger } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);

    const result = await gcl.concurrency(
      name,
      async (signal) => {
        const [leaseId] = await leaseIds(name);
        await api("POST", "/decrement-with-lease", { lease_id: leaseId });
        await eventually(async () => logger.warnings.length > 0);
        return signal.aborted ? "aborted" : "finished";
      },
      { leaseDuration: 1, onLeaseLost: "continue" },
    );

    expect(result).toBe("finished");
    expect(logger.errors).toEqual([]);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/Lost the lease .* continuing without the slots \(onLeaseLost: "continue"\)/);
  });

  it("counts the lease lost after 3 failed renewal attempts", { timeout: 10_000 }, async ({ expect }) => {
    const { gcl, sent } = testClient({
      fetch: (url, init) =>
        url.endsWith("/renew") ? Promise.reject(new TypeError("network down")) : workerFetch(url, init),
    });
    const name = uniqueName();
    await createLimit(name, 1);
    const slot = await gcl.acquire(name, { leaseDuration: 1 });

    const reason = await aborted(slot.signal);

    expect(reason).toBeInstanceOf(LeaseLostError);
    expect((reason as Error).message).toContain("3 renewal attempts failed (last: could not reach POST");
    expect(renewals(sent)).toHaveLength(3);
    await slot.release();
  });
});

describe.concurrent("release failures", () => {
  it("do not hide fn's result: concurrency() logs them and returns", async ({ expect }) => {
    const { gcl, logger } = testClient({
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      fetch: (url, init) =>
        url.endsWith("/decrement-with-lease") ? Promise.reject(new TypeError("network down")) : workerFetch(url, init),
    });
    const name = uniqueName();
    await createLimit(name, 1);

    expect(await gcl.concurrency(name, () => "result")).toBe("result");
    expect(logger.errors).toHaveLength(1);
    expect(logger.errors[0]).toContain(`Could not release concurrency slots on ['${name}']`);
  });

  it("reject an explicit release() with a GclError", async ({ expect }) => {
    const entered = deferred();
    const { gcl } = testClient({
      retry: false,
      fetch: (url, init) => {
        if (url.endsWith("/decrement-with-lease")) {
          entered.resolve();
          return Promise.resolve(new Response("upstream down", { status: 502 }));
        }
        return workerFetch(url, init);
      },
    });
    const name = uniqueName();
    await createLimit(name, 1);
    const slot = await gcl.acquire(name);

    await expect(slot.release()).rejects.toMatchObject({
      name: "GclError",
      code: "unavailable",
      message: "upstream down",
    });
    await entered.promise;
  });
});
