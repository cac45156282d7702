import { describe, it } from "vitest";
import {
  ConcurrentExecutionError,
  concurrent,
  gather,
  withSlots,
  type LazyJob,
  type SlotAcquirer,
} from "../../src/async";
import { collect, collectUntilError, deferred, MemorySlots, Probe, settle } from "./helpers";

const NEVER = new Promise<never>(() => undefined);

/** A job that also checks it runs while holding at least one slot. */
function holdingJob(probe: Probe, slots: MemorySlots, index: number, ticks: number): LazyJob<number> {
  const job = probe.job(index, { ticks });
  return async (signal) => {
    if (slots.held < 1 || slots.leases.filter((lease) => !lease.released).length < probe.running + 1) {
      throw new Error(`job ${index} started without holding a slot`);
    }
    return job(signal);
  };
}

describe("concurrent with distributed slots", () => {
  it("never lets more jobs hold slots than the slot service allows", async ({ expect }) => {
    const slots = new MemorySlots(3);
    const probe = new Probe();
    const jobs = Array.from({ length: 20 }, (_, index) => holdingJob(probe, slots, index, index % 3));

    const results = await collect(concurrent(jobs, { limit: 8, slots: { client: slots, names: "fan-out" } }));

    expect(results.toSorted((a, b) => a - b)).toEqual(jobs.map((_, index) => index));
    expect(slots.maxHeld).toBe(3);
    expect(probe.maxRunning).toBeLessThanOrEqual(3);
    expect(slots.held).toBe(0);
    expect(slots.leases).toHaveLength(20);
    expect(slots.leases.every((lease) => lease.released)).toBe(true);
  });

  it("is bounded by the local limit when it is smaller than the slot capacity", async ({ expect }) => {
    const slots = new MemorySlots(5);
    const probe = new Probe();
    const jobs = Array.from({ length: 10 }, (_, index) => probe.job(index, { ticks: 2 }));

    await collect(concurrent(jobs, { limit: 2, slots: { client: slots, names: "x" } }));

    expect(slots.maxHeld).toBe(2);
    expect(probe.maxRunning).toBe(2);
  });

  it("passes every name and `occupy` to the client", async ({ expect }) => {
    const slots = new MemorySlots(4);
    const probe = new Probe();
    const names = ["a", "b"] as const;
    const jobs = Array.from({ length: 6 }, (_, index) => probe.job(index));

    await collect(concurrent(jobs, { limit: 6, slots: { client: slots, names, occupy: 2 } }));

    expect(slots.leases.map((lease) => [lease.names, lease.occupy])).toEqual(
      Array.from({ length: 6 }, () => [["a", "b"], 2]),
    );
    expect(probe.maxRunning).toBe(2);
  });

  it("releases the slots of a failed job", async ({ expect }) => {
    const slots = new MemorySlots(2);
    const boom = new Error("boom");
    const jobs: LazyJob<number>[] = [async () => 1, () => Promise.reject(boom)];

    const results = await collect(concurrent(jobs, { yieldExceptions: true, slots: { client: slots, names: "x" } }));

    expect(results).toContain(1);
    expect((results.find((result) => result instanceof ConcurrentExecutionError) as Error).cause).toBe(boom);
    expect(slots.held).toBe(0);
  });

  it("releases held slots and abandons waiting acquires when the consumer breaks", async ({ expect }) => {
    const slots = new MemorySlots(2);
    const probe = new Probe();
    const jobs = [
      probe.job(0, { gate: Promise.resolve() }),
      ...Array.from({ length: 5 }, (_, index) => probe.job(index + 1, { gate: NEVER })),
    ];

    for await (const _value of concurrent(jobs, { limit: 4, slots: { client: slots, names: "x" } })) {
      break;
    }
    // Checked right after the loop: leaving it waits for the releases.
    expect(slots.held).toBe(0);
    expect(slots.leases.every((lease) => lease.released)).toBe(true);
    expect(probe.running).toBe(0);
    const granted = slots.leases.length;
    await settle();
    expect(slots.leases).toHaveLength(granted);
  });

  it("aborts a job whose lease is lost", async ({ expect }) => {
    const slots = new MemorySlots(2);
    const probe = new Probe();
    const lost = new Error("lease expired");
    const outcome = collect(
      concurrent([probe.job(0, { gate: NEVER }), probe.job(1)], {
        yieldExceptions: true,
        slots: { client: slots, names: "x" },
      }),
    );

    await settle();
    slots.lose(0, lost);
    const results = await outcome;

    expect(probe.signals[0]?.reason).toBe(lost);
    expect(results).toContain(1);
    expect((results.find((result) => result instanceof ConcurrentExecutionError) as Error).cause).toBe(lost);
    expect(slots.held).toBe(0);
  });

  it("reports a failed acquire as a failed job without starting it", async ({ expect }) => {
    const slots = new MemorySlots(1);
    const probe = new Probe();
    const refused = new Error("service unavailable");
    slots.failNextAcquire = refused;

    const { error } = await collectUntilError(concurrent([probe.job(0)], { slots: { client: slots, names: "x" } }));

    expect(error).toBeInstanceOf(ConcurrentExecutionError);
    expect((error as Error).cause).toBe(refused);
    expect(probe.started).toBe(0);
  });

  it("reports a failed release as a failure of the job that held the slots", async ({ expect }) => {
    const slots = new MemorySlots(1);
    const broken = new Error("release failed");
    slots.failNextRelease = broken;

    const { error } = await collectUntilError(concurrent([async () => 1], { slots: { client: slots, names: "x" } }));

    expect((error as Error).cause).toBe(broken);
    expect(slots.held).toBe(0);
  });

  it("does not take slots for already-running promises", async ({ expect }) => {
    const slots = new MemorySlots(1);

    const results = await collect(concurrent([Promise.resolve(7)], { slots: { client: slots, names: "x" } }));

    expect(results).toEqual([7]);
    expect(slots.leases).toHaveLength(0);
  });

  it("validates the slot options when `concurrent` is called", ({ expect }) => {
    const client = new MemorySlots(1);
    expect(() => concurrent([], { slots: { client: {} as SlotAcquirer, names: "x" } })).toThrow(/`slots.client`/);
    expect(() => concurrent([], { slots: { client, names: [] } })).toThrow(/`slots.names`/);
    expect(() => concurrent([], { slots: { client, names: "" } })).toThrow(TypeError);
    expect(() => concurrent([], { slots: { client, names: "x", occupy: 0 } })).toThrow(RangeError);
  });
});

describe("withSlots", () => {
  it("holds slots around a job used outside `concurrent`", async ({ expect }) => {
    const slots = new MemorySlots(1);
    const gate = deferred();
    const probe = new Probe();
    const options = { client: slots, names: "x" };

    const all = gather([
      withSlots(probe.job(0, { gate: gate.promise }), options),
      withSlots(probe.job(1, { gate: gate.promise }), options),
    ]);
    await settle();
    expect(probe.running).toBe(1);
    gate.resolve();

    await expect(all).resolves.toEqual([0, 1]);
    expect(slots.maxHeld).toBe(1);
  });

  it("gives back slots granted after the caller aborted, without running the job", async ({ expect }) => {
    const probe = new Probe();
    const controller = new AbortController();
    const release = deferred<void>();
    let released = false;
    const lateClient: SlotAcquirer = {
      acquire: async () => {
        // Grants without honouring the signal, after the caller has given up.
        controller.abort(new Error("gave up"));
        await release.promise;
        return {
          signal: new AbortController().signal,
          release: async () => {
            released = true;
          },
        };
      },
    };

    const running = withSlots(probe.job(0), { client: lateClient, names: "x" })(controller.signal);
    release.resolve();

    await expect(running).rejects.toThrow("gave up");
    expect(released).toBe(true);
    expect(probe.started).toBe(0);
  });
});
