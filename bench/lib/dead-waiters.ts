/**
 * What a dead or absent waiter at the head of a line costs the waiter behind it (issue 13): the
 * time from a release to the next waiter's grant when the head is away between two calls (it
 * keeps its place for the grace, and the slot is offered to it), when its socket went silent (the
 * offer is never confirmed), and when its socket closed (it left the line at once). Each run is
 * one limit of 1, a holder, the head in one of those states, and a live long-poll behind it.
 */

import type { EdgeApi } from "./edge.ts";
import { post } from "./http.ts";

const API = "/api/v2/concurrency_limits";

export interface DeadWaiterCost {
  /** Seconds from the release to the next grant, per state of the head. */
  away_between_calls_s: number;
  silent_socket_s: number;
  closed_socket_s: number;
}

/** A socket that queues a request on `name` and then does nothing more (or is closed). */
async function queuedSocket(api: EdgeApi, name: string): Promise<WebSocket> {
  const socket = new WebSocket(`${api.url(`${API}/${name}/wait`).replace(/^http/, "ws")}`, ["edge-gcl.v1"]);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => {
      socket.send(
        JSON.stringify({ op: "acquire", kind: "lease", request: { slots: 1, request_id: crypto.randomUUID() } }),
      );
    });
    socket.addEventListener("message", (event) => {
      if (String(event.data).includes('"queued"')) {
        resolve();
      }
    });
    socket.addEventListener("error", () => reject(new Error("the socket failed")));
  });
  return socket;
}

async function nextGrantAfterRelease(api: EdgeApi, name: string, head: () => Promise<() => void>): Promise<number> {
  await api.createLimit({ name, limit: 1 });
  const holder = await api.acquire(name, 0);
  if (!("leaseId" in holder)) {
    throw new Error("the holder was refused");
  }
  const after = await head();
  const behind = post(api.url(`${API}/increment-with-lease`), {
    names: [name],
    slots: 1,
    lease_duration: 60,
    wait_seconds: 30,
  });
  // The waiter behind joins the line before the release.
  await new Promise((resolve) => setTimeout(resolve, 100));
  after();
  const released = performance.now();
  await api.release(holder.leaseId);
  const answer = await behind;
  if (answer.status !== 200) {
    throw new Error(`the waiter behind was refused: ${answer.status}`);
  }
  return (performance.now() - released) / 1000;
}

export async function deadWaiterCost(api: EdgeApi): Promise<DeadWaiterCost> {
  const run = crypto.randomUUID().slice(0, 8);
  const away_between_calls_s = await nextGrantAfterRelease(api, `bench-away-${run}`, async () => {
    // A long-poll with a request_id whose wait ran out: its place is kept, nobody waits on it.
    await post(api.url(`${API}/increment-with-lease`), {
      names: [`bench-away-${run}`],
      slots: 1,
      request_id: crypto.randomUUID(),
      wait_seconds: 0.01,
    });
    return () => undefined;
  });
  const silent: WebSocket[] = [];
  const silent_socket_s = await nextGrantAfterRelease(api, `bench-silent-${run}`, async () => {
    silent.push(await queuedSocket(api, `bench-silent-${run}`));
    return () => undefined;
  });
  for (const socket of silent) {
    socket.close();
  }
  const closed_socket_s = await nextGrantAfterRelease(api, `bench-closed-${run}`, async () => {
    const socket = await queuedSocket(api, `bench-closed-${run}`);
    return () => socket.close();
  });
  return { away_between_calls_s, silent_socket_s, closed_socket_s };
}
