/**
 * The coordinator's world inside the Worker: limit objects reached through their Durable Object
 * stubs, the Worker's clock, and `ctx.waitUntil` for clean-up that outlives the answer.
 */

import type { Coordination, LimitPort } from "./acquire";

export function workerCoordination(env: Env, waitUntil: (task: Promise<unknown>) => void): Coordination {
  return {
    limit(name: string): LimitPort {
      const stub = env.LIMITS.getByName(name);
      return {
        acquire: (call) => stub.acquire(call),
        check: (call) => stub.check(call),
        reserve: (call) => stub.reserve(call),
        commit: (ticket, grantTo) => stub.commit(ticket, grantTo),
        withdraw: (ticket) => stub.withdraw(ticket),
      };
    },
    now: () => Date.now(),
    newId: () => crypto.randomUUID(),
    defer: (task) => waitUntil(task.catch(() => undefined)),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
