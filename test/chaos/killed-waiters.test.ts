/**
 * Dead waiters (issue 13): a waiting client process is SIGKILLed under `wrangler dev`, which never
 * tells the Worker that an HTTP client went away. Whether it waited on a socket (its close is seen
 * at once) or on a long-poll with a request_id (its turn is an offer it never confirms), the waiter
 * behind it gets the slot within the grace after a release, and the dead one holds nothing.
 * Loopback only; bounded.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, it } from "vitest";
import { createClient } from "../../src/client";
import { API_PREFIX } from "../../src/protocol/constants";
import { eventually, sleep, uniqueName } from "../helpers/common";
import { type WorkerProcess, workerOnState } from "../helpers/worker-process";

/** The grace a dead waiter may cost the line (README, "Waiting in line"). */
const GRACE_SECONDS = 10;

// Its own state directory, removed after the file (wrangler dev persists to one).
const server = workerOnState("gcl-killed-waiters-");
let worker: WorkerProcess;
const children: ChildProcess[] = [];

beforeAll(async () => {
  worker = await server.start();
});
afterAll(() => {
  for (const child of children) {
    child.kill("SIGKILL");
  }
});

/** A separate process that waits on `name` over a socket, as a client would, until it is killed. */
function socketWaiter(name: string): ChildProcess {
  const script = `
    const socket = new WebSocket(process.argv[1], ["edge-gcl.v1"]);
    socket.onopen = () => socket.send(JSON.stringify({ op: "acquire", kind: "lease", request: { slots: 1, request_id: "doomed-socket" } }));
    socket.onmessage = (event) => console.log(event.data);
    setInterval(() => undefined, 1000);`;
  const url = `${worker.url.replace(/^http/, "ws")}${API_PREFIX}/${name}/wait`;
  return spawn(process.execPath, ["-e", script, url], { stdio: ["ignore", "pipe", "inherit"] });
}

/** A separate process that long-polls on `name` with a request_id, until it is killed. */
function pollWaiter(name: string): ChildProcess {
  const body = JSON.stringify({ names: [name], slots: 1, request_id: "doomed-poll", wait_seconds: 60 });
  const script = `
    fetch(process.argv[1], { method: "POST", headers: { "content-type": "application/json" }, body: process.argv[2] })
      .then((answer) => answer.text()).then((text) => console.log(text));
    setInterval(() => undefined, 1000);`;
  return spawn(process.execPath, ["-e", script, `${worker.url}${API_PREFIX}/increment-with-lease`, body], {
    stdio: ["ignore", "pipe", "inherit"],
  });
}

describe("a waiting client killed with SIGKILL", () => {
  it.for([
    ["a socket", socketWaiter],
    ["a long-poll", pollWaiter],
  ] as const)("on %s: the waiter behind it gets the slot within the grace", async ([, start], { expect }) => {
    const quiet = { warn: () => undefined, error: () => undefined };
    const gcl = createClient({ url: worker.url, logger: quiet });
    const name = uniqueName("killed");
    await gcl.limits.create({ name, limit: 1 });
    const holder = await gcl.acquire(name, { leaseDuration: 120 });
    const waitingCount = async () => (await gcl.limits.leases(name)).waiting;
    const until = (check: () => Promise<boolean>) => eventually(check, { timeoutMs: 20_000, intervalMs: 50 });

    const doomed = start(name);
    children.push(doomed);
    await until(async () => (await waitingCount()) === 1);
    const behind = gcl.acquire(name, { leaseDuration: 120, holder: { type: "test", id: "behind" } });
    await until(async () => (await waitingCount()) === 2);

    doomed.kill("SIGKILL");
    await new Promise((resolve) => doomed.once("exit", resolve));
    await holder.release();
    // Served within the grace after the release, however the dead waiter waited.
    const served = await Promise.race([
      behind,
      sleep(GRACE_SECONDS * 1000).then(() => {
        throw new Error(`the waiter behind was not served within ${GRACE_SECONDS} s`);
      }),
    ]);
    const listing = await gcl.limits.leases(name);
    expect(listing.leases.map((lease) => lease.holder)).toEqual([{ type: "test", id: "behind" }]);
    expect(listing.waiting).toBe(0);
    await served.release();
    expect((await gcl.limits.get(name)).active_slots).toBe(0);
  });
});
