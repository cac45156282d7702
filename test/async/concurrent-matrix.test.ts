// The black-box matrix of aio.tasks' integration test (asyncutils.md A.9, test list case 14):
// source kind × limit × yieldExceptions × scenario, checking the error class, what is yielded,
// the limit, and that nothing is left running afterwards.
import { describe, it } from "vitest";
import {
  ConcurrentError,
  ConcurrentExecutionError,
  ConcurrentIteratorError,
  concurrent,
  defaultConcurrency,
  type JobSource,
  type LazyJob,
} from "../../src/async";
import { Probe } from "./helpers";

type Step = "happy" | "sad" | "raise" | "invalid";

const SCENARIOS: Record<string, readonly Step[]> = {
  "one job": ["happy"],
  "all succeed": ["happy", "happy", "happy", "happy", "happy", "happy", "happy"],
  "an early failure": ["happy", "happy", "sad", "happy", "happy", "happy"],
  "a late failure": ["happy", "happy", "happy", "happy", "happy", "sad", "happy"],
  "leading failures": ["sad", "sad", "happy", "happy", "happy"],
  "an invalid item": ["happy", "happy", "invalid", "happy", "happy", "happy"],
  "a source failure": ["happy", "happy", "raise", "happy", "happy", "happy"],
};

const KINDS = ["array", "set", "iterator", "sync generator", "async generator"] as const;
type Kind = (typeof KINDS)[number];
const GENERATORS: readonly Kind[] = ["sync generator", "async generator"];
const LIMITS = [undefined, 1, 2, 3, -1] as const;

interface Case {
  readonly kind: Kind;
  readonly limit: number | undefined;
  readonly yieldExceptions: boolean;
  readonly scenario: string;
}

const CASES: Case[] = KINDS.flatMap((kind) =>
  LIMITS.flatMap((limit) =>
    [false, true].flatMap((yieldExceptions) =>
      Object.entries(SCENARIOS)
        // Only a generator can fail part-way through iteration.
        .filter(([, steps]) => !steps.includes("raise") || GENERATORS.includes(kind))
        .map(([scenario]) => ({ kind, limit, yieldExceptions, scenario })),
    ),
  ),
);

function makeSource(kind: Kind, items: readonly (LazyJob<number> | Error)[]): JobSource<number> {
  const jobs = items as LazyJob<number>[];
  function* sync(): Generator<LazyJob<number>> {
    for (const item of items) {
      if (item instanceof Error) {
        throw item;
      }
      yield item;
    }
  }
  async function* asynchronous(): AsyncGenerator<LazyJob<number>> {
    yield* sync();
  }
  switch (kind) {
    case "array":
      return jobs;
    case "set":
      return new Set(jobs);
    case "iterator":
      return jobs[Symbol.iterator]();
    case "sync generator":
      return sync();
    case "async generator":
      return asynchronous();
  }
}

describe("concurrent matrix", () => {
  it.for(CASES)(
    "$kind source, limit $limit, yieldExceptions $yieldExceptions: $scenario",
    async (testCase, { expect }) => {
      const { kind, limit, yieldExceptions, scenario } = testCase;
      const steps = SCENARIOS[scenario] ?? [];
      const probe = new Probe();
      const raised = new Error("source failed");
      const items = steps.map((step, index): LazyJob<number> | Error => {
        switch (step) {
          case "happy":
            return probe.job(index, { ticks: 1 + (index % 2) });
          case "sad":
            return probe.job(index, { gate: Promise.resolve(), fail: new Error(`sad ${index}`) });
          case "invalid":
            return 42 as unknown as LazyJob<number>;
          case "raise":
            return raised;
          default:
            throw new Error(`unknown step ${String(step)}`);
        }
      });
      const happy = steps.flatMap((step, index) => (step === "happy" ? [index] : []));
      const sad = steps.flatMap((step, index) => (step === "sad" ? [`sad ${index}`] : []));

      const values: number[] = [];
      const yieldedErrors: ConcurrentError[] = [];
      let thrown: unknown;
      try {
        for await (const result of concurrent(makeSource(kind, items), { limit, yieldExceptions })) {
          if (result instanceof ConcurrentError) {
            yieldedErrors.push(result);
          } else {
            values.push(result);
          }
        }
      } catch (error) {
        thrown = error;
      }

      const effectiveLimit = limit === undefined ? defaultConcurrency() : limit;
      if (effectiveLimit !== -1) {
        expect(probe.maxRunning).toBeLessThanOrEqual(effectiveLimit);
      }
      expect(probe.settled).toBe(probe.started);
      expect(new Set(values).size).toBe(values.length);

      if (steps.includes("raise")) {
        expect(thrown).toBeInstanceOf(ConcurrentIteratorError);
        expect((thrown as Error).cause).toBe(raised);
        expect(values.every((value) => value < steps.indexOf("raise"))).toBe(true);
        return;
      }
      if (sad.length === 0 && !steps.includes("invalid")) {
        expect(thrown).toBeUndefined();
        expect(values.toSorted((a, b) => a - b)).toEqual(happy);
        return;
      }
      if (yieldExceptions) {
        expect(thrown).toBeUndefined();
        expect(values.toSorted((a, b) => a - b)).toEqual(happy);
        if (steps.includes("invalid")) {
          expect(yieldedErrors.map((error) => error.constructor)).toEqual([ConcurrentError]);
        } else {
          expect(yieldedErrors.every((error) => error instanceof ConcurrentExecutionError)).toBe(true);
          expect(yieldedErrors.map((error) => (error.cause as Error).message).toSorted()).toEqual(sad);
        }
        return;
      }
      expect(yieldedErrors).toEqual([]);
      expect(values.every((value) => happy.includes(value))).toBe(true);
      if (steps.includes("invalid")) {
        expect((thrown as Error).constructor).toBe(ConcurrentError);
      } else {
        expect(thrown).toBeInstanceOf(ConcurrentExecutionError);
        expect(sad).toContain(((thrown as Error).cause as Error).message);
      }
    },
  );
});
