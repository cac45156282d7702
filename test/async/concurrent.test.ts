import { afterEach, describe, it, vi } from "vitest";
import { ConcurrentExecutionError, concurrent, defaultConcurrency, type Job } from "../../src/async";
import { collect, deferred, macrotasks, Probe, settle, type Deferred } from "./helpers";

async function* fromAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) {
    yield item;
  }
}

/** A deterministic pseudo-random sequence, so failures reproduce. */
function sequence(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

describe("concurrent", () => {
  // ── Inputs and ordering ──

  it.for([
    ["an empty array", () => []],
    ["an empty async generator", () => fromAsync([])],
  ] as const)("finishes without yielding for %s", async ([, source], { expect }) => {
    await expect(collect(concurrent<number>(source()))).resolves.toEqual([]);
  });

  it("yields results in completion order and never runs more than `limit` jobs", async ({ expect }) => {
    const probe = new Probe();
    const gates: Deferred<void>[] = Array.from({ length: 5 }, () => deferred());
    const jobs = gates.map((gate, index) => probe.job(index, { gate: gate.promise }));
    const results = collect(concurrent(jobs, { limit: 2 }));

    for (const index of [1, 0, 3, 2, 4]) {
      await settle();
      expect(probe.running).toBeLessThanOrEqual(2);
      gates[index]?.resolve();
    }

    await expect(results).resolves.toEqual([1, 0, 3, 2, 4]);
    expect(probe.maxRunning).toBe(2);
  });

  it("keeps jobs in flight at or below `limit` with uneven job lengths", async ({ expect }) => {
    const random = sequence(42);
    const probe = new Probe();
    const jobs = Array.from({ length: 60 }, (_, index) => probe.job(index, { ticks: Math.floor(random() * 4) }));

    const results = await collect(concurrent(jobs, { limit: 4 }));

    expect(results.toSorted((a, b) => a - b)).toEqual(jobs.map((_, index) => index));
    expect(probe.maxRunning).toBeLessThanOrEqual(4);
    expect(probe.maxRunning).toBe(4);
  });

  it.for([
    ["a sync generator", false],
    ["an async generator", true],
  ] as const)("pulls %s only when a slot is free", async ([, isAsync], { expect }) => {
    const log: string[] = [];
    const gates: Deferred<void>[] = Array.from({ length: 4 }, () => deferred());
    function* items(): Generator<Job<number>> {
      for (const [index, gate] of gates.entries()) {
        log.push(`pull ${index}`);
        yield async () => {
          log.push(`start ${index}`);
          await gate.promise;
          return index;
        };
      }
    }
    const results = collect(concurrent(isAsync ? fromAsync(items()) : items(), { limit: 2 }));

    await settle();
    expect(log).toEqual(["pull 0", "start 0", "pull 1", "start 1"]);
    gates[0]?.resolve();
    await settle();
    expect(log).toEqual(["pull 0", "start 0", "pull 1", "start 1", "pull 2", "start 2"]);

    for (const gate of gates) {
      gate.resolve();
    }
    await expect(results).resolves.toEqual([0, 1, 2, 3]);
  });

  it("accepts sets, iterators, custom async iterables and already-running promises", async ({ expect }) => {
    const asyncIterable: AsyncIterable<Job<number>> = {
      [Symbol.asyncIterator]: () => fromAsync([async () => 5]),
    };
    const sources = [
      new Set([async () => 1]),
      [async () => 2][Symbol.iterator](),
      [Promise.resolve(3), async () => 4],
      asyncIterable,
    ];

    const results = await Promise.all(sources.map((source) => collect(concurrent(source))));

    expect(results).toEqual([[1], [2], [3, 4], [5]]);
  });

  it("treats a rejected promise item like a failed job", async ({ expect }) => {
    const boom = new Error("boom");
    const results = await collect(concurrent([Promise.reject(boom)], { yieldExceptions: true }));

    expect(results).toHaveLength(1);
    expect(results[0]).toBeInstanceOf(ConcurrentExecutionError);
    expect((results[0] as ConcurrentExecutionError).cause).toBe(boom);
  });

  it("does not start more jobs while the consumer has not taken finished results", async ({ expect }) => {
    const probe = new Probe();
    const iterator = concurrent(
      Array.from({ length: 10 }, (_, index) => probe.job(index)),
      { limit: 2 },
    );

    await iterator.next();
    await macrotasks(5);
    // Two slots: one job was taken (its slot refilled by job 2), the others hold unread results.
    expect(probe.started).toBe(3);
    expect(probe.running).toBe(0);

    const rest = await collect({ [Symbol.asyncIterator]: () => iterator });
    expect(rest).toHaveLength(9);
  });

  // ── Limits ──

  it("starts every job at once with limit -1", async ({ expect }) => {
    const probe = new Probe();
    const gate = deferred();
    const results = collect(
      concurrent(
        Array.from({ length: 10 }, (_, index) => probe.job(index, { gate: gate.promise })),
        { limit: -1 },
      ),
    );

    await settle();
    expect(probe.running).toBe(10);
    gate.resolve();
    await expect(results).resolves.toHaveLength(10);
  });

  it("uses the default limit when `limit` is omitted", async ({ expect }) => {
    const probe = new Probe();
    const gate = deferred();
    const limit = defaultConcurrency();
    const results = collect(
      concurrent(Array.from({ length: limit + 5 }, (_, index) => probe.job(index, { gate: gate.promise }))),
    );

    await settle();
    expect(probe.running).toBe(limit);
    gate.resolve();
    await expect(results).resolves.toHaveLength(limit + 5);
  });

  it.for([0, -2, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "3", null])(
    "throws a RangeError at the call, before pulling anything, for limit %s",
    (limit, { expect }) => {
      let pulled = false;
      function* source(): Generator<Job<number>> {
        pulled = true;
        yield async () => 1;
      }
      expect(() => concurrent(source(), { limit: limit as number })).toThrow(RangeError);
      expect(() => concurrent(source(), { limit: limit as number })).toThrow(
        /Expected `limit` to be a positive integer or -1/,
      );
      expect(pulled).toBe(false);
    },
  );

  it("throws a TypeError at the call for other invalid options", ({ expect }) => {
    expect(() => concurrent([], { yieldExceptions: "yes" as unknown as boolean })).toThrow(/`yieldExceptions`/);
    expect(() => concurrent([], { signal: {} as AbortSignal })).toThrow(/`signal`/);
    expect(() => concurrent([], null as unknown as object)).toThrow(TypeError);
  });
});

describe("defaultConcurrency", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it.for([
    [4, 8],
    [64, 32],
    [0, 5],
    [undefined, 5],
  ] as const)("returns min(32, cores + 4) for hardwareConcurrency %s", ([cores, expected], { expect }) => {
    vi.stubGlobal("navigator", { hardwareConcurrency: cores });
    expect(defaultConcurrency()).toBe(expected);
  });

  it("counts one core where there is no navigator", ({ expect }) => {
    vi.stubGlobal("navigator", undefined);
    expect(defaultConcurrency()).toBe(5);
  });
});
