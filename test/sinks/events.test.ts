/**
 * Prefect events through the sinks the local runtime provides (issue 14): with wrangler.toml's
 * `GCL_EVENTS_QUEUE` and `GCL_EVENTS_ANALYTICS` bound to miniflare's own Queue producer and
 * Analytics Engine dataset, events are on, every write is accepted (no sink failure is logged),
 * and grants, releases and settings changes answer exactly as without sinks.
 */

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it, vi } from "vitest";
import type { LimitObject } from "../../src/objects/limit-object";
import { api, createLimit, sleep, takeLease, uniqueName } from "../helpers/api";

describe("Prefect events into the local runtime's Queue and Analytics Engine", () => {
  it("are on, and every write is accepted while the slots behave as always", async ({ expect }) => {
    const errors = vi.spyOn(console, "error");
    // Spies that call through: the real local bindings still take every write.
    const points = vi.spyOn((env as Env).GCL_EVENTS_ANALYTICS as AnalyticsEngineDataset, "writeDataPoint");
    const batches = vi.spyOn((env as Env).GCL_EVENTS_QUEUE as Queue, "sendBatch");
    const name = uniqueName();
    await createLimit(name, 2);
    const stub = env.LIMITS.getByName(name);
    expect(await runInDurableObject(stub, (instance: LimitObject) => instance.events.enabled)).toBe(true);
    const leases = await Promise.all([takeLease([name]), takeLease([name]), takeLease([name])]);
    expect(leases.map((lease) => lease.status).sort()).toEqual([200, 200, 423]);
    for (const lease of leases.filter((answer) => answer.status === 200)) {
      expect((await api("POST", "/decrement-with-lease", { lease_id: lease.body.lease_id })).status).toBe(204);
    }
    expect((await api("PATCH", `/${name}`, { limit: 3 })).status).toBe(204);
    expect((await api("DELETE", `/${name}`)).status).toBe(204);
    // The queue send runs under waitUntil: give it the moment it needs before looking for failures.
    await sleep(50);
    const dropped = await runInDurableObject(stub, (instance: LimitObject) => instance.events.dropped);
    expect(dropped).toBe(0);
    expect(errors.mock.calls.filter((call) => String(call[0]).includes("event sink"))).toEqual([]);
    // created, 2 × acquired, 2 × released, updated, deleted: one data point each.
    expect(points.mock.calls.length).toBeGreaterThanOrEqual(7);
    expect(batches.mock.calls.length).toBeGreaterThan(0);
    await expect(Promise.all(batches.mock.results.map((result) => result.value))).resolves.toBeDefined();
  });
});
