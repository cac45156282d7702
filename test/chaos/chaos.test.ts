/**
 * Chaos: many clients with random hold times against a real `wrangler dev` process with
 * persistent state; the process is SIGKILLed mid-load and restarted on the same state. Then:
 * no limit was ever over-admitted (an external check over every holder's recorded interval),
 * leases live at the kill are still counted and renewable, leases whose holders died come back
 * within their lease duration, and all slots are free at the end. Loopback only; bounded.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { createClient, LeaseLostError } from "../../src/client";
import { type Interval, maxOverlap, untilFree } from "../helpers/chaos";
import { callApi, sleep } from "../helpers/common";
import { freePort, spawnWorker, workerOnState } from "../helpers/worker-process";

const LIMITS = { "chaos-a": 4, "chaos-b": 3 } as const;
type LimitName = keyof typeof LIMITS;
const NAME_SETS: LimitName[][] = [["chaos-a"], ["chaos-b"], ["chaos-a", "chaos-b"]];
const LOAD_LEASE_SECONDS = 3;
const CLIENTS = 12;

const server = workerOnState("gcl-chaos-");

/** Resolves at epoch time `at`. */
const until = (at: number) => sleep(Math.max(0, at - Date.now()));

describe("a Worker killed mid-load and restarted on the same state", () => {
  it("never over-admits, keeps live leases, reclaims dead ones and ends with every slot free", async ({ expect }) => {
    const worker = await server.start();
    const base = worker.url;
    for (const [name, limit] of Object.entries(LIMITS)) {
      expect((await callApi(base, "POST", "/", { name, limit })).status).toBe(201);
    }

    const intervals: Interval[] = [];
    // Long holders keep their slots across the kill; a crashed holder never comes back.
    const longHolders = await Promise.all(
      (NAME_SETS.slice(0, 2) as LimitName[][]).map(async (names, i) => {
        const grant = await callApi(base, "POST", "/increment-with-lease", {
          names,
          slots: 1,
          lease_duration: 120,
          holder: { type: "long", id: String(i) },
        });
        expect(grant.status).toBe(200);
        return { names, leaseId: grant.body.lease_id as string, start: Date.now() };
      }),
    );
    const crashed = await callApi(base, "POST", "/increment-with-lease", {
      names: ["chaos-b"],
      slots: 1,
      lease_duration: LOAD_LEASE_SECONDS,
      holder: { type: "crashed", id: "0" },
    });
    expect(crashed.status).toBe(200);
    intervals.push({ names: ["chaos-b"], start: Date.now(), end: Date.parse(crashed.body.expires_at) });

    let running = true;
    let grants = 0;
    let refusedWhileDown = 0;
    const client = async (id: number) => {
      while (running) {
        const names = NAME_SETS[Math.floor(Math.random() * NAME_SETS.length)] as LimitName[];
        let grant: { status: number; body: { lease_id: string; expires_at: string } };
        try {
          grant = await callApi(base, "POST", "/increment-with-lease", {
            names,
            slots: 1,
            wait_seconds: 1,
            lease_duration: LOAD_LEASE_SECONDS,
            holder: { type: "load", id: String(id) },
          });
        } catch {
          // The Worker is down: the client gets no slot (fails closed) and tries again.
          refusedWhileDown += 1;
          await sleep(100);
          continue;
        }
        if (grant.status !== 200) {
          expect(grant.status).toBe(423);
          continue;
        }
        grants += 1;
        const start = Date.now();
        await sleep(Math.random() * 200);
        const releaseFrom = Date.now();
        // Release until it is confirmed; the slots were free from the first attempt on at the
        // earliest, and at the latest when the lease expired.
        for (let attempt = 0; ; attempt++) {
          try {
            await callApi(base, "POST", "/decrement-with-lease", { lease_id: grant.body.lease_id });
            break;
          } catch {
            if (attempt > 150) {
              break;
            }
            await sleep(100);
          }
        }
        intervals.push({ names, start, end: Math.min(releaseFrom, Date.parse(grant.body.expires_at)) });
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));

    await sleep(1_500);
    const grantsBeforeKill = grants;
    await worker.kill();
    const killedAt = Date.now();
    await sleep(300);
    await server.start();
    const restartedAt = Date.now();

    // Leases live at the kill are still counted and can be renewed.
    for (const holder of longHolders) {
      for (const name of holder.names) {
        const leases = (await callApi(base, "GET", `/${name}/leases`)).body.leases as { lease_id: string }[];
        expect(leases.map((lease) => lease.lease_id)).toContain(holder.leaseId);
      }
      expect((await callApi(base, "POST", `/leases/${holder.leaseId}/renew`, { lease_duration: 120 })).status).toBe(
        204,
      );
    }

    await sleep(1_500);
    running = false;
    await Promise.all(clients);
    expect(grantsBeforeKill).toBeGreaterThan(0);
    expect(grants).toBeGreaterThan(grantsBeforeKill);
    expect(restartedAt).toBeGreaterThan(killedAt);
    expect(refusedWhileDown).toBeGreaterThan(0);

    // The crashed holder's lease comes back within its duration (plus alarm latency).
    const crashedExpiresAt = Date.parse(crashed.body.expires_at);
    for (;;) {
      const leases = (await callApi(base, "GET", "/chaos-b/leases")).body.leases as { lease_id: string }[];
      if (!leases.some((lease) => lease.lease_id === crashed.body.lease_id)) {
        break;
      }
      expect(Date.now()).toBeLessThan(crashedExpiresAt + 5_000);
      await sleep(100);
    }

    for (const holder of longHolders) {
      intervals.push({ names: holder.names, start: holder.start, end: Date.now() });
      expect((await callApi(base, "POST", "/decrement-with-lease", { lease_id: holder.leaseId })).status).toBe(204);
    }

    for (const name of Object.keys(LIMITS) as LimitName[]) {
      expect(maxOverlap(intervals, name)).toBeLessThanOrEqual(LIMITS[name]);
    }
    // Grants whose answer was lost in the kill expire within one lease: then every slot is free.
    const settleBy = Date.now() + (LOAD_LEASE_SECONDS + 5) * 1000;
    expect(await untilFree(base, Object.keys(LIMITS), settleBy)).toBeNull();
  }, 120_000);
});

describe("the client across a Worker restart", () => {
  it("keeps a lease whose renewal meets the restart, and reports a lease that is really gone", async ({ expect }) => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "gcl-chaos-client-"));
    let server = await spawnWorker({ port, persistTo: dir });
    try {
      const errors: string[] = [];
      const gcl = createClient({
        url: server.url,
        logger: { warn: () => undefined, error: (message: string) => void errors.push(message) },
      });
      await gcl.limits.create({ name: "resilient", limit: 2 });
      const leaseSeconds = 30;
      const kept = await gcl.acquire("resilient", {
        leaseDuration: leaseSeconds,
        holder: { type: "chaos", id: "kept" },
      });
      const keptAt = Date.now();
      // A short lease whose every try falls inside the outage: it is lost, and expires on the server.
      const lost = await gcl.acquire("resilient", { leaseDuration: 3, holder: { type: "chaos", id: "lost" } });

      // Kill the Worker just before the long lease's first renewal (due at 0.75 × 30 s), so that
      // renewal's tries meet the outage; they are spread over the quarter of the lease left.
      await until(keptAt + leaseSeconds * 750 - 300);
      await server.kill();
      await sleep(1_000);
      server = await spawnWorker({ port, persistTo: dir });

      // Past the last renewal try of the long lease.
      await until(keptAt + leaseSeconds * 1000 - 500);
      expect(kept.signal.aborted).toBe(false);
      const leases = await gcl.limits.leases("resilient");
      const keptLease = leases.leases.find((lease) => lease.lease_id === kept.leaseId);
      expect(keptLease).toBeDefined();
      expect(Date.parse(keptLease?.expires_at ?? "")).toBeGreaterThan(keptAt + leaseSeconds * 1000);

      expect(lost.signal.aborted).toBe(true);
      expect(lost.signal.reason).toBeInstanceOf(LeaseLostError);
      expect(errors.some((message) => message.includes(lost.leaseId ?? "?"))).toBe(true);
      expect(leases.leases.map((lease) => lease.lease_id)).not.toContain(lost.leaseId);

      await kept.release();
      expect((await gcl.limits.get("resilient")).active_slots).toBe(0);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
