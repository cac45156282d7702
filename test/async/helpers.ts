// Test helpers for `src/async`: deferred gates, an instrumented job factory that counts jobs in
// flight, and `MemorySlots`, an in-memory SlotAcquirer that is an honest semaphore.
// Used only by test/async; never imported by src.

import type { LazyJob, SlotAcquirer, SlotLease } from "../../src/async";

export { type Deferred, deferred } from "../helpers/deferred";

/** Lets every pending callback and timer of delay 0 run. For settling only, never for timing. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Lets `count` rounds of timers run; a job "length" that does not depend on the clock. */
export async function macrotasks(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    await settle();
  }
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of iterable) {
    values.push(value);
  }
  return values;
}

/** Iterates until the iterator throws, and returns what came before plus the error. */
export async function collectUntilError<T>(iterable: AsyncIterable<T>): Promise<{ values: T[]; error: unknown }> {
  const values: T[] = [];
  try {
    for await (const value of iterable) {
      values.push(value);
    }
  } catch (error) {
    return { values, error };
  }
  throw new Error(`Expected the iteration to throw; it yielded ${values.length} values`);
}

interface ProbeJobOptions {
  /** The job finishes when this settles (and fails if it rejects). Default: `ticks` macrotasks. */
  readonly gate?: Promise<unknown>;
  /** Without a gate: how many macrotasks the job takes, counted from its start. Default: 1. */
  readonly ticks?: number;
  /** Make the job reject with this after the gate. */
  readonly fail?: unknown;
  /** Ignore the abort signal (a badly behaved job). */
  readonly ignoreAbort?: boolean;
}

/** Makes lazy jobs that record when they start, run and settle, and what signal they got. */
export class Probe {
  running = 0;
  maxRunning = 0;
  started = 0;
  settled = 0;
  readonly signals: AbortSignal[] = [];
  readonly startOrder: string[] = [];

  job<T>(value: T, options: ProbeJobOptions = {}): LazyJob<T> {
    return async (signal) => {
      this.started += 1;
      this.running += 1;
      this.maxRunning = Math.max(this.maxRunning, this.running);
      this.signals.push(signal);
      this.startOrder.push(String(value));
      try {
        await this.#wait(
          options.gate ?? macrotasks(options.ticks ?? 1),
          options.ignoreAbort === true ? undefined : signal,
        );
        if (options.fail !== undefined) {
          throw options.fail;
        }
        return value;
      } finally {
        this.running -= 1;
        this.settled += 1;
      }
    };
  }

  #wait(gate: Promise<unknown>, signal: AbortSignal | undefined): Promise<unknown> {
    if (signal === undefined) {
      return gate;
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      gate.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }
}

interface MemoryLease {
  readonly names: string | string[];
  readonly occupy: number;
  readonly controller: AbortController;
  released: boolean;
}

/**
 * An in-memory slot service with `capacity` slots shared by all names: acquire waits until
 * there is room and honours its signal; release frees the slots and wakes waiters.
 * It throws if it ever finds more holders than capacity or a lease released twice.
 */
export class MemorySlots implements SlotAcquirer {
  readonly capacity: number;
  held = 0;
  maxHeld = 0;
  readonly leases: MemoryLease[] = [];
  /** Makes the next acquire() reject with this. */
  failNextAcquire: unknown = undefined;
  /** Makes the next release() reject with this (the slots are still freed). */
  failNextRelease: unknown = undefined;
  readonly #waiters: (() => void)[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  async acquire(names: string | string[], options: { occupy?: number; signal?: AbortSignal } = {}): Promise<SlotLease> {
    const { occupy = 1, signal } = options;
    signal?.throwIfAborted();
    if (this.failNextAcquire !== undefined) {
      const error = this.failNextAcquire;
      this.failNextAcquire = undefined;
      throw error;
    }
    while (this.held + occupy > this.capacity) {
      await this.#waitForRoom(signal);
    }
    this.held += occupy;
    if (this.held > this.capacity) {
      throw new Error(`MemorySlots broken: ${this.held} held, capacity ${this.capacity}`);
    }
    this.maxHeld = Math.max(this.maxHeld, this.held);
    const lease: MemoryLease = { names, occupy, controller: new AbortController(), released: false };
    this.leases.push(lease);
    return {
      signal: lease.controller.signal,
      release: async () => {
        if (lease.released) {
          throw new Error("MemorySlots: lease released twice");
        }
        lease.released = true;
        this.held -= occupy;
        // Wake every waiter; each re-checks for room, so a larger `occupy` cannot be skipped over.
        for (const wake of this.#waiters.splice(0)) {
          wake();
        }
        if (this.failNextRelease !== undefined) {
          const error = this.failNextRelease;
          this.failNextRelease = undefined;
          throw error;
        }
      },
    };
  }

  /** Simulates the server taking a lease back (e.g. it expired). */
  lose(index: number, reason: unknown = new Error("lease lost")): void {
    this.leases[index]?.controller.abort(reason);
  }

  #waitForRoom(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(wake);
        if (index >= 0) {
          this.#waiters.splice(index, 1);
        }
        reject(signal?.reason);
      };
      this.#waiters.push(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
