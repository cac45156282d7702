// Waiting over a hibernatable WebSocket (issue 13): the grant is pushed as an offer that holds once
// confirmed; an offer nobody confirms goes to the next in line; a socket that closes leaves the
// line at once; sockets and long-polls share one line in arrival order; the line and its sockets
// outlive an evicted object; a reconnect with the same request_id keeps its place.

import { env, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import { SOCKET_PROTOCOL, type ServerMessage, socketProtocols } from "../../src/protocol/socket";
import { API, api, controlClock, createLimit, eventually, takeLease, uniqueName, waitingOn } from "../helpers/api";

const OFFER_MS = 5_000;

interface Waiting {
  socket: WebSocket;
  /** The next message the server sends (in order). */
  next(): Promise<ServerMessage>;
  send(message: unknown): void;
  closed: Promise<number>;
}

async function openSocket(name: string, protocols = [SOCKET_PROTOCOL], path = "/wait"): Promise<Waiting> {
  const response = await exports.default.fetch(`${API}/${encodeURIComponent(name)}${path}`, {
    headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": protocols.join(", ") },
  });
  const socket = response.webSocket;
  if (!socket) {
    throw new Error(`no socket: ${response.status} ${await response.text()}`);
  }
  socket.accept();
  const inbox: ServerMessage[] = [];
  const readers: ((message: ServerMessage) => void)[] = [];
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data as string) as ServerMessage;
    const reader = readers.shift();
    reader ? reader(message) : inbox.push(message);
  });
  const closed = new Promise<number>((resolve) => socket.addEventListener("close", (event) => resolve(event.code)));
  return {
    socket,
    next: () => {
      const queued = inbox.shift();
      return queued ? Promise.resolve(queued) : new Promise((resolve) => readers.push(resolve));
    },
    send: (message) => socket.send(JSON.stringify(message)),
    closed,
  };
}

function acquire(waiting: Waiting, requestId: string, extra: Record<string, unknown> = {}): void {
  waiting.send({ op: "acquire", kind: "lease", request: { slots: 1, request_id: requestId, ...extra } });
}

async function activeSlots(name: string): Promise<number> {
  return (await api("GET", `/${name}`)).body.active_slots;
}

describe("waiting over a WebSocket", () => {
  it("grants at once when there is room, with the same lease an HTTP request gets", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const waiting = await openSocket(name);
    acquire(waiting, "now", { lease_duration: 30, holder: { type: "job", id: "a" } });
    const answer = await waiting.next();
    expect(answer.type).toBe("granted");
    const grant = answer.type === "granted" && !Array.isArray(answer.grant) ? answer.grant : null;
    expect(grant?.limits.map((limit) => limit.name)).toEqual([name]);
    expect(await waiting.closed).toBe(1000);
    expect(await activeSlots(name)).toBe(1);
    expect((await api("POST", "/decrement-with-lease", { lease_id: grant?.lease_id })).status).toBe(204);
    expect(await activeSlots(name)).toBe(0);
  });

  it("waits on the limit its URL names, with a trailing slash too", async ({ expect }) => {
    const name = uniqueName("slash é");
    await createLimit(name, 1);
    const waiting = await openSocket(name, [SOCKET_PROTOCOL], "/wait/");
    acquire(waiting, "slash");
    const answer = await waiting.next();
    expect(answer.type === "granted" && !Array.isArray(answer.grant) && answer.grant.limits[0]?.name).toBe(name);
  });

  it("queues, pushes the turn as an offer, and holds it once confirmed", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const holder = await takeLease([name]);
    const waiting = await openSocket(name);
    acquire(waiting, "queued");
    expect(await waiting.next()).toEqual({ type: "queued", position: 1 });
    expect(await waitingOn(name)).toBe(1);
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    const offer = await waiting.next();
    expect(offer.type).toBe("offer");
    expect(offer.type === "offer" && offer.confirm_within_seconds).toBeGreaterThan(0);
    waiting.send({ op: "confirm" });
    const confirmed = await waiting.next();
    expect(confirmed.type).toBe("confirmed");
    expect(await waiting.closed).toBe(1000);
    // Held after the socket closed: closing gives back only what is not confirmed.
    expect(await activeSlots(name)).toBe(1);
  });

  it("leaves the line at once when its socket closes, and the next waiter is served", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const holder = await takeLease([name]);
    const gone = await openSocket(name);
    acquire(gone, "gone");
    await gone.next();
    const next = takeLease([name], 1, { wait_seconds: 30 });
    await eventually(async () => (await waitingOn(name)) === 2);
    gone.socket.close(1001, "client went away");
    await eventually(async () => (await waitingOn(name)) === 1);
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    expect((await next).status).toBe(200);
  });

  it("gives an unconfirmed offer to the next after OFFER_MS; a late confirm is refused", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const clock = await controlClock(name);
    const holder = await takeLease([name]);
    const silent = await openSocket(name);
    acquire(silent, "silent");
    await silent.next();
    const next = await openSocket(name);
    acquire(next, "next");
    expect(await next.next()).toEqual({ type: "queued", position: 2 });
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    expect((await silent.next()).type).toBe("offer");
    await clock.advance(OFFER_MS + 1);
    await runDurableObjectAlarm(env.LIMITS.getByName(name));
    expect((await next.next()).type).toBe("offer");
    silent.send({ op: "confirm" });
    const late = await silent.next();
    expect(late.type === "refused" && late.error.code).toBe("locked");
    next.send({ op: "confirm" });
    expect((await next.next()).type).toBe("confirmed");
    expect(await activeSlots(name)).toBe(1);
  });

  it("serves sockets and long-polls in one line in arrival order", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    let lease = (await takeLease([name])).body.lease_id as string;
    const served: string[] = [];
    const poll1 = takeLease([name], 1, { wait_seconds: 30 }).then((answer) => {
      served.push("poll1");
      return answer.body.lease_id as string;
    });
    await eventually(async () => (await waitingOn(name)) === 1);
    const socket = await openSocket(name);
    acquire(socket, "socket");
    await socket.next();
    const poll2 = takeLease([name], 1, { wait_seconds: 30 }).then((answer) => {
      served.push("poll2");
      return answer.body.lease_id as string;
    });
    await eventually(async () => (await waitingOn(name)) === 3);
    await api("POST", "/decrement-with-lease", { lease_id: lease });
    lease = await poll1;
    await api("POST", "/decrement-with-lease", { lease_id: lease });
    expect((await socket.next()).type).toBe("offer");
    served.push("socket");
    socket.send({ op: "confirm" });
    const confirmed = await socket.next();
    lease = confirmed.type === "confirmed" && !Array.isArray(confirmed.grant) ? confirmed.grant.lease_id : "";
    await api("POST", "/decrement-with-lease", { lease_id: lease });
    await poll2;
    expect(served).toEqual(["poll1", "socket", "poll2"]);
  });

  it("keeps waiting sockets, in order, through an evicted object, and pushes to them after", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const holder = await takeLease([name]);
    const sockets = [await openSocket(name), await openSocket(name)];
    for (const [index, waiting] of sockets.entries()) {
      acquire(waiting, `s${index}`);
      await waiting.next();
    }
    await evictDurableObject(env.LIMITS.getByName(name));
    // Still attached after waking: no grace runs out on them, however long they wait.
    const clock = await controlClock(name);
    await clock.advance(30_000); // past the grace, within the holder's 60 s lease
    await runDurableObjectAlarm(env.LIMITS.getByName(name));
    expect(await waitingOn(name)).toBe(2);
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    const [first, second] = sockets as [Waiting, Waiting];
    expect((await first.next()).type).toBe("offer");
    first.send({ op: "confirm" });
    expect((await first.next()).type).toBe("confirmed");
    expect(await waitingOn(name)).toBe(1);
    void second;
  });

  it("comes back to its place with the same request_id (a reconnect)", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);
    // A long-poll keeps its place for the grace after its wait; a later request queues behind it.
    expect((await takeLease([name], 1, { request_id: "mine", wait_seconds: 0.05 })).status).toBe(423);
    const later = await openSocket(name);
    acquire(later, "later");
    expect(await later.next()).toEqual({ type: "queued", position: 2 });
    const back = await openSocket(name);
    acquire(back, "mine");
    expect(await back.next()).toEqual({ type: "queued", position: 1 });
  });

  it("refuses bad messages with a reason and takes nothing", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    for (const bad of [
      { op: "acquire", kind: "lease", request: { slots: 0 } },
      { op: "acquire", kind: "lease", request: { slots: 1, names: ["other"] } },
      { op: "acquire", kind: "lock", request: { slots: 1 } },
      { op: "confirm" },
      "not json",
    ]) {
      const waiting = await openSocket(name);
      waiting.socket.send(typeof bad === "string" ? bad : JSON.stringify(bad));
      const answer = await waiting.next();
      expect(answer.type).toBe("refused");
      expect(answer.type === "refused" && [422].includes(answer.status)).toBe(true);
      expect(await waiting.closed).toBe(1000);
    }
    expect(await activeSlots(name)).toBe(0);
    expect(await waitingOn(name)).toBe(0);
  });

  it("answers 426 without an upgrade and 422 for a name no socket can wait on", async ({ expect }) => {
    const plain = await api("GET", `/${uniqueName()}/wait`);
    expect(plain.status).toBe(426);
    expect(plain.body.code).toBe("upgrade_required");
    const uuid = await api("GET", `/${crypto.randomUUID()}/wait`, undefined, { Upgrade: "websocket" });
    expect(uuid.status).toBe(422);
  });

  it("carries the token in a subprotocol (browsers cannot set headers)", async ({ expect }) => {
    const protocols = socketProtocols("tøken with spaces");
    expect(protocols[0]).toBe(SOCKET_PROTOCOL);
    expect(protocols[1]).toMatch(/^edge-gcl\.auth\.[A-Za-z0-9_-]+$/);
    const { socketToken } = await import("../../src/protocol/socket");
    expect(socketToken(protocols.join(", "))).toBe("tøken with spaces");
    expect(socketToken("edge-gcl.v1, edge-gcl.auth.!!")).toBeUndefined();
  });
});

describe("the client over a socket", () => {
  it("waits over the limit's socket after its first long-poll, and leaves the line at once when it times out", async ({
    expect,
  }) => {
    const { testClient } = await import("../helpers/client");
    const { gcl, sent } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);
    await expect(gcl.acquire(name, { timeoutSeconds: 3 })).rejects.toMatchObject({ name: "AcquireTimeoutError" });
    expect(sent.map((request) => request.path)).toEqual(["/increment-with-lease", `/${name}/wait`]);
    await eventually(async () => (await waitingOn(name)) === 0);
  });

  it("serves waiting clients in arrival order, each holding its grant until it releases", { timeout: 15_000 }, async ({
    expect,
  }) => {
    const { testClient } = await import("../helpers/client");
    const { gcl } = testClient();
    const name = uniqueName();
    await createLimit(name, 1);
    const holder = await takeLease([name]);
    const order: number[] = [];
    const runs = [0, 1, 2].map(async (index) => {
      await eventually(async () => (await waitingOn(name)) === index);
      return gcl.concurrency(name, async () => {
        order.push(index);
        expect(await activeSlots(name)).toBe(1);
      });
    });
    await eventually(async () => (await waitingOn(name)) === 3);
    // Past their first long-polls: all three wait on sockets now.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2]);
    expect(await activeSlots(name)).toBe(0);
  });
});
