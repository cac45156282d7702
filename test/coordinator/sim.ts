// A deterministic world for the coordinator: virtual time, a seeded scheduler, and limit objects
// that are the real `LimitEngine` behind ports whose calls arrive late, out of order across ports
// (never within one, like a Durable Object stub), and sometimes throw — before the call is
// delivered, after it took effect with its answer lost, or while it is still on its way to land later. Used by simulation.test.ts.

import type { Coordination, LimitPort } from "../../src/coordinator/acquire";
import { heldSlots } from "../../src/core/decay";
import { LimitEngine } from "../../src/core/engine";
import { createState } from "../../src/core/state";
import { expire } from "../../src/core/tickets";

/** mulberry32: a small seeded PRNG with a good spread, so a seed replays exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

export class Scheduler {
  now = Date.UTC(2026, 0, 1);
  readonly random: () => number;
  #seq = 0;
  #events: Event[] = [];
  steps = 0;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  schedule(delayMs: number, run: () => void): Event {
    const event = { at: this.now + Math.max(0, delayMs), seq: this.#seq++, run };
    this.#events.push(event);
    return event;
  }

  cancel(event: Event): void {
    const index = this.#events.indexOf(event);
    if (index >= 0) {
      this.#events.splice(index, 1);
    }
  }

  get pending(): number {
    return this.#events.length;
  }

  /** Runs the next event and every promise reaction it causes. False when nothing is left. */
  async step(): Promise<boolean> {
    if (this.#events.length === 0) {
      return false;
    }
    let next = 0;
    for (let i = 1; i < this.#events.length; i += 1) {
      const a = this.#events[i] as Event;
      const b = this.#events[next] as Event;
      if (a.at < b.at || (a.at === b.at && a.seq < b.seq)) {
        next = i;
      }
    }
    const [event] = this.#events.splice(next, 1) as [Event];
    this.now = Math.max(this.now, event.at);
    this.steps += 1;
    event.run();
    await settle();
    return true;
  }

  /** Lets promise reactions run (they are not events: they take no virtual time). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(ms, resolve));
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }
}

/** Drains the microtask queue. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface FaultPlan {
  /** Chance that one call throws. */
  rate: number;
}

/** One limit object: the real engine with a virtual clock. */
export class SimLimit {
  readonly engine: LimitEngine;

  constructor(readonly sim: Scheduler) {
    this.engine = new LimitEngine(
      createState(),
      {
        now: () => sim.now,
        random: () => sim.random(),
        setTimer: (callback, ms) => sim.schedule(ms, callback),
        clearTimer: (handle) => sim.cancel(handle as Event),
        save: async () => undefined,
      },
      50,
    );
  }

  /** Held slots now, after what is due has expired (the pure read needs that first). */
  held(): number {
    expire(this.engine.state, this.sim.now);
    return heldSlots(this.engine.state, this.sim.now);
  }
}

/**
 * Sends `call` to a limit after a random delay, and its answer back after another; FIFO per
 * `lane` (a stub). With the fault plan, the call throws instead: not delivered, or delivered with
 * its answer lost. `onFault` learns of every injected fault.
 */
export function deliver<T>(
  sim: Scheduler,
  lane: { lastAt: number },
  faults: FaultPlan,
  onFault: () => void,
  call: () => Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const roll = sim.random();
    const third = faults.rate / 3;
    const fault = roll < third ? "before" : roll < 2 * third ? "after" : roll < faults.rate ? "late" : null;
    if (fault === "late") {
      // The caller gives up (a timeout) while the call is still on its way: it lands much later,
      // after whatever the caller sent next, on this stub or another.
      onFault();
      sim.schedule(sim.int(0, 3), () => reject(new Error("injected fault: no answer in time")));
      sim.schedule(sim.int(20, 400), () => void call().catch(() => undefined));
      return;
    }
    const at = Math.max(sim.now + sim.int(0, 6), lane.lastAt);
    lane.lastAt = at;
    sim.schedule(at - sim.now, () => {
      if (fault === "before") {
        onFault();
        sim.schedule(sim.int(0, 3), () => reject(new Error("injected fault: the call never arrived")));
        return;
      }
      call().then(
        (value) =>
          sim.schedule(sim.int(0, 6), () => {
            if (fault === "after") {
              onFault();
              reject(new Error("injected fault: the answer was lost"));
            } else {
              resolve(value);
            }
          }),
        (error: unknown) => sim.schedule(sim.int(0, 3), () => reject(error)),
      );
    });
  });
}

/** The coordinator's world for one request: its ports, its ticket id, its deferred clean-up. */
export function requestCoordination(
  sim: Scheduler,
  limits: Map<string, SimLimit>,
  ticket: string,
  faults: FaultPlan,
  deferred: Promise<unknown>[],
  onFault: () => void,
): Coordination {
  return {
    limit(name: string): LimitPort {
      const lane = { lastAt: 0 };
      const engine = () => (limits.get(name) as SimLimit).engine;
      const send = <T>(call: () => Promise<T>) => deliver(sim, lane, faults, onFault, call);
      return {
        acquire: (call) => send(() => engine().acquire(call)),
        check: (call) => send(() => engine().check(call)),
        reserve: (call) => send(() => engine().reserve(call)),
        commit: (id, grantTo) => send(() => engine().commit(id, grantTo)),
        withdraw: (id) => send(() => engine().withdraw(id)),
        leave: (id) => send(() => engine().leave(id)),
      };
    },
    now: () => sim.now,
    newId: () => ticket,
    defer: (task) => {
      deferred.push(task.catch(() => undefined));
    },
    sleep: (ms) => sim.sleep(ms),
  };
}
