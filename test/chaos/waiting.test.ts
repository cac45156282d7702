/**
 * Chaos for the line (issue 13): clients wait on a held limit while the Worker is SIGKILLed and
 * restarted on the same state. Their `acquire()` calls ride out the outage within their timeouts,
 * keep their places (the line is stored in the limit object's SQLite), and are served in the
 * order they first arrived: on long-polls (the first 2 s of a wait) and on sockets (after that),
 * whose reconnects come back to their places. Loopback only; bounded.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { createClient } from "../../src/client";
import { sleep } from "../helpers/common";
import { freePort, spawnWorker, type WorkerProcess } from "../helpers/worker-process";

const state = mkdtempSync(join(tmpdir(), "gcl-line-"));
let worker: WorkerProcess | undefined;
afterAll(async () => {
  await worker?.stop();
  rmSync(state, { recursive: true, force: true });
});

describe("waiters across a Worker restart", () => {
  it.for([
    ["long-polls", "line-polls", 0],
    ["sockets", "line-sockets", 2_500],
  ] as const)(
    "waiting on %s, ride out a SIGKILL and restart within their timeouts and are served in arrival order",
    async ([, line, settleMs], { expect }) => {
      const port = await freePort();
      await worker?.stop();
      worker = await spawnWorker({ port, persistTo: state });
      const quiet = { warn: () => undefined, error: () => undefined };
      const gcl = createClient({ url: worker.url, logger: quiet });
      await gcl.limits.create({ name: line, limit: 1 });
      const holder = await gcl.acquire(line, { leaseDuration: 120 });

      const served: string[] = [];
      const waiter = async (id: string) => {
        const slot = await gcl.acquire(line, { timeoutSeconds: 90, leaseDuration: 30, holder: { type: "waiter", id } });
        served.push(id);
        await sleep(50);
        await slot.release();
      };
      const waiting: Promise<void>[] = [];
      for (const id of ["first", "second", "third"]) {
        waiting.push(waiter(id));
        const position = waiting.length;
        for (;;) {
          const listed = await gcl.limits.leases(line);
          if (listed.waiting === position) {
            break;
          }
          await sleep(50);
        }
      }

      await sleep(settleMs);
      await worker.kill();
      await sleep(1_000);
      worker = await spawnWorker({ port, persistTo: state });
      // The holder's lease and the line are still there; the waiters come back to their places.
      const after = await gcl.limits.leases(line);
      expect(after.leases.map((lease) => lease.lease_id)).toContain(holder.leaseId);
      expect(after.waiting).toBe(3);

      await holder.release();
      await Promise.all(waiting);
      expect(served).toEqual(["first", "second", "third"]);
      expect((await gcl.limits.get(line)).active_slots).toBe(0);
    },
  );
});
