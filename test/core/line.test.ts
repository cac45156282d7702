// The durable line (DESIGN §7.2) in the engine, on a virtual clock: a single-name request that
// comes back with its request id keeps its place; one that does not loses it after the grace; a
// ticket that reaches the head while nobody waits on it is offered, delivered when its request
// comes back, and given back exactly when it does not; a reload keeps the line in order.

import { describe, it } from "vitest";
import { type AcquireCall, LimitEngine, type SocketWaits } from "../../src/core/engine";
import { GRACE_MS, OFFER_MS } from "../../src/core/queue";
import { createState, type LimitState } from "../../src/core/state";
import { Scheduler, settle } from "../coordinator/sim";

async function engineWith(
  limit: number,
  state: LimitState = createState(),
  sim = new Scheduler(7),
  sockets?: SocketWaits,
) {
  const engine = new LimitEngine(
    state,
    {
      now: () => sim.now,
      random: () => 0.5,
      setTimer: (callback, ms) => sim.schedule(ms, callback),
      clearTimer: (handle) => sim.cancel(handle as ReturnType<Scheduler["schedule"]>),
      save: async () => undefined,
      ...(sockets ? { sockets } : {}),
    },
    100,
  );
  if (engine.state.config === null) {
    await engine.create({
      id: "id",
      name: "db",
      limit,
      active: true,
      slotDecayPerSecond: 0,
      activeSlots: 0,
      deniedSlots: 0,
    });
  }
  return { engine, sim };
}

function call(
  ticket: string,
  requestId: string | null,
  waitMs: number,
  kind: "lease" | "increment" = "lease",
): AcquireCall {
  return {
    ticket,
    requestId,
    kind,
    leaseId: kind === "lease" ? `${ticket}.W10` : null,
    slots: 1,
    mode: "concurrency",
    leaseMs: 60_000,
    holder: null,
    waitMs,
  };
}

/** Runs the scheduler until `ms` of virtual time have passed. */
async function pass(sim: Scheduler, ms: number): Promise<void> {
  const until = sim.now + ms;
  sim.schedule(ms, () => undefined);
  while (sim.now < until && (await sim.step())) {
    // Each step runs one event and its reactions.
  }
  await settle();
}

describe("the durable line", () => {
  it("keeps a request's place across three polls, ahead of a later arrival", async ({ expect }) => {
    const { engine, sim } = await engineWith(1);
    const holder = await engine.acquire(call("holder", null, 0));
    expect(holder.status).toBe("granted");
    let first = engine.acquire(call("poll-1", "early", 100));
    await pass(sim, 150);
    expect((await first).status).toBe("locked");
    const later = engine.acquire(call("later", "late", 10_000));
    for (const poll of ["poll-2", "poll-3", "poll-4"]) {
      first = engine.acquire(call(poll, "early", 100));
      await pass(sim, 50);
      expect(engine.state.queue.map((waiter) => waiter.requestId)).toEqual(["early", "late"]);
      if (poll !== "poll-4") {
        await pass(sim, 100);
        expect((await first).status).toBe("locked");
      }
    }
    await engine.release("holder.W10");
    // Its turn: the waiting call is told to come back at once, and the slot is offered meanwhile.
    expect(await first).toEqual({ status: "locked", retryAfterSeconds: 0 });
    expect(engine.state.queue.map((waiter) => waiter.requestId)).toEqual(["late"]);
    const granted = await engine.acquire(call("poll-5", "early", 100));
    expect(granted.status === "granted" && granted.ticket).toBe("poll-1");
    void later;
  });

  it("drops a place nobody came back for once the grace has passed", async ({ expect }) => {
    const { engine, sim } = await engineWith(1);
    await engine.acquire(call("holder", null, 0));
    const gone = engine.acquire(call("gone", "gone", 100));
    await pass(sim, 150);
    expect((await gone).status).toBe("locked");
    expect(engine.state.queue).toHaveLength(1);
    await pass(sim, GRACE_MS + 10);
    await engine.tick();
    expect(engine.state.queue).toHaveLength(0);
    // Its id is a tombstone now: coming back later is refused, it never jumps in line.
    expect(await engine.acquire(call("again", "gone", 100))).toEqual({ status: "invalid", code: "request_id_in_use" });
  });

  it("offers the slot to a head that is away, delivers it when it comes back, and never twice", async ({ expect }) => {
    const { engine, sim } = await engineWith(1);
    await engine.acquire(call("holder", null, 0));
    const away = engine.acquire(call("away", "away", 100, "increment"));
    await pass(sim, 150);
    expect((await away).status).toBe("locked");
    await engine.release("holder.W10");
    const offer = engine.state.tickets.get("away");
    expect(offer?.offerUntil).not.toBeNull();
    // Nobody else gets the slot while it is offered...
    expect((await engine.acquire(call("other", null, 0))).status).toBe("locked");
    // ...its request comes back for it, on a new call with the same id...
    const back = await engine.acquire(call("back", "away", 100, "increment"));
    expect(back.status === "granted" && back.ticket).toBe("away");
    expect(engine.state.tickets.get("away")?.offerUntil).toBeNull();
    // ...and a third call with that id is another request: refused.
    expect((await engine.acquire(call("third", "away", 100, "increment"))).status).toBe("invalid");
  });

  it("gives an offer back exactly when its request does not come back", async ({ expect }) => {
    const { engine, sim } = await engineWith(1);
    await engine.acquire(call("holder", null, 0));
    const away = engine.acquire(call("away", "away", 100, "increment"));
    await pass(sim, 150);
    await away;
    const next = engine.acquire(call("next", null, 60_000));
    await engine.release("holder.W10");
    expect(engine.state.leasedSlots).toBe(1);
    await pass(sim, GRACE_MS + 10);
    await engine.tick();
    const served = await next;
    expect(served.status).toBe("granted");
    expect(engine.state.tickets.has("away")).toBe(false);
    expect(engine.state.anonymousSlots + engine.state.leasedSlots).toBe(1);
  });

  it("keeps the line in order through a reload, each place that can come back with a fresh grace", async ({
    expect,
  }) => {
    const { engine, sim } = await engineWith(1);
    await engine.acquire(call("holder", null, 0));
    void engine.acquire(call("one", "one", 60_000));
    void engine.acquire(call("anonymous", null, 60_000));
    void engine.acquire(call("two", "two", 60_000));
    await settle();
    expect(engine.state.queue).toHaveLength(3);
    // A new engine over the same rows: what a restarted or evicted object loads.
    const { engine: reloaded } = await engineWith(1, structuredClone(engine.state), sim);
    // A waiter without a request id can never come back for its place: it leaves the line.
    expect(reloaded.state.queue.map((waiter) => waiter.requestId)).toEqual(["one", "two"]);
    expect(reloaded.state.tickets.get("one")?.line?.graceUntil).toBe(sim.now + GRACE_MS);
    const back = reloaded.acquire(call("one-again", "one", 60_000));
    await reloaded.release("holder.W10");
    expect((await back).status).toBe("locked");
    const granted = await reloaded.acquire(call("one-confirms", "one", 60_000));
    expect(granted.status === "granted" && granted.ticket).toBe("one");
  });

  it("gives a turn back after OFFER_MS when the waiting call was a dead client's, and serves the next", async ({
    expect,
  }) => {
    const { engine, sim } = await engineWith(1);
    await engine.acquire(call("holder", null, 0));
    const dead = engine.acquire(call("dead", "dead", 60_000));
    const next = engine.acquire(call("next", "next", 60_000));
    await settle();
    await engine.release("holder.W10");
    expect(await dead).toEqual({ status: "locked", retryAfterSeconds: 0 });
    // The dead client never comes back: nobody holds more than the offer for OFFER_MS.
    await pass(sim, OFFER_MS - 10);
    await engine.tick();
    expect(engine.state.tickets.get("dead")?.offerUntil).not.toBeNull();
    await pass(sim, 20);
    await engine.tick();
    expect(engine.state.tickets.has("dead")).toBe(false);
    expect(await next).toEqual({ status: "locked", retryAfterSeconds: 0 });
    const served = await engine.acquire(call("next-again", "next", 60_000));
    expect(served.status === "granted" && served.ticket).toBe("next");
    expect(engine.state.leasedSlots).toBe(1);
  });

  it("grants a waiting call without a request id directly: it cannot come back", async ({ expect }) => {
    const { engine } = await engineWith(1);
    await engine.acquire(call("holder", null, 0));
    const waiting = engine.acquire(call("anon", null, 60_000));
    await settle();
    await engine.release("holder.W10");
    const granted = await waiting;
    expect(granted.status === "granted" && granted.ticket).toBe("anon");
    expect(engine.state.tickets.get("anon")?.offerUntil).toBeNull();
  });
});

describe("sockets in line", () => {
  /** Sockets as a host keeps them: which tickets have one, and what was pushed to each. */
  function sockets() {
    const open = new Set<string>();
    const pushed: { ticket: string; until: number }[] = [];
    return {
      open,
      pushed,
      has: (ticket: string) => open.has(ticket),
      offer: (ticket: string, _grant: unknown, until: number) => void pushed.push({ ticket, until }),
    };
  }

  async function socketEngine(
    limit: number,
    waits = sockets(),
    state: LimitState = createState(),
    sim = new Scheduler(3),
  ) {
    return { ...(await engineWith(limit, state, sim, waits)), waits };
  }

  it("queues a socket's request, pushes its turn as an offer, and holds it once confirmed", async ({ expect }) => {
    const { engine, waits } = await socketEngine(1);
    expect((await engine.arriveBySocket(call("free", "free", 0))).status).toBe("granted");
    const queued = await engine.arriveBySocket(call("s1", "s1", 0));
    expect(queued).toEqual({ status: "queued", ticket: "s1", position: 1 });
    waits.open.add("s1");
    await engine.release("free.W10");
    expect(waits.pushed.map((push) => push.ticket)).toEqual(["s1"]);
    const confirmed = await engine.confirm("s1");
    expect(confirmed?.status === "granted" && confirmed.ticket).toBe("s1");
    expect(await engine.confirm("s1")).toBeNull();
    // Holding now: its socket closing changes nothing.
    await engine.socketGone("s1");
    expect(engine.state.leasedSlots).toBe(1);
  });

  it("gives back an unconfirmed offer after OFFER_MS and serves the next; a closed socket leaves at once", async ({
    expect,
  }) => {
    const { engine, sim, waits } = await socketEngine(1);
    await engine.acquire(call("holder", null, 0));
    for (const id of ["a", "b", "c"]) {
      await engine.arriveBySocket(call(id, id, 0));
      waits.open.add(id);
    }
    await engine.socketGone("b");
    expect(engine.state.queue.map((waiter) => waiter.id)).toEqual(["a", "c"]);
    await engine.release("holder.W10");
    expect(waits.pushed.map((push) => push.ticket)).toEqual(["a"]);
    await pass(sim, OFFER_MS + 10);
    await engine.tick();
    expect(waits.pushed.map((push) => push.ticket)).toEqual(["a", "c"]);
    expect(await engine.confirm("a")).toBeNull();
    expect((await engine.confirm("c"))?.status).toBe("granted");
  });

  it("serves sockets and long-polls in one line in arrival order", async ({ expect }) => {
    const { engine, waits } = await socketEngine(1);
    await engine.acquire(call("holder", null, 0));
    const order: string[] = [];
    const poll1 = engine.acquire(call("p1", null, 60_000)).then(() => order.push("p1"));
    await engine.arriveBySocket(call("s1", "s1", 0));
    waits.open.add("s1");
    const poll2 = engine.acquire(call("p2", null, 60_000)).then(() => order.push("p2"));
    await settle();
    await engine.release("holder.W10");
    await poll1;
    await engine.release("p1.W10");
    expect(waits.pushed.map((push) => push.ticket)).toEqual(["s1"]);
    order.push("s1");
    await engine.confirm("s1");
    await engine.release("s1.W10");
    await poll2;
    expect(order).toEqual(["p1", "s1", "p2"]);
  });

  it("keeps sockets that waited through hibernation attached, and graces the rest", async ({ expect }) => {
    const { engine, sim, waits } = await socketEngine(1);
    await engine.acquire(call("holder", null, 0));
    await engine.arriveBySocket(call("socket", "socket", 0));
    waits.open.add("socket");
    void engine.acquire(call("poll", "poll", 60_000));
    await settle();
    const { engine: woken } = await socketEngine(1, waits, structuredClone(engine.state), sim);
    expect(woken.state.tickets.get("socket")?.line?.graceUntil).toBeNull();
    expect(woken.state.tickets.get("poll")?.line?.graceUntil).toBe(sim.now + GRACE_MS);
    await pass(sim, GRACE_MS + 10);
    await woken.tick();
    expect(woken.state.queue.map((waiter) => waiter.id)).toEqual(["socket"]);
  });
});
