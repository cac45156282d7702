/**
 * The coordinator's world inside the Worker: limit objects reached through their Durable Object
 * stubs, the Worker's clock, and `ctx.waitUntil` for clean-up that outlives the answer. With the
 * chaos suite's `GCL_FAULT_RATE` var, calls to limit objects throw at random, before or after they
 * take effect, as an overloaded or restarting object's calls can.
 */

import type { Coordination, LimitPort } from "./acquire";

export function workerCoordination(env: Env, waitUntil: (task: Promise<unknown>) => void): Coordination {
  const faultRate = Number(env.GCL_FAULT_RATE ?? 0) || 0;
  return {
    limit(name: string): LimitPort {
      const stub = env.LIMITS.getByName(name);
      const port: LimitPort = {
        acquire: (call) => stub.acquire(call),
        check: (call) => stub.check(call),
        reserve: (call) => stub.reserve(call),
        commit: (ticket, grantTo) => stub.commit(ticket, grantTo),
        withdraw: (ticket) => stub.withdraw(ticket),
        leave: (ticket) => stub.leave(ticket),
      };
      return faultRate > 0 ? withFaults(port, faultRate) : port;
    },
    now: () => Date.now(),
    newId: () => crypto.randomUUID(),
    defer: (task) => waitUntil(task.catch(() => undefined)),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

function withFaults(port: LimitPort, rate: number): LimitPort {
  const faulty =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const roll = Math.random();
      if (roll < rate / 2) {
        throw new Error("injected fault: the call never reached the limit object");
      }
      const result = await call(...args);
      if (roll < rate) {
        throw new Error("injected fault: the limit object's answer was lost");
      }
      return result;
    };
  return {
    acquire: faulty(port.acquire),
    check: faulty(port.check),
    reserve: faulty(port.reserve),
    commit: faulty(port.commit),
    withdraw: faulty(port.withdraw),
    leave: faulty(port.leave),
  };
}
