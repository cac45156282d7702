import { describe, it } from "vitest";
import { ConcurrencySlotAcquisitionError } from "../../src/client";
import { activeSlots, createLimit, uniqueName } from "../helpers/api";
import { testClient } from "../helpers/client";

describe.concurrent("rateLimit()", () => {
  it("paces 15 calls on a limit of 5 decaying 5/s: a burst of 5, then one every 0.2 s", { timeout: 15_000 }, async ({
    expect,
  }) => {
    const { gcl, sent } = testClient();
    const name = uniqueName();
    await createLimit(name, 5, { slot_decay_per_second: 5 });
    const started = Date.now();
    const admittedAt: number[] = [];

    for (let call = 0; call < 15; call += 1) {
      await gcl.rateLimit(name, { timeoutSeconds: 10 });
      admittedAt.push(Date.now() - started);
      expect(await activeSlots(name)).toBeLessThanOrEqual(5);
    }

    // The k-th call beyond the burst cannot be admitted before k / 5 s: a lower bound only.
    admittedAt.forEach((at, call) => {
      expect(at).toBeGreaterThanOrEqual(Math.max(0, call - 4) * 200 - 1);
    });
    // Over the limit's socket where it waits, else /increment in rate-limit mode.
    const paced = (request: (typeof sent)[number]) =>
      request.path === `/${name}/wait` || (request.path === "/increment" && request.body?.mode === "rate_limit");
    expect(sent.every(paced)).toBe(true);
  });

  it("admits parallel callers one at a time as the bucket leaks, none early", { timeout: 15_000 }, async ({
    expect,
  }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 2, { slot_decay_per_second: 4 });
    // Before the bucket fills, so that every bound below is a true lower bound.
    const started = Date.now();
    await gcl.rateLimit(name, { occupy: 2 });

    const admittedAt = await Promise.all(
      Array.from({ length: 6 }, async () => {
        await gcl.rateLimit(name, { timeoutSeconds: 10 });
        return Date.now() - started;
      }),
    );

    admittedAt.sort((a, b) => a - b);
    admittedAt.forEach((at, index) => {
      expect(at).toBeGreaterThanOrEqual((index + 1) * 250 - 1);
    });
  });

  it("takes nothing back: a released client does not free rate slots", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 3, { slot_decay_per_second: 0.01 });

    const result = await gcl.rateLimit(name, { occupy: 3 });

    expect(result.limits.map((limit) => limit.name)).toEqual([name]);
    expect(result.missing).toEqual([]);
    expect(await activeSlots(name)).toBe(3);
    await expect(gcl.rateLimit(name, { maxRetries: 0 })).rejects.toMatchObject({ code: "locked" });
  });

  it("fails with the server's code on a limit without decay", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 3);

    const error = await gcl.rateLimit(name).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConcurrencySlotAcquisitionError);
    expect(error).toMatchObject({ code: "rate_limit_without_decay", status: 422 });
  });

  it("strict: fails when a name is missing; non-strict: warns and reports it", async ({ expect }) => {
    const { gcl, logger } = testClient();
    const [present, absent] = [uniqueName("present"), uniqueName("absent")];
    await createLimit(present, 10, { slot_decay_per_second: 10 });

    await expect(gcl.rateLimit([absent], { strict: true })).rejects.toThrow(
      `Concurrency limits ['${absent}'] must be created before acquiring slots`,
    );
    const result = await gcl.rateLimit([present, absent]);

    expect(result.missing).toEqual([absent]);
    expect(logger.warnings).toEqual([`Concurrency limits ['${absent}'] do not exist - acquiring only ['${present}'].`]);
  });
});
