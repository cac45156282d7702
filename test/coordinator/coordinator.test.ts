// Issue 12 item 5: a call that throws mid-way — a limit object reset during a deploy, or an
// answer lost — leaves nothing held: the coordinator withdraws the request everywhere it went
// and answers `unavailable` (503), never a 500 with a partial holding (an overloaded object is
// `overloaded`: test/coordinator/overload.test.ts). Each case names the call that throws; the
// engines underneath are real.

import { describe, it } from "vitest";
import { acquireSlots, type Coordination, type LimitPort, type AcquireRequest } from "../../src/coordinator/acquire";
import { GclError } from "../../src/protocol/errors";
import { Scheduler, SimLimit } from "./sim";

type Method = keyof LimitPort;

/** Engines on names a, b, c (limit 2 each) and ports that throw on the calls `failing` names. */
async function world(failing: (method: Method, name: string, call: number) => "before" | "after" | null) {
  const sim = new Scheduler(1);
  const limits = new Map<string, SimLimit>();
  for (const name of ["a", "b", "c"]) {
    const limit = new SimLimit(sim);
    await limit.engine.create({
      id: name,
      name,
      limit: 2,
      active: true,
      slotDecayPerSecond: 0,
      activeSlots: 0,
      deniedSlots: 0,
    });
    limits.set(name, limit);
  }
  const counts = new Map<string, number>();
  const deferred: Promise<unknown>[] = [];
  const co: Coordination = {
    limit(name) {
      const engine = (limits.get(name) as SimLimit).engine;
      const wrap =
        <A extends unknown[], R>(method: Method, call: (...args: A) => Promise<R>) =>
        async (...args: A): Promise<R> => {
          const key = `${method}:${name}`;
          const count = (counts.get(key) ?? 0) + 1;
          counts.set(key, count);
          const fault = failing(method, name, count);
          if (fault === "before") {
            throw new Error(`${key} never arrived`);
          }
          const result = await call(...args);
          if (fault === "after") {
            throw new Error(`${key} took effect, its answer was lost`);
          }
          return result;
        };
      return {
        acquire: wrap("acquire", (call) => engine.acquire(call)),
        check: wrap("check", (call) => engine.check(call)),
        reserve: wrap("reserve", (call) => engine.reserve(call)),
        commit: wrap("commit", (ticket, grantTo) => engine.commit(ticket, grantTo)),
        withdraw: wrap("withdraw", (ticket) => engine.withdraw(ticket)),
        leave: wrap("leave", (ticket) => engine.leave(ticket)),
      };
    },
    now: () => sim.now,
    newId: () => "ticket-1",
    defer: (task) => {
      deferred.push(task);
    },
    sleep: async () => undefined,
  };
  const held = () => [...limits.values()].map((limit) => limit.held());
  return { co, held, deferred, counts };
}

function request(names: string[], kind: "lease" | "increment"): AcquireRequest {
  return { names, slots: 1, mode: "concurrency", kind, leaseMs: 60_000, holder: null, requestId: "r1", waitMs: 0 };
}

const CASES: { method: Method; name: string; fault: "before" | "after" }[] = [
  { method: "acquire", name: "a", fault: "before" },
  { method: "acquire", name: "a", fault: "after" },
  { method: "check", name: "b", fault: "before" },
  { method: "reserve", name: "b", fault: "after" },
  { method: "reserve", name: "c", fault: "before" },
  { method: "commit", name: "a", fault: "after" },
  { method: "commit", name: "c", fault: "after" },
  { method: "commit", name: "b", fault: "before" },
];

describe("a call that throws mid-way", () => {
  for (const kind of ["lease", "increment"] as const) {
    it.for(CASES)(`leaves no ${kind} held when %o throws, and answers unavailable`, async (fault, { expect }) => {
      const names = fault.method === "acquire" ? ["a"] : ["a", "b", "c"];
      const { co, held, deferred } = await world((method, name) =>
        method === fault.method && name === fault.name ? fault.fault : null,
      );
      const answer = await acquireSlots(co, request(names, kind)).catch((error: unknown) => error);
      expect(answer).toBeInstanceOf(GclError);
      expect((answer as GclError).code).toBe("unavailable");
      expect((answer as GclError).status).toBe(503);
      await Promise.all(deferred);
      expect(held()).toEqual([0, 0, 0]);
    });
  }

  it("retries a withdrawal that fails too, until it lands", async ({ expect }) => {
    const { co, held, deferred, counts } = await world((method, name, call) => {
      if (method === "commit" && name === "b") {
        return "after";
      }
      return method === "withdraw" && name === "a" && call <= 2 ? "before" : null;
    });
    await expect(acquireSlots(co, request(["a", "b"], "increment"))).rejects.toThrow(GclError);
    await Promise.all(deferred);
    expect(counts.get("withdraw:a")).toBe(3);
    expect(held()).toEqual([0, 0, 0]);
  });
});
