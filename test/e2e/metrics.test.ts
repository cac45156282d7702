/**
 * `GET /metrics` scraped from outside, as Prometheus would: the real Worker on a loopback port,
 * some traffic (grants, a refusal, a waiter, a release), then the exposition is validated by
 * `promtool check metrics` from Debian's `prometheus` package. Skips, saying so, when promtool is
 * not installed (`apt-get install prometheus`).
 */

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, it } from "vitest";
import { callApi, sleep } from "../helpers/common";
import { useLocalWorker } from "../helpers/local-worker";

const PROMTOOL = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((path) => existsSync(path));
if (!PROMTOOL) {
  console.warn("promtool not found (apt-get install prometheus): skipping the promtool check of /metrics");
}

const worker = useLocalWorker();

const call = (method: string, path: string, body?: unknown) => callApi(worker.url, method, path, body);

describe.skipIf(!PROMTOOL)("/metrics checked by promtool", () => {
  it("passes `promtool check metrics` after real traffic", async ({ expect }) => {
    for (const name of ["db", 'odd "name" \\ here', "rate"]) {
      await call("POST", "/", { name, limit: 2, ...(name === "rate" ? { slot_decay_per_second: 1 } : {}) });
    }
    const lease = (await call("POST", "/increment-with-lease", { names: ["db"], slots: 2 })).body as {
      lease_id: string;
    };
    expect((await call("POST", "/increment-with-lease", { names: ["db"], slots: 1 })).status).toBe(423);
    const waiter = call("POST", "/increment-with-lease", { names: ["db"], slots: 1, wait_seconds: 5 });
    await sleep(100);
    await call("POST", "/decrement-with-lease", { lease_id: lease.lease_id });
    expect((await waiter).status).toBe(200);
    await call("POST", "/increment", { names: ["rate"], slots: 1, mode: "rate_limit" });

    const response = await fetch(`${worker.url}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('gcl_grants_total{limit="db"} 2');
    expect(text).toContain('gcl_refusals_total{limit="db"} 1');
    const check = spawnSync(PROMTOOL as string, ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.stderr + check.stdout).toBe("");
    expect(check.status).toBe(0);
  });
});
