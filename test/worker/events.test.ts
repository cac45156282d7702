/**
 * Prefect events from the limit objects (issue 14), with fake sinks put into a limit object
 * through `runInDurableObject` (no sink is bound in wrangler.toml: events are off by default).
 * Every lifecycle and slot event arrives with Prefect's names and shapes, the release follows its
 * acquisition, and a failing sink changes no answer.
 */

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import type { PrefectEvent } from "../../src/events/prefect-events";
import type { LimitObject } from "../../src/objects/limit-object";
import { api, createLimit, takeLease, uniqueName } from "../helpers/api";

/** Puts recording sinks into `name`'s limit object; returns what they receive. */
async function recordEvents(name: string) {
  const queued: PrefectEvent[] = [];
  const points: AnalyticsEngineDataPoint[] = [];
  await runInDurableObject(env.LIMITS.getByName(name), (instance: LimitObject) => {
    instance.events.sinks = {
      queue: {
        sendBatch: async (messages) => {
          for (const message of messages) {
            queued.push(message.body);
          }
          return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: new Date() } } };
        },
      },
      analytics: { writeDataPoint: (point) => void points.push(point ?? {}) },
    };
  });
  return { queued, points };
}

describe("Prefect events", () => {
  it("are off by default: no sink is bound", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const enabled = await runInDurableObject(
      env.LIMITS.getByName(name),
      (instance: LimitObject) => instance.events.enabled,
    );
    expect(enabled).toBe(false);
  });

  it("emit created, acquired, released (following its acquisition), updated and deleted", async ({ expect }) => {
    const name = uniqueName();
    const { queued, points } = await recordEvents(name);
    const record = await createLimit(name, 3);
    const lease = await takeLease([name], 2);
    expect(lease.status).toBe(200);
    await api("POST", "/decrement-with-lease", { lease_id: lease.body.lease_id });
    expect((await api("PATCH", `/${name}`, { limit: 4 })).status).toBe(204);
    expect((await api("DELETE", `/${name}`)).status).toBe(204);

    expect(queued.map((event) => event.event)).toEqual([
      "prefect.concurrency-limit.created",
      "prefect.concurrency-limit.acquired",
      "prefect.concurrency-limit.released",
      "prefect.concurrency-limit.updated",
      "prefect.concurrency-limit.deleted",
    ]);
    const [created, acquired, released, updated] = queued;
    const resource = { "prefect.resource.id": `prefect.concurrency-limit.${record.id}`, "prefect.resource.name": name };
    expect(created).toMatchObject({
      resource,
      related: [],
      payload: { name, limit: 3, active: true, slot_decay_per_second: 0 },
    });
    expect(acquired?.resource).toEqual({ ...resource, "slots-acquired": "2", limit: "3" });
    expect(released?.resource).toEqual({ ...resource, "slots-acquired": "2", limit: "3" });
    expect(released?.follows).toBe(acquired?.id);
    expect(updated?.payload).toMatchObject({ limit: 4 });
    expect(Number.isNaN(Date.parse(acquired?.occurred ?? ""))).toBe(false);
    expect(points).toHaveLength(5);
    expect(points[1]).toEqual({
      indexes: [name],
      blobs: ["prefect.concurrency-limit.acquired", name, `prefect.concurrency-limit.${record.id}`],
      doubles: [2, 3],
    });
  });

  it("never fail or change a grant when the sinks fail", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    await runInDurableObject(env.LIMITS.getByName(name), (instance: LimitObject) => {
      instance.events.sinks = {
        queue: { sendBatch: () => Promise.reject(new Error("queue down")) },
        analytics: {
          writeDataPoint: () => {
            throw new Error("analytics down");
          },
        },
      };
    });
    const lease = await takeLease([name], 1);
    expect(lease.status).toBe(200);
    expect((await takeLease([name], 1)).status).toBe(423);
    expect((await api("POST", "/decrement-with-lease", { lease_id: lease.body.lease_id })).status).toBe(204);
    expect((await takeLease([name], 1)).status).toBe(200);
  });
});
