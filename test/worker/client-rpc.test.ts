/**
 * The client over RPC: `createClient({ binding })` with `exports.default`, workerd's loopback
 * service binding to this Worker's default entrypoint. The whole API, its errors, waiting, and
 * release at the end of an `await using` scope, with no HTTP between client and Worker.
 */

import { exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import { AcquireTimeoutError, ConcurrencySlotAcquisitionError, createClient, GclError } from "../../src/client";
import { activeSlots, api, createLimit, sleep, uniqueName } from "../helpers/api";
import { recordingLogger } from "../helpers/client";

/** The binding, wrapped so each test can see which RPC methods the client called. */
function rpcClient() {
  const calls: string[] = [];
  const target = exports.default as unknown as Record<string, (...args: unknown[]) => unknown>;
  const binding = new Proxy(
    {},
    {
      get: (_, method: string) => {
        const remote = target[method];
        return (...args: unknown[]) => {
          calls.push(method);
          return remote?.(...args);
        };
      },
    },
  );
  const logger = recordingLogger();
  const gcl = createClient({ binding, logger, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
  return { gcl, calls, logger };
}

describe("createClient({ binding })", () => {
  it("acquires with `await using` and releases when the scope ends", async ({ expect }) => {
    const { gcl, calls } = rpcClient();
    const name = uniqueName();
    await createLimit(name, 2);
    {
      await using slot = await gcl.acquire(name, { occupy: 2 });
      expect(slot.limits).toMatchObject([{ name, limit: 2 }]);
      expect(slot.fencingTokens[name]).toBeGreaterThan(0);
      expect(await activeSlots(name)).toBe(2);
    }
    expect(await activeSlots(name)).toBe(0);
    expect(calls).toEqual(["acquire", "release"]);
  });

  it("runs concurrency() with the slots held, and gives them back when fn throws", async ({ expect }) => {
    const { gcl } = rpcClient();
    const name = uniqueName();
    await createLimit(name, 1);
    expect(await gcl.concurrency(name, async () => activeSlots(name))).toBe(1);
    const failure = new Error("boom");
    await expect(gcl.concurrency(name, () => Promise.reject(failure))).rejects.toBe(failure);
    expect(await activeSlots(name)).toBe(0);
  });

  it("waits for a held slot and gets it when the holder releases", async ({ expect }) => {
    const { gcl } = rpcClient();
    const name = uniqueName();
    await createLimit(name, 1);
    const first = await gcl.acquire(name);
    const second = gcl.acquire(name, { timeoutSeconds: 10 });
    await expect.poll(async () => (await api("GET", `/${name}/leases`)).body.waiting).toBe(1);
    await first.release();
    const granted = await second;
    expect(granted.leaseId).not.toBe(first.leaseId);
    await granted.release();
    expect(await activeSlots(name)).toBe(0);
  });

  it("times out with AcquireTimeoutError and leaves the line", async ({ expect }) => {
    const { gcl } = rpcClient();
    const name = uniqueName();
    await createLimit(name, 1);
    const holder = await gcl.acquire(name);
    await expect(gcl.acquire(name, { timeoutSeconds: 0.3 })).rejects.toBeInstanceOf(AcquireTimeoutError);
    expect((await api("GET", `/${name}/leases`)).body.waiting).toBe(0);
    await holder.release();
  });

  it("refuses slots over the limit with the server's code, as over HTTP", async ({ expect }) => {
    const { gcl } = rpcClient();
    const name = uniqueName();
    await createLimit(name, 1);
    const error = await gcl.acquire(name, { occupy: 2 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConcurrencySlotAcquisitionError);
    expect(error).toMatchObject({
      status: 422,
      code: "slots_exceed_limit",
      detail: "Slots requested is greater than the limit",
    });
  });

  it("renews the lease in the background over RPC", { timeout: 10_000 }, async ({ expect }) => {
    const { gcl, calls } = rpcClient();
    const name = uniqueName();
    await createLimit(name, 1);
    const slot = await gcl.acquire(name, { leaseDuration: 1 });
    await sleep(2_000);
    expect(slot.signal.aborted).toBe(false);
    expect(calls.filter((call) => call === "renew").length).toBeGreaterThanOrEqual(2);
    expect((await api("GET", `/${name}/leases`)).body.leases).toMatchObject([{ lease_id: slot.leaseId }]);
    await slot.release();
  });

  it("paces with rateLimit()", async ({ expect }) => {
    const { gcl } = rpcClient();
    const name = uniqueName();
    await createLimit(name, 2, { slot_decay_per_second: 10 });
    const result = await gcl.rateLimit(name, { occupy: 2 });
    expect(result).toMatchObject({ limits: [{ name, limit: 2 }], missing: [] });
    await expect(gcl.rateLimit(uniqueName("gone"), { strict: true })).rejects.toBeInstanceOf(
      ConcurrencySlotAcquisitionError,
    );
  });

  it("manages limits with limits.*, throwing GclError with the HTTP codes", async ({ expect }) => {
    const { gcl } = rpcClient();
    const name = uniqueName();
    const record = await gcl.limits.create({ name, limit: 2 });
    expect(await gcl.limits.ensure({ name, limit: 2 })).toMatchObject({ id: record.id, name, limit: 2 });
    const ensured = uniqueName("ensured");
    expect(await gcl.limits.ensure({ name: ensured, limit: 3 })).toMatchObject({ name: ensured, limit: 3 });
    expect(await gcl.limits.get(name)).toEqual(record);
    expect(await gcl.limits.get(record.id)).toEqual(record);
    expect((await gcl.limits.list()).map((limit) => limit.name)).toContain(name);
    await gcl.limits.update(name, { limit: 4 });
    await gcl.limits.disable(name);
    expect(await gcl.limits.get(name)).toMatchObject({ limit: 4, active: false });
    await gcl.limits.enable(name);
    expect(await gcl.limits.leases(name)).toMatchObject({ leases: [], waiting: 0 });

    const duplicate = await gcl.limits.create({ name, limit: 1 }).catch((caught: unknown) => caught);
    expect(duplicate).toBeInstanceOf(GclError);
    expect(duplicate).toMatchObject({ code: "already_exists", status: 409 });
    const invalid = await gcl.limits.create({ name: "a/b", limit: 1 }).catch((caught: unknown) => caught);
    expect(invalid).toMatchObject({ code: "invalid_request", status: 422, errors: [{ path: "name" }] });

    await gcl.limits.delete(name);
    await expect(gcl.limits.get(name)).rejects.toMatchObject({ code: "not_found", status: 404 });
  });

  it("turns a binding that throws into a retried, then unavailable, GclError", async ({ expect }) => {
    let tries = 0;
    const broken = {
      getLimit: () => {
        tries += 1;
        return Promise.reject(new Error("Network connection lost."));
      },
    };
    const gcl = createClient({ binding: broken, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    await expect(gcl.limits.get("db")).rejects.toMatchObject({ code: "unavailable" });
    expect(tries).toBe(3);
  });

  it("says so at once, without retrying, when the binding has no RPC methods", async ({ expect }) => {
    const gcl = createClient({ binding: {}, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    await expect(gcl.limits.get("db")).rejects.toThrow(/service binding to an edge-gcl Worker with RPC/);
    let tries = 0;
    const old = {
      getLimit: () => {
        tries += 1;
        return Promise.reject(new TypeError('The RPC receiver does not implement "getLimit".'));
      },
    };
    const oldGcl = createClient({ binding: old, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    await expect(oldGcl.limits.get("db")).rejects.toBeInstanceOf(TypeError);
    expect(tries).toBe(1);
  });

  it("refuses `binding` together with `fetch`, and a binding that is not an object", ({ expect }) => {
    expect(() => createClient({ binding: exports.default, fetch: globalThis.fetch as never })).toThrow(TypeError);
    expect(() => createClient({ binding: "GCL" as never })).toThrow(/binding/);
  });
});
