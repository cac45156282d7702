import { afterEach, beforeEach, describe, it, vi } from "vitest";
import { BackgroundTasks, type Job } from "../../src/async";
import { deferred, settle } from "./helpers";

interface ProcessEvents {
  on(event: "unhandledRejection", listener: (reason: unknown) => void): void;
  off(event: "unhandledRejection", listener: (reason: unknown) => void): void;
}

// The unit project runs in Node; `process` is reached structurally because src and test are
// type-checked without Node's types.
const nodeProcess = (globalThis as { process?: ProcessEvents }).process;
const unhandled: unknown[] = [];
const record = (reason: unknown): void => {
  unhandled.push(reason);
};

describe("BackgroundTasks", () => {
  beforeEach(() => {
    unhandled.length = 0;
    nodeProcess?.on("unhandledRejection", record);
  });

  afterEach(() => {
    nodeProcess?.off("unhandledRejection", record);
  });

  it("catches a rejection: onError sees it and nothing is reported as unhandled", async ({ expect }) => {
    const errors: unknown[] = [];
    const boom = new Error("boom");
    const tasks = new BackgroundTasks({ onError: (error) => errors.push(error) });

    // The returned promise is deliberately ignored, as fire-and-forget callers do.
    void tasks.run(() => Promise.reject(boom));
    tasks.run(Promise.reject(new Error("adopted")));
    await tasks.settled();
    await settle();
    await settle();

    expect(errors).toEqual([boom, new Error("adopted")]);
    expect(unhandled).toEqual([]);
  });

  it("still rejects the promise returned by run() for a caller that awaits it", async ({ expect }) => {
    const onError = vi.fn();
    const boom = new Error("boom");
    const tasks = new BackgroundTasks({ onError });

    await expect(tasks.run(() => Promise.reject(boom))).rejects.toBe(boom);
    await expect(tasks.run(async () => 5)).resolves.toBe(5);
    expect(onError).toHaveBeenCalledExactlyOnceWith(boom);
  });

  it("tracks running jobs in `size` and settles after jobs started while waiting", async ({ expect }) => {
    const tasks = new BackgroundTasks();
    const first = deferred();
    const second = deferred();
    tasks.run(() => first.promise);
    expect(tasks.size).toBe(1);

    let settled = false;
    const waiting = tasks.settled().then(() => {
      settled = true;
    });
    tasks.run(() => second.promise);
    first.resolve();
    await settle();
    expect(settled).toBe(false);
    expect(tasks.size).toBe(1);

    second.resolve();
    await waiting;
    expect(tasks.size).toBe(0);
  });

  it("hands each job to waitUntil once, with a promise that resolves even when the job fails", async ({ expect }) => {
    const handed: Promise<unknown>[] = [];
    const tasks = new BackgroundTasks({ waitUntil: (promise) => handed.push(promise), onError: () => undefined });

    tasks.run(async () => 1);
    tasks.run(() => Promise.reject(new Error("boom")));

    expect(handed).toHaveLength(2);
    await expect(Promise.all(handed)).resolves.toEqual([undefined, undefined]);
  });

  it("does not start the job when waitUntil throws", ({ expect }) => {
    const job = vi.fn(async () => 1);
    const tasks = new BackgroundTasks({
      waitUntil: () => {
        throw new Error("outside a request");
      },
    });

    expect(() => tasks.run(job)).toThrow("outside a request");
    expect(job).not.toHaveBeenCalled();
    expect(tasks.size).toBe(0);
  });

  it("reports a job that throws synchronously instead of throwing from run()", async ({ expect }) => {
    const errors: unknown[] = [];
    const boom = new Error("sync");
    const tasks = new BackgroundTasks({ onError: (error) => errors.push(error) });

    const outcome = tasks.run(() => {
      throw boom;
    });

    await expect(outcome).rejects.toBe(boom);
    expect(errors).toEqual([boom]);
  });

  it("logs the failure when no onError is given, and when onError itself throws", async ({ expect }) => {
    const log = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const boom = new Error("boom");

    new BackgroundTasks().run(() => Promise.reject(boom));
    new BackgroundTasks({
      onError: () => {
        throw new Error("hook broke");
      },
    }).run(() => Promise.reject(boom));
    await settle();
    await settle();

    expect(log).toHaveBeenCalledTimes(2);
    expect(log.mock.calls[0]).toContain(boom);
    expect(log.mock.calls[1]).toContain(boom);
    expect(unhandled).toEqual([]);
  });

  it("passes the signal option to job functions", async ({ expect }) => {
    const controller = new AbortController();
    const tasks = new BackgroundTasks({ signal: controller.signal });

    await expect(tasks.run(async (signal) => signal)).resolves.toBe(controller.signal);
  });

  it("validates its options and jobs", ({ expect }) => {
    expect(() => new BackgroundTasks({ onError: "log" as unknown as () => void })).toThrow(/`onError`/);
    expect(() => new BackgroundTasks({ waitUntil: 1 as unknown as () => void })).toThrow(/`waitUntil`/);
    expect(() => new BackgroundTasks({ signal: {} as AbortSignal })).toThrow(/`signal`/);
    expect(() => new BackgroundTasks().run(null as unknown as Job<unknown>)).toThrow(/`job`/);
  });
});
