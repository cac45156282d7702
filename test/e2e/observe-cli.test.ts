/**
 * `gcl history` and `gcl top` against the real Worker on a loopback port, called in process
 * through `run(argv, io)`: after real traffic (grants, a refusal, a waiter served), the history
 * table and summary say what happened, `--json` is the API's answer, and `gcl top --once` shows
 * utilization, waiting and grants per second from two scrapes.
 */

import { describe, it } from "vitest";
import { useCliWorker } from "../helpers/cli-worker";
import { sleep } from "../helpers/common";

const worker = useCliWorker();
const { gcl } = worker;

describe("gcl history", () => {
  it("summarizes saturation, refusals and waits, and lists the busy buckets", async ({ expect }) => {
    await worker.client.limits.create({ name: "hist-db", limit: 1 });
    const held = await worker.client.acquire("hist-db", { leaseDuration: 30 });
    await expect(worker.client.acquire("hist-db", { maxRetries: 0 })).rejects.toThrow();
    const waiter = worker.client.acquire("hist-db", { timeoutSeconds: 10 });
    await sleep(200);
    await held.release();
    await (await waiter).release();

    const { code, out, err } = await gcl(["history", "hist-db"]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toContain("Limit 'hist-db', last hour: saturated in");
    expect(out).toMatch(/2 grants, 1 refusals \(0 after waiting\)/);
    expect(out).toContain("TIME (UTC)");
    expect(out).toMatch(/\n\d\d:\d\d:\d0 +1\/1 /);
    expect(out).toMatch(/Waits: worst p95 \d+ ms/);

    const json = await gcl(["history", "hist-db", "--json", "--resolution", "1m"]);
    const answer = JSON.parse(json.out);
    expect(answer.resolution).toBe("1m");
    expect(answer.buckets).toHaveLength(1440);
    expect(answer.buckets.reduce((sum: number, bucket: { grants: number }) => sum + bucket.grants, 0)).toBe(2);
  });

  it("fails with a clear message for an unknown limit and a bad resolution", async ({ expect }) => {
    const missing = await gcl(["history", "no-such-limit"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("no-such-limit");
    const bad = await gcl(["history", "hist-db", "--resolution", "5s"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("10s, 1m");
  });
});

describe("gcl top", () => {
  it("shows utilization, waiting and grants per second from two scrapes", async ({ expect }) => {
    await worker.client.limits.create({ name: "top-api", limit: 4 });
    const held = await worker.client.acquire("top-api", { occupy: 3, leaseDuration: 30 });
    for (let i = 0; i < 5; i++) {
      await (await worker.client.acquire("top-api", { occupy: 1 })).release();
    }
    // Nothing moves between the two scrapes: the rates are 0 (rates from moving counters: test/cli).
    const frame = await gcl(["top", "--once", "--interval", "0.5"]);
    expect(frame.code).toBe(0);
    expect(frame.out).toContain("NAME");
    expect(frame.out).toMatch(/top-api +3\/4 +█+·* 75%/);

    const json = await gcl(["top", "--json", "--interval", "0.2"]);
    const rows = JSON.parse(json.out) as {
      name: string;
      utilization: number;
      grants_per_second: number | null;
      waiting: number;
    }[];
    const row = rows.find((r) => r.name === "top-api");
    expect(row?.utilization).toBe(0.75);
    expect(row?.waiting).toBe(0);
    expect(row?.grants_per_second).toBe(0);
    await held.release();
  });

  it("rejects a busy-loop interval", async ({ expect }) => {
    const bad = await gcl(["top", "--once", "--interval", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("0.2");
  });
});
