import { describe, it } from "vitest";
import { concurrent, type LazyJob } from "../../src/async";
import { collectUntilError, deferred, Probe, settle } from "./helpers";

const NEVER = new Promise<never>(() => undefined);

describe("concurrent clean-up", () => {
  // ── Early exit by the consumer ──

  it("starts no further job after `break`, aborts the running ones and closes the source", async ({ expect }) => {
    const probe = new Probe();
    let pulls = 0;
    let sourceClosed = false;
    function* endless(): Generator<LazyJob<number>> {
      try {
        for (let index = 0; ; index += 1) {
          pulls += 1;
          yield probe.job(index, { gate: index === 0 ? Promise.resolve() : NEVER });
        }
      } finally {
        sourceClosed = true;
      }
    }

    for await (const value of concurrent(endless(), { limit: 3 })) {
      expect(value).toBe(0);
      break;
    }
    const startedAtExit = probe.started;
    await settle();

    expect(probe.started).toBe(startedAtExit);
    expect(pulls).toBe(startedAtExit);
    expect(pulls).toBeLessThanOrEqual(4);
    expect(sourceClosed).toBe(true);
    expect(probe.signals.slice(1).every((signal) => signal.aborted)).toBe(true);
    expect(probe.running).toBe(0);
  });

  it("aborts running jobs when the loop body throws, and rethrows that error unchanged", async ({ expect }) => {
    const probe = new Probe();
    const mine = new Error("consumer failed");
    const jobs = [
      probe.job(0, { gate: Promise.resolve() }),
      probe.job(1, { gate: NEVER }),
      probe.job(2, { gate: NEVER }),
    ];

    const run = async (): Promise<void> => {
      for await (const _value of concurrent(jobs, { limit: 3 })) {
        throw mine;
      }
    };

    await expect(run()).rejects.toBe(mine);
    expect(probe.signals.map((signal) => signal.aborted)).toEqual([true, true, true]);
    expect(probe.running).toBe(0);
  });

  it("waits for aborted jobs to settle before the loop exits, even a job that ignores its signal", async ({
    expect,
  }) => {
    const probe = new Probe();
    const stubborn = deferred();
    const jobs = [
      probe.job(0, { gate: Promise.resolve() }),
      probe.job(1, { gate: stubborn.promise, ignoreAbort: true }),
    ];
    let exited = false;

    const loop = (async () => {
      for await (const _value of concurrent(jobs, { limit: 2 })) {
        break;
      }
      exited = true;
    })();
    await settle();
    expect(exited).toBe(false);
    expect(probe.signals[1]?.aborted).toBe(true);

    stubborn.resolve();
    await loop;
    expect(exited).toBe(true);
    expect(probe.settled).toBe(probe.started);
  });

  it("exits promptly on `break` while an async source is stuck in next()", async ({ expect }) => {
    async function* source(): AsyncGenerator<LazyJob<number>> {
      yield async () => 1;
      await NEVER;
    }
    const seen: number[] = [];

    for await (const value of concurrent(source(), { limit: 2 })) {
      seen.push(value);
      break;
    }

    expect(seen).toEqual([1]);
  });

  it("pulls nothing when the iterator is returned before the first next()", async ({ expect }) => {
    let pulled = false;
    function* source(): Generator<LazyJob<number>> {
      pulled = true;
      yield async () => 1;
    }

    const iterator = concurrent(source());
    await iterator.return();

    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
    expect(pulled).toBe(false);
  });

  // ── Leaks ──

  it.for(["success", "failure", "break"] as const)(
    "leaves no job running after the loop ends by %s",
    async (ending, { expect }) => {
      const probe = new Probe();
      const jobs = Array.from({ length: 8 }, (_, index) =>
        probe.job(index, {
          ticks: index % 3,
          fail: ending === "failure" && index === 3 ? new Error("boom") : undefined,
        }),
      );

      try {
        for await (const _value of concurrent(jobs, { limit: 3 })) {
          if (ending === "break") {
            break;
          }
        }
      } catch {
        // The failure case ends here; the assertions below are what matter.
      }

      expect(probe.started).toBeGreaterThan(0);
      expect(probe.settled).toBe(probe.started);
      expect(probe.running).toBe(0);
    },
  );

  // ── The `signal` option ──

  it("aborts running jobs with the signal's reason, starts no more and throws that reason", async ({ expect }) => {
    const probe = new Probe();
    const controller = new AbortController();
    const reason = new Error("shutting down");
    let pulls = 0;
    function* source(): Generator<LazyJob<number>> {
      for (let index = 0; index < 10; index += 1) {
        pulls += 1;
        yield probe.job(index, { gate: NEVER });
      }
    }

    const outcome = collectUntilError(concurrent(source(), { limit: 2, signal: controller.signal }));
    await settle();
    controller.abort(reason);
    const { values, error } = await outcome;

    expect(values).toEqual([]);
    expect(error).toBe(reason);
    expect(probe.signals.map((signal) => signal.reason)).toEqual([reason, reason]);
    expect(pulls).toBe(2);
    expect(probe.running).toBe(0);
  });

  it("throws the reason of an already-aborted signal at the first next() without pulling", async ({ expect }) => {
    const reason = new Error("too late");
    let pulled = false;
    function* source(): Generator<LazyJob<number>> {
      pulled = true;
      yield async () => 1;
    }

    const iterator = concurrent(source(), { signal: AbortSignal.abort(reason) });

    await expect(iterator.next()).rejects.toBe(reason);
    expect(pulled).toBe(false);
  });
});
