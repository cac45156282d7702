/**
 * History and metrics (issue 14), through the real Worker: every kind of event lands in the
 * current bucket, idle buckets carry the levels, old buckets fold into coarse ones and stay
 * bounded, and `GET /metrics` parses as Prometheus text with the values the API shows.
 */

import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";
import { describe, it } from "vitest";
import type { LimitObject } from "../../src/objects/limit-object";
import type { HistoryBucket, LimitHistory } from "../../src/protocol/observe";
import Worker from "../../src/index";
import { api, controlClock, createLimit, eventually, takeLease, uniqueName, waitingOn } from "../helpers/api";

const history = async (name: string, resolution = "10s") =>
  (await api<LimitHistory>("GET", `/${encodeURIComponent(name)}/history?resolution=${resolution}`)).body;
const lastBucket = async (name: string): Promise<HistoryBucket> => {
  const bucket = (await history(name)).buckets.at(-1);
  if (!bucket) {
    throw new Error("no buckets");
  }
  return bucket;
};
const release = (leaseId: string) => api("POST", "/decrement-with-lease", { lease_id: leaseId });

async function scrape(query = ""): Promise<{ status: number; type: string | null; text: string }> {
  const response = await exports.default.fetch(`http://gcl.test/metrics${query}`);
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
}

function sampleOf(families: ParsedFamily[], metric: string, limit: string) {
  const sample = families.find((f) => f.name === metric)?.metrics.find((m) => m.labels?.limit === limit);
  if (!sample) {
    throw new Error(`no ${metric} for ${limit}`);
  }
  return sample;
}

describe("history", () => {
  it("counts grants, refusals and hold times in the current bucket", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 2);
    const clock = await controlClock(name);
    const a = await takeLease([name], 1);
    await takeLease([name], 1);
    expect((await takeLease([name], 1)).status).toBe(423);
    await clock.advance(3_000);
    await release(a.body.lease_id);

    const buckets = (await history(name)).buckets;
    const total = (field: "grants" | "refusals" | "slots_granted") => buckets.reduce((sum, b) => sum + b[field], 0);
    expect(total("grants")).toBe(2);
    expect(total("slots_granted")).toBe(2);
    expect(total("refusals")).toBe(1);
    const last = buckets.at(-1) as HistoryBucket;
    expect(last.hold_seconds.count).toBe(1);
    expect(last.hold_seconds.p50).toBeGreaterThan(2.5);
    expect(last.hold_seconds.p50).toBeLessThanOrEqual(5);
    expect(Math.max(...buckets.map((b) => b.peak_active_slots))).toBe(2);
    expect(last.limit).toBe(2);
  });

  it("answers every bucket of the window at both resolutions", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);
    const fine = await history(name, "10s");
    expect(fine.bucket_seconds).toBe(10);
    expect(fine.buckets).toHaveLength(360);
    const coarse = await history(name, "1m");
    expect(coarse.bucket_seconds).toBe(60);
    expect(coarse.buckets).toHaveLength(1440);
    expect(coarse.buckets.at(-1)?.grants).toBe(1);
    const starts = fine.buckets.map((b) => Date.parse(b.start));
    expect(starts.every((start, i) => i === 0 || start - (starts[i - 1] as number) === 10_000)).toBe(true);
  });

  it("records the wait of a waiter, wait timeouts, cancels and lost holders", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const clock = await controlClock(name);
    const held = await takeLease([name]);
    const waiter = api("POST", "/increment-with-lease", { names: [name], slots: 1, wait_seconds: 10 });
    await eventually(async () => (await waitingOn(name)) === 1);
    await clock.advance(2_000);
    await release(held.body.lease_id);
    const granted = await waiter;
    expect(granted.status).toBe(200);
    const last = await lastBucket(name);
    expect(last.wait_seconds.max).toBeCloseTo(2, 3);
    expect(last.wait_seconds.p95).toBeGreaterThan(1);

    // A waiter that times out, and one that is cancelled.
    expect((await api("POST", "/increment-with-lease", { names: [name], slots: 1, wait_seconds: 0.2 })).status).toBe(
      423,
    );
    const cancelled = api("POST", "/increment-with-lease", {
      names: [name],
      slots: 1,
      wait_seconds: 10,
      request_id: "obs-cancel",
    });
    await eventually(async () => (await waitingOn(name)) === 1);
    expect((await api("POST", "/cancel", { names: [name], request_id: "obs-cancel" })).status).toBeLessThan(300);
    expect((await cancelled).status).not.toBe(200);

    // The granted lease lapses without a release.
    await clock.advance(61_000);
    const buckets = (await history(name)).buckets;
    const sum = (field: "refusals" | "wait_timeouts" | "cancels" | "lease_expirations") =>
      buckets.reduce((total, b) => total + b[field], 0);
    expect(sum("refusals")).toBe(1);
    expect(sum("wait_timeouts")).toBe(1);
    expect(sum("cancels")).toBe(1);
    expect(sum("lease_expirations")).toBe(1);
  });

  it("carries held slots through idle buckets, and reads — for never-measured times", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 4);
    const clock = await controlClock(name);
    await takeLease([name], 3, { lease_duration: 3600 });
    await clock.advance(5 * 60_000);
    const buckets = (await history(name)).buckets;
    expect(buckets.slice(-30).every((b) => b.peak_active_slots === 3)).toBe(true);
    expect(buckets.at(-1)?.hold_seconds).toEqual({ count: 0, p50: null, p95: null, max: null });
  });

  it("folds buckets older than an hour into minutes and keeps the rows bounded", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 100);
    const clock = await controlClock(name);
    for (let i = 0; i < 30; i++) {
      await api("POST", "/increment", { names: [name], slots: 1 });
      await api("POST", "/decrement", { names: [name], slots: 1 });
      await clock.advance(7 * 60_000);
    }
    // 30 grants over 3.5 hours: the 1 min view still has them all, the 10 s view only the last hour's.
    const coarse = (await history(name, "1m")).buckets;
    expect(coarse.reduce((sum, b) => sum + b.grants, 0)).toBe(30);
    const fine = (await history(name, "10s")).buckets;
    expect(fine.reduce((sum, b) => sum + b.grants, 0)).toBeLessThanOrEqual(9);
    const rows = await runInDurableObject(env.LIMITS.getByName(name), (_: LimitObject, state) =>
      state.storage.sql
        .exec<{ res: number; n: number }>("SELECT res, count(*) AS n FROM history GROUP BY res")
        .toArray(),
    );
    const fineRows = rows.find((r) => r.res === 10)?.n ?? 0;
    expect(fineRows).toBeLessThanOrEqual(366);
    expect(rows.find((r) => r.res === 60)?.n ?? 0).toBeGreaterThan(0);
  });

  it("writes history with at most one persist a second under load, and the rest a second later", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 100);
    await controlClock(name); // frozen: every call lands in the same bucket, within the same second
    for (let i = 0; i < 20; i++) {
      expect((await api("POST", "/increment", { names: [name], slots: 1 })).status).toBe(200);
    }
    const storedGrants = () =>
      runInDurableObject(
        env.LIMITS.getByName(name),
        (_: LimitObject, state) =>
          state.storage.sql
            .exec<{ n: number }>("SELECT coalesce(sum(grants), 0) AS n FROM history WHERE res = 10")
            .one().n,
      );
    // The first call's grant was written with it; the next 19 are held back in memory...
    expect(await storedGrants()).toBe(1);
    // ...and written by the trailing flush, with no call needed.
    await eventually(async () => (await storedGrants()) === 20);
    expect((await history(name)).buckets.reduce((sum, b) => sum + b.grants, 0)).toBe(20);
  });

  it("starts over when the limit is deleted and created again", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);
    expect((await api("DELETE", `/${name}`)).status).toBe(204);
    await createLimit(name, 1);
    const buckets = (await history(name)).buckets;
    expect(buckets.reduce((sum, b) => sum + b.grants, 0)).toBe(0);
  });

  it("answers 404 for an unknown limit and 422 naming a bad resolution", async ({ expect }) => {
    expect((await api("GET", `/${uniqueName()}/history`)).status).toBe(404);
    const name = uniqueName();
    await createLimit(name, 1);
    const bad = await api("GET", `/${name}/history?resolution=5s`);
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toBe("resolution");
    expect(bad.body.detail).toContain("10s, 1m");
    const byId = await api("GET", `/${(await api("GET", `/${name}`)).body.id}/history`);
    expect(byId.status).toBe(200);
    expect(byId.body.name).toBe(name);
  });
});

describe("GET /metrics", () => {
  it("parses as Prometheus text and shows what the API shows", async ({ expect }) => {
    const name = uniqueName('quo"te\\d');
    await createLimit(name, 3);
    await takeLease([name], 2);
    await takeLease([name], 1);
    expect((await takeLease([name], 1)).status).toBe(423);

    const { status, type, text } = await scrape();
    expect(status).toBe(200);
    expect(type).toContain("text/plain; version=0.0.4");
    const families = parsePrometheusTextFormat(text);
    expect(families.find((f) => f.name === "gcl_grants_total")?.type).toBe("COUNTER");
    expect(families.find((f) => f.name === "gcl_wait_seconds")?.type).toBe("HISTOGRAM");
    expect(sampleOf(families, "gcl_limit_slots", name).value).toBe("3");
    expect(sampleOf(families, "gcl_limit_active_slots", name).value).toBe("3");
    expect(sampleOf(families, "gcl_limit_waiting", name).value).toBe("0");
    expect(sampleOf(families, "gcl_grants_total", name).value).toBe("2");
    expect(sampleOf(families, "gcl_refusals_total", name).value).toBe("1");
    expect(sampleOf(families, "gcl_lease_expirations_total", name).value).toBe("0");
    // The npm parser folds labelled histograms into one series, so these lines are read as text.
    const label = `limit="${name.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
    expect(text).toContain(`gcl_wait_seconds_bucket{${label},le="0.005"} 2\n`);
    expect(text).toContain(`gcl_wait_seconds_bucket{${label},le="+Inf"} 2\n`);
    expect(text).toContain(`gcl_wait_seconds_count{${label}} 2\n`);
    expect(text).toContain(`gcl_hold_seconds_count{${label}} 0\n`);
  });

  it("pages with ?offset and ?limit, says when it was truncated, and checks its parameters", async ({ expect }) => {
    await createLimit(uniqueName("page"), 1);
    await createLimit(uniqueName("page"), 1);
    const one = parsePrometheusTextFormat((await scrape("?limit=1")).text);
    expect(one.find((f) => f.name === "gcl_scrape_limits")?.metrics[0]?.value).toBe("1");
    expect(one.find((f) => f.name === "gcl_scrape_truncated")?.metrics[0]?.value).toBe("1");
    expect((await scrape("?limit=1&offset=1")).status).toBe(200);
    const bad = await scrape("?offset=-1");
    expect(bad.status).toBe(422);
    expect(JSON.parse(bad.text).errors[0].path).toBe("offset");
  });

  it("answers the same numbers as JSON with ?format=json, with the last hour's peaks", async ({ expect }) => {
    const name = uniqueName("json");
    await createLimit(name, 2);
    await takeLease([name], 2);
    expect((await takeLease([name], 1)).status).toBe(423);
    const response = await scrape("?format=json");
    expect(response.type).toContain("application/json");
    const body = JSON.parse(response.text) as { limits: { name: string }[]; truncated: boolean };
    expect(body.truncated).toBe(false);
    const mine = body.limits.find((limit) => limit.name === name);
    expect(mine).toMatchObject({
      limit: 2,
      active_slots: 2,
      waiting: 0,
      grants_total: 1,
      refusals_total: 1,
      last_hour_grants: 1,
      last_hour_refusals: 1,
    });
    expect(mine).toHaveProperty("last_hour_peaks");
    const peaks = (mine as unknown as { last_hour_peaks: number[] }).last_hour_peaks;
    expect(peaks).toHaveLength(60);
    expect(peaks.at(-1)).toBe(2);
    const bad = await scrape("?format=xml");
    expect(bad.status).toBe(422);
    expect(JSON.parse(bad.text).errors[0].path).toBe("format");
  });

  it("needs the admin token", async ({ expect }) => {
    const call = async (token: string) => {
      const ctx = createExecutionContext();
      const request = new Request("http://gcl.test/metrics", { headers: { Authorization: `Bearer ${token}` } });
      const secrets = { GCL_ADMIN_TOKEN: "admin-secret", GCL_CLIENT_TOKEN: "client-secret" };
      const response = await new Worker(ctx, { ...env, GCL_ALLOW_ANONYMOUS: undefined, ...secrets }).fetch(request);
      await waitOnExecutionContext(ctx);
      return response.status;
    };
    expect(await call("client-secret")).toBe(403);
    expect(await call("admin-secret")).toBe(200);
  });
});
