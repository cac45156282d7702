import { describe, it } from "vitest";
import { GatherIncomplete, gather, TaskGroup, type Job } from "../../src/async";
import { deferred, Probe, settle } from "./helpers";

const NEVER = new Promise<never>(() => undefined);

describe("gather", () => {
  it("resolves with results in input order, whatever the completion order", async ({ expect }) => {
    const probe = new Probe();
    const gates = [deferred(), deferred(), deferred()];
    const all = gather(gates.map((gate, index) => probe.job(index, { gate: gate.promise })));

    for (const gate of gates.toReversed()) {
      await settle();
      gate.resolve();
    }

    await expect(all).resolves.toEqual([0, 1, 2]);
  });

  it("types each result by position and accepts running promises", async ({ expect }) => {
    const [count, label] = await gather([async () => 1, Promise.resolve("one")]);
    const sum: number = count + 1;
    const upper: string = label.toUpperCase();

    expect([sum, upper]).toEqual([2, "ONE"]);
  });

  it("keeps `undefined` results (no placeholder confusion)", async ({ expect }) => {
    await expect(gather([async () => undefined, async () => null])).resolves.toEqual([undefined, null]);
    await expect(gather([])).resolves.toEqual([]);
  });

  it("aborts the other jobs on the first failure and rejects with it once they have settled", async ({ expect }) => {
    const probe = new Probe();
    const boom = new Error("boom");
    const jobs = [
      probe.job(0, { gate: NEVER }),
      probe.job(1, { gate: Promise.resolve(), fail: boom }),
      probe.job(2, { gate: NEVER }),
    ];

    const error = await gather(jobs).catch((caught: unknown) => caught);

    expect(error).toBe(boom);
    expect(probe.signals.map((signal) => signal.aborted)).toEqual([true, true, true]);
    expect(probe.settled).toBe(3);
  });

  it("rejects with an AggregateError of the real failures when several jobs fail", async ({ expect }) => {
    const probe = new Probe();
    const first = new Error("first");
    const second = new Error("second, despite the abort");
    const jobs = [
      probe.job(0, { gate: Promise.resolve(), fail: first }),
      probe.job(1, { gate: settle(), fail: second, ignoreAbort: true }),
      probe.job(2, { gate: NEVER }),
    ];

    const error = await gather(jobs).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AggregateError);
    // Job 2 only reported the abort, so it is not a failure of its own.
    expect((error as AggregateError).errors).toEqual([first, second]);
  });

  it("rejects with the signal's reason and aborts the jobs when the signal aborts", async ({ expect }) => {
    const probe = new Probe();
    const controller = new AbortController();
    const reason = new Error("cancelled");
    const all = gather([probe.job(0, { gate: NEVER }), probe.job(1, { gate: NEVER })], { signal: controller.signal });

    await settle();
    controller.abort(reason);

    await expect(all).rejects.toBe(reason);
    expect(probe.signals.map((signal) => signal.reason)).toEqual([reason, reason]);
  });

  it("starts nothing when the signal is already aborted", async ({ expect }) => {
    const probe = new Probe();
    const reason = new Error("too late");

    await expect(gather([probe.job(0)], { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(probe.started).toBe(0);
  });

  it("rejects with a TypeError naming the bad item, before starting any job", async ({ expect }) => {
    const probe = new Probe();
    const jobs = [probe.job(0), "not a job"] as unknown as Job<number>[];

    await expect(gather(jobs)).rejects.toThrow(/Expected `jobs\[1\]` to be a function or a promise/);
    expect(probe.started).toBe(0);
  });
});

describe("TaskGroup", () => {
  it("throws GatherIncomplete when results are read before every job has settled", async ({ expect }) => {
    const gate = deferred<string>();
    const group = new TaskGroup<string>();
    const fast = group.spawn(async () => "fast");
    const slow = group.spawn(() => gate.promise);
    await settle();

    expect(() => group.results).toThrow(GatherIncomplete);
    expect(() => group.results).toThrow("1 of 2 jobs have not settled yet");
    expect(() => group.getResult(slow)).toThrow(GatherIncomplete);
    expect(group.getResult(fast)).toBe("fast");

    gate.resolve("slow");
    await expect(group.wait()).resolves.toEqual(["fast", "slow"]);
    expect(group.results).toEqual(["fast", "slow"]);
    expect(group.getResult(slow)).toBe("slow");
  });

  it("keeps reporting incomplete results after a failure, with the failure as cause", async ({ expect }) => {
    const boom = new Error("boom");
    const group = new TaskGroup<number>();
    const ok = group.spawn(async () => 1);
    const bad = group.spawn(() => Promise.reject(boom));

    await expect(group.wait()).rejects.toBe(boom);
    expect(group.getResult(ok)).toBe(1);
    expect(() => group.getResult(bad)).toThrow(boom);
    let caught: unknown;
    try {
      void group.results;
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(GatherIncomplete);
    expect((caught as Error).cause).toBe(boom);
  });

  it("throws a RangeError for an index it never handed out", ({ expect }) => {
    const group = new TaskGroup();
    expect(() => group.getResult(0)).toThrow(RangeError);
  });

  it("waits for jobs spawned while it is waiting", async ({ expect }) => {
    const group = new TaskGroup<number>();
    group.spawn(async () => {
      await settle();
      group.spawn(async () => 2);
      return 1;
    });

    await expect(group.wait()).resolves.toEqual([1, 2]);
    expect(group.size).toBe(2);
  });

  it("does not start job functions spawned after a failure or abort", async ({ expect }) => {
    const probe = new Probe();
    const group = new TaskGroup<number>();
    group.abort(new Error("stop"));
    group.spawn(probe.job(0));

    await expect(group.wait()).rejects.toThrow("stop");
    expect(probe.started).toBe(0);
  });

  it("rejects with an AbortError after abort() without a reason", async ({ expect }) => {
    const group = new TaskGroup();
    group.spawn(
      (signal) => new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    );
    group.abort();

    await expect(group.wait()).rejects.toMatchObject({ name: "AbortError" });
  });

  it("refuses to spawn once wait() has settled", async ({ expect }) => {
    const group = new TaskGroup<number>();
    group.spawn(async () => 1);
    await group.wait();

    expect(() => group.spawn(async () => 2)).toThrow(/wait\(\) has settled/);
  });

  it("validates its signal option and spawned jobs", ({ expect }) => {
    expect(() => new TaskGroup({ signal: "nope" as unknown as AbortSignal })).toThrow(/`signal`/);
    expect(() => new TaskGroup().spawn(5 as unknown as Job<unknown>)).toThrow(/`job`/);
  });
});
