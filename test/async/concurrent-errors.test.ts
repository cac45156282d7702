import { describe, it } from "vitest";
import {
  ConcurrentError,
  ConcurrentExecutionError,
  ConcurrentIteratorError,
  concurrent,
  type Job,
  type LazyJob,
} from "../../src/async";
import { collect, collectUntilError, deferred, Probe, settle } from "./helpers";

async function* fromAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) {
    yield item;
  }
}

describe("concurrent errors", () => {
  // ── Error classes ──

  it("wraps originals in `cause` and copies their message", ({ expect }) => {
    const original = new TypeError("bad thing");
    const execution = new ConcurrentExecutionError(original);
    const iteration = new ConcurrentIteratorError("a string");

    expect(execution).toBeInstanceOf(ConcurrentError);
    expect(execution).toBeInstanceOf(Error);
    expect(execution.name).toBe("ConcurrentExecutionError");
    expect(execution.message).toBe("bad thing");
    expect(execution.cause).toBe(original);
    expect(iteration).toBeInstanceOf(ConcurrentError);
    expect(iteration.name).toBe("ConcurrentIteratorError");
    expect(iteration.message).toBe('"a string"');
    expect(new ConcurrentError("x").name).toBe("ConcurrentError");
  });

  // ── Failed jobs ──

  it("throws the first failure after earlier results, aborts running jobs and pulls nothing more", async ({
    expect,
  }) => {
    const probe = new Probe();
    const boom = new Error("boom");
    const first = deferred();
    const second = deferred();
    let pulls = 0;
    function* source(): Generator<Job<number>> {
      const jobs = [
        probe.job(0, { gate: first.promise }),
        probe.job(1, { gate: second.promise, fail: boom }),
        probe.job(2, { gate: new Promise(() => undefined) }),
        probe.job(3),
        probe.job(4),
      ];
      for (const job of jobs) {
        pulls += 1;
        yield job;
      }
    }
    const outcome = collectUntilError(concurrent(source(), { limit: 2 }));

    await settle();
    first.resolve();
    await settle();
    second.resolve();
    const { values, error } = await outcome;

    expect(values).toEqual([0]);
    expect(error).toBeInstanceOf(ConcurrentExecutionError);
    expect((error as ConcurrentExecutionError).cause).toBe(boom);
    expect(probe.signals[2]?.aborted).toBe(true);
    expect(pulls).toBe(3);
    expect(probe.started).toBe(3);
  });

  it("yields failures in completion order with `yieldExceptions` and runs every job", async ({ expect }) => {
    const probe = new Probe();
    const boom = new Error("boom");
    const jobs = [probe.job(0), probe.job(1, { gate: Promise.resolve(), fail: boom }), probe.job(2), probe.job(3)];

    const results = await collect(concurrent(jobs, { limit: 2, yieldExceptions: true }));

    expect(results).toHaveLength(4);
    expect(results[0]).toBeInstanceOf(ConcurrentExecutionError);
    expect((results[0] as ConcurrentExecutionError).cause).toBe(boom);
    expect(results.slice(1)).toEqual([0, 2, 3]);
    expect(probe.started).toBe(4);
  });

  it("wraps a job that throws synchronously and a thenable whose `then` throws", async ({ expect }) => {
    const sync = new Error("sync");
    const thenable = new Error("then");
    const badThenable = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable whose `then` throws is the case under test
      then(): never {
        throw thenable;
      },
    };
    const jobs: Job<number>[] = [
      () => {
        throw sync;
      },
      () => badThenable,
      badThenable,
    ];

    const results = await collect(concurrent(jobs, { yieldExceptions: true }));

    expect(results.map((result) => (result as ConcurrentExecutionError).cause)).toEqual([sync, thenable, thenable]);
  });

  it("uses a non-Error rejection as the message", async ({ expect }) => {
    const { error } = await collectUntilError(concurrent([() => Promise.reject("nope")]));

    expect(error).toBeInstanceOf(ConcurrentExecutionError);
    expect((error as Error).message).toBe('"nope"');
    expect((error as Error).cause).toBe("nope");
  });

  // ── Invalid items ──

  it("yields a plain ConcurrentError for an item that is not a job, and frees its slot", async ({ expect }) => {
    const probe = new Probe();
    const items = [probe.job(0), 42, probe.job(2)] as unknown as Job<number>[];

    const results = await collect(concurrent(items, { limit: 1, yieldExceptions: true }));

    expect(results).toHaveLength(3);
    expect(results[0]).toBe(0);
    expect(results[1]?.constructor).toBe(ConcurrentError);
    expect((results[1] as ConcurrentError).message).toMatch(
      /Expected a job \(a function or a promise\), got `42` \(number\)/,
    );
    expect(results[2]).toBe(2);
  });

  it("throws the ConcurrentError for an item that is not a job without `yieldExceptions`", async ({ expect }) => {
    const probe = new Probe();
    const items = [probe.job(0), "oops", probe.job(2)] as unknown as Job<number>[];

    const { values, error } = await collectUntilError(concurrent(items, { limit: 1 }));

    expect(values).toEqual([0]);
    expect(error?.constructor).toBe(ConcurrentError);
    expect(probe.started).toBe(1);
  });

  // ── Source failures ──

  it.for([
    ["sync", "first", false],
    ["sync", "first", true],
    ["async", "first", false],
    ["async", "first", true],
  ] as const)(
    "throws a ConcurrentIteratorError when a %s source fails at its %s pull (yieldExceptions %s)",
    async ([kind, , yieldExceptions], { expect }) => {
      const broken = new Error("source broke");
      // biome-ignore lint/correctness/useYield: a source that fails at its first pull, before yielding anything
      function* sync(): Generator<Job<number>> {
        throw broken;
      }
      // biome-ignore lint/correctness/useYield: a source that fails at its first pull, before yielding anything
      async function* asynchronous(): AsyncGenerator<LazyJob<number>> {
        throw broken;
      }

      const { values, error } = await collectUntilError(
        concurrent(kind === "sync" ? sync() : asynchronous(), { yieldExceptions }),
      );

      expect(values).toEqual([]);
      expect(error).toBeInstanceOf(ConcurrentIteratorError);
      expect((error as Error).cause).toBe(broken);
    },
  );

  it("delivers results finished before a mid-stream async source failure, then throws it even with `yieldExceptions`", async ({
    expect,
  }) => {
    const broken = new Error("source broke");
    async function* source(): AsyncGenerator<LazyJob<number>> {
      yield async () => 0;
      // Let job 0 finish and queue its result before the source fails.
      await settle();
      throw broken;
    }

    const { values, error } = await collectUntilError(concurrent(source(), { yieldExceptions: true }));

    expect(values).toEqual([0]);
    expect(error).toBeInstanceOf(ConcurrentIteratorError);
    expect((error as Error).cause).toBe(broken);
  });

  it("aborts running jobs when a sync source fails mid-stream", async ({ expect }) => {
    const probe = new Probe();
    const broken = new Error("source broke");
    function* source(): Generator<Job<number>> {
      yield probe.job(0, { gate: new Promise(() => undefined) });
      yield probe.job(1, { gate: new Promise(() => undefined) });
      throw broken;
    }

    const { values, error } = await collectUntilError(concurrent(source(), { limit: 3 }));

    expect(values).toEqual([]);
    expect((error as Error).cause).toBe(broken);
    expect(probe.signals.map((signal) => signal.aborted)).toEqual([true, true]);
    expect(probe.running).toBe(0);
  });

  it("throws a TypeError at the call for a source that is not iterable", ({ expect }) => {
    for (const source of [5, null, undefined, {}]) {
      expect(() => concurrent(source as unknown as Job<number>[])).toThrow(
        /Expected `source` to be an iterable or async iterable/,
      );
    }
  });

  it("throws a ConcurrentIteratorError when the source's iterator cannot be created or misbehaves", async ({
    expect,
  }) => {
    const broken = new Error("no iterator");
    const throwing = {
      [Symbol.iterator](): Iterator<Job<number>> {
        throw broken;
      },
    };
    const garbage = {
      [Symbol.iterator]: () => ({ next: () => 7 }),
    } as unknown as Iterable<Job<number>>;

    const first = await collectUntilError(concurrent(throwing));
    const second = await collectUntilError(concurrent(garbage, { yieldExceptions: true }));

    expect(first.error).toBeInstanceOf(ConcurrentIteratorError);
    expect((first.error as Error).cause).toBe(broken);
    expect(second.error).toBeInstanceOf(ConcurrentIteratorError);
    expect((second.error as Error).cause).toBeInstanceOf(TypeError);
  });

  it("throws without waiting for a slow async source's pending next()", async ({ expect }) => {
    const boom = new Error("boom");
    async function* source(): AsyncGenerator<LazyJob<number>> {
      yield () => Promise.reject(boom);
      // A source that never produces its next item must not block the error.
      await new Promise(() => undefined);
    }

    const { error } = await collectUntilError(concurrent(source(), { limit: 2 }));

    expect((error as Error).cause).toBe(boom);
  });

  it("throws an async source failure that follows queued results only after yielding them", async ({ expect }) => {
    const probe = new Probe();
    const broken = new Error("broken");
    async function* source(): AsyncGenerator<LazyJob<number>> {
      yield* fromAsync([probe.job(0, { gate: Promise.resolve() }), probe.job(1, { gate: Promise.resolve() })]);
      await settle();
      throw broken;
    }

    const { values, error } = await collectUntilError(concurrent(source(), { limit: 4 }));

    expect(values.toSorted()).toEqual([0, 1]);
    expect((error as Error).cause).toBe(broken);
  });
});
