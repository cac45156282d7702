// Issue 13, over HTTP: a place in line lasts as long as its request keeps coming back with its
// request_id — across long-polls and across an evicted limit object — and a request that stops
// coming back loses it after the grace, without holding a slot it will not use beyond that.

import { env, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, it } from "vitest";
import { api, controlClock, createLimit, eventually, takeLease, uniqueName } from "../helpers/api";

const GRACE_MS = 10_000;
const OFFER_MS = 5_000;

interface Waiters {
  waiters: {
    position: number;
    slots: number;
    mode: string;
    holder: { type: string; id: string } | null;
    waiting_since: string;
  }[];
  waiting: number;
}

async function line(name: string): Promise<Waiters> {
  return (await api("GET", `/${name}/leases`)).body;
}

/** One long-poll of request `requestId`. */
function poll(name: string, requestId: string, waitSeconds: number, holder?: { type: string; id: string }) {
  return takeLease([name], 1, { request_id: requestId, wait_seconds: waitSeconds, ...(holder ? { holder } : {}) });
}

/**
 * A long-poll of a request with a request_id whose turn came: 423 "come back now", then the same
 * request again takes the slots (the confirmation a dead client never sends).
 */
async function confirmTurn(name: string, requestId: string, answer: Promise<{ status: number; headers: Headers }>) {
  const first = await answer;
  if (first.status !== 423 || Number(first.headers.get("retry-after")) > 0.001) {
    throw new Error(`expected "come back now", got ${first.status} Retry-After ${first.headers.get("retry-after")}`);
  }
  return poll(name, requestId, 30);
}

/** Two limits of 1, `a` before `b`, and a multi-name request over both with request id `requestId`. */
async function twoLimits(requestId: string) {
  const [a, b] = [uniqueName("a"), uniqueName("b")].sort() as [string, string];
  await createLimit(a, 1);
  await createLimit(b, 1);
  const multi = (waitSeconds: number) =>
    api("POST", "/increment-with-lease", { names: [a, b], slots: 1, request_id: requestId, wait_seconds: waitSeconds });
  return { a, b, multi };
}

describe("a place in line that lasts", () => {
  it("keeps a waiter's place through three long-poll cycles, ahead of a later arrival", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const holder = await takeLease([name]);
    expect((await poll(name, "early", 0.1)).status).toBe(423);
    const later = poll(name, "late", 30);
    await eventually(async () => (await line(name)).waiting === 2);
    for (let cycle = 0; cycle < 3; cycle += 1) {
      expect((await poll(name, "early", 0.1)).status).toBe(423);
      expect((await line(name)).waiting).toBe(2);
    }
    const early = poll(name, "early", 30);
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    const granted = await confirmTurn(name, "early", early);
    expect(granted.status).toBe(200);
    expect((await line(name)).waiting).toBe(1);
    await api("POST", "/decrement-with-lease", { lease_id: granted.body.lease_id });
    expect((await confirmTurn(name, "late", later)).status).toBe(200);
  });

  it("lists who waits, head first", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 2);
    const holder = await takeLease([name], 2);
    const first = poll(name, "first", 30, { type: "job", id: "nightly" });
    await eventually(async () => (await line(name)).waiting === 1);
    const second = api("POST", "/increment", { names: [name], slots: 2, wait_seconds: 30 });
    await eventually(async () => (await line(name)).waiting === 2);
    const { waiters } = await line(name);
    expect(waiters.map(({ position, slots, mode, holder: who }) => ({ position, slots, mode, who }))).toEqual([
      { position: 1, slots: 1, mode: "concurrency", who: { type: "job", id: "nightly" } },
      { position: 2, slots: 2, mode: "concurrency", who: null },
    ]);
    expect(Date.parse(waiters[0]?.waiting_since ?? "")).toBeLessThanOrEqual(
      Date.parse(waiters[1]?.waiting_since ?? ""),
    );
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    const got = await confirmTurn(name, "first", first);
    await api("POST", "/decrement-with-lease", { lease_id: got.body.lease_id });
    expect((await second).status).toBe(200);
  });

  it("drops a waiter that stops coming back: its offer goes to the next after the grace", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const clock = await controlClock(name);
    const holder = await takeLease([name]);
    expect((await poll(name, "gone", 0.05)).status).toBe(423);
    const next = poll(name, "next", 30);
    await eventually(async () => (await line(name)).waiting === 2);
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    // The slot is offered to the head, which is away; nobody else may take it meanwhile.
    expect((await takeLease([name])).status).toBe(423);
    await clock.advance(GRACE_MS + 1);
    await runDurableObjectAlarm(env.LIMITS.getByName(name));
    const served = await confirmTurn(name, "next", next);
    expect(served.status).toBe(200);
    // Coming back after the grace is too late: the request id is spent.
    expect((await poll(name, "gone", 0)).body.code).toBe("request_id_in_use");
  });

  it("keeps the line, in order, through an evicted limit object", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const holder = await takeLease([name]);
    for (const id of ["one", "two", "three"]) {
      expect((await poll(name, id, 0.05)).status).toBe(423);
    }
    await evictDurableObject(env.LIMITS.getByName(name));
    expect((await line(name)).waiting).toBe(3);
    // They come back (in another order) and are served in the order they first arrived.
    const ids = ["three", "one", "two"];
    const answers = ids.map((id) =>
      poll(name, id, 30).then((answer) => confirmTurn(name, id, Promise.resolve(answer))),
    );
    await eventually(async () => (await line(name)).waiting === 3);
    const served: string[] = [];
    let lease = holder.body.lease_id as string;
    for (let round = 0; round < 3; round += 1) {
      await api("POST", "/decrement-with-lease", { lease_id: lease });
      const index = await Promise.race(answers.map((answer, i) => answer.then(() => i)));
      const answer = await answers[index];
      served.push(ids[index] ?? "?");
      answers[index] = new Promise(() => undefined);
      lease = answer?.body.lease_id;
    }
    expect(served).toEqual(["one", "two", "three"]);
  });

  it("gives a dead long-poller's turn to the next after OFFER_MS, not after its lease", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const clock = await controlClock(name);
    const holder = await takeLease([name]);
    // "dead" waits, and its client dies without the Worker learning it (as under wrangler dev).
    const dead = poll(name, "dead", 30);
    const next = poll(name, "next", 30);
    await eventually(async () => (await line(name)).waiting === 2);
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    expect((await dead).status).toBe(423);
    await clock.advance(OFFER_MS + 1);
    await runDurableObjectAlarm(env.LIMITS.getByName(name));
    const served = await confirmTurn(name, "next", next);
    expect(served.status).toBe(200);
    expect((await api("GET", `/${name}`)).body.active_slots).toBe(1);
  });

  it("keeps a multi-name request's place on the name it waits on across polls, holding nothing between them", async ({
    expect,
  }) => {
    const { a, b, multi } = await twoLimits("multi");
    const holder = await takeLease([b]);
    expect((await multi(0.05)).status).toBe(423);
    const later = takeLease([b], 1, { request_id: "later", wait_seconds: 30, holder: { type: "job", id: "later" } });
    await eventually(async () => (await line(b)).waiting === 2);
    for (let cycle = 0; cycle < 3; cycle += 1) {
      expect((await multi(0.05)).status).toBe(423);
      // Between polls it holds nothing on the name it had reserved, and is still first at b.
      expect((await api("GET", `/${a}`)).body.active_slots).toBe(0);
      expect((await line(b)).waiters.map((waiter) => waiter.holder?.id ?? "multi")).toEqual(["multi", "later"]);
    }
    const waiting = multi(30);
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    const granted = await waiting;
    expect(granted.status).toBe(200);
    expect(granted.body.limits.map((limit: { name: string }) => limit.name)).toEqual([a, b]);
    expect((await line(b)).waiting).toBe(1);
    await api("POST", "/decrement-with-lease", { lease_id: granted.body.lease_id });
    expect((await confirmTurn(b, "later", later)).status).toBe(200);
  });

  it("offers a multi-name request its turn while it is away, and hands it over when it comes back", async ({
    expect,
  }) => {
    const { a, b, multi } = await twoLimits("away");
    const holder = await takeLease([b]);
    expect((await multi(0.05)).status).toBe(423);
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    // Its turn at b came while it was away: nobody else may take b meanwhile.
    expect((await takeLease([b])).status).toBe(423);
    const back = await multi(5);
    expect(back.status).toBe(200);
    expect((await api("GET", `/${a}`)).body.active_slots).toBe(1);
    expect((await api("GET", `/${b}`)).body.active_slots).toBe(1);
    expect((await api("POST", "/decrement-with-lease", { lease_id: back.body.lease_id })).status).toBe(204);
    expect((await api("GET", `/${b}`)).body.active_slots).toBe(0);
  });

  it("keeps a multi-name request's later place while it waits on an earlier name for longer than the grace", async ({
    expect,
  }) => {
    const { a, b, multi } = await twoLimits("long");
    const clockB = await controlClock(b);
    const holdB = await takeLease([b], 1, { lease_duration: 3600 });
    expect((await multi(0.05)).status).toBe(423);
    const later = takeLease([b], 1, { request_id: "behind", wait_seconds: 30, holder: { type: "job", id: "behind" } });
    await eventually(async () => (await line(b)).waiting === 2);
    // Someone takes a meanwhile: the request now waits at a, away from its place at b.
    const holdA = await takeLease([a]);
    const waiting = multi(30);
    await eventually(async () => (await line(a)).waiting === 1);
    await clockB.advance(GRACE_MS + 5_000);
    await runDurableObjectAlarm(env.LIMITS.getByName(b));
    expect((await line(b)).waiters.map((waiter) => waiter.holder?.id ?? "long")).toEqual(["long", "behind"]);
    await api("POST", "/decrement-with-lease", { lease_id: holdA.body.lease_id });
    await eventually(async () => (await line(a)).waiting === 0);
    await api("POST", "/decrement-with-lease", { lease_id: holdB.body.lease_id });
    expect((await waiting).status).toBe(200);
    void later;
  });
});
