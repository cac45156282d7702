// The examples of docs/client.md (and the README), compiled by `npm run typecheck` and run against
// the real Worker, so the documentation cannot drift from the API. Keep the snippets identical to
// the docs; only the import differs (the docs import the package, `edge-gcl/client`).
import { exports } from "cloudflare:workers";
import { describe, it, vi } from "vitest";
import { createClient } from "../../src/client";

// ── Stand-ins for the names the snippets use ──
const process = { env: { GCL_ADMIN_TOKEN: "admin-token" } };
const prompts = ["a", "b", "c"];
const completed: string[] = [];
async function complete(prompt: string): Promise<void> {
  completed.push(prompt);
}
async function buildReport(signal: AbortSignal): Promise<{ rows: number }> {
  signal.throwIfAborted();
  return { rows: 3 };
}
const published: { report: { rows: number }; tokens: Readonly<Record<string, number>> }[] = [];
async function publish(report: { rows: number }, tokens: Readonly<Record<string, number>>, signal: AbortSignal) {
  signal.throwIfAborted();
  published.push({ report, tokens });
}

// ── The Worker example, verbatim ──
const worker = {
  async fetch(request: Request, env: { GCL: Fetcher; GCL_CLIENT_TOKEN: string }): Promise<Response> {
    const gcl = createClient({ fetch: env.GCL.fetch.bind(env.GCL), token: env.GCL_CLIENT_TOKEN });
    // At most `limit` of these run at once, across every isolate; give up after 10 s in line.
    return gcl.concurrency(
      "origin-db",
      (signal) => fetch("https://db.example.com/query", { method: "POST", body: request.body, signal }),
      { timeoutSeconds: 10 },
    );
  },
};

// ── The RPC example (README "From another Worker (RPC)"), verbatim ──
const rpcWorker = {
  async fetch(request: Request, env: { GCL: Fetcher }): Promise<Response> {
    const name = new URL(request.url).searchParams.get("limit") ?? "db";
    // RPC over the service binding: no URL, no token, no HTTP in between.
    await using slot = await createClient({ binding: env.GCL }).acquire(name, { timeoutSeconds: 10 });
    return Response.json({ holding: name, fencingToken: slot.fencingTokens[name] });
  },
};

/** Routes the global `fetch` to the edge-gcl Worker, and answers the example's origin itself. */
function routeFetch() {
  return vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.startsWith("https://db.example.com/")) {
      return new Response("rows");
    }
    return exports.default.fetch(input, init);
  });
}

describe("docs/client.md examples", () => {
  // The file's first call into the Worker pays its modules' load: 3-5 s on a loaded 2-core machine.
  it("runs the Worker example over a service binding", { timeout: 20_000 }, async ({ expect }) => {
    routeFetch();
    const binding = { fetch: (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(input, init) };
    const admin = createClient({ fetch: binding.fetch });
    await admin.limits.create({ name: "origin-db", limit: 2 });

    const response = await worker.fetch(new Request("https://app.example.com/"), {
      GCL: binding as Fetcher,
      GCL_CLIENT_TOKEN: "client-token",
    });

    expect(await response.text()).toBe("rows");
    expect((await admin.limits.get("origin-db")).active_slots).toBe(0);
  });

  it("runs the RPC example over workerd's loopback service binding", async ({ expect }) => {
    const gcl = createClient({ binding: exports.default });
    await gcl.limits.create({ name: "rpc-db", limit: 1 });

    const response = await rpcWorker.fetch(new Request("https://app.example.com/?limit=rpc-db"), {
      GCL: exports.default as unknown as Fetcher,
    });

    expect(await response.json()).toEqual({ holding: "rpc-db", fencingToken: expect.any(Number) });
    // Released when the handler's scope ended.
    expect((await gcl.limits.get("rpc-db")).active_slots).toBe(0);
  });

  it("runs the Node example", async ({ expect }) => {
    routeFetch();

    const gcl = createClient({ url: "https://edge-gcl.example.workers.dev", token: process.env.GCL_ADMIN_TOKEN });
    // Create each limit unless it exists: safe on every start.
    await gcl.limits.ensure({ name: "reports", limit: 5 });
    await gcl.limits.ensure({ name: "openai", limit: 10, slot_decay_per_second: 10 });

    // Hold one of the 5 "reports" slots while the function runs; released however it ends.
    const report = await gcl.concurrency("reports", (signal) => buildReport(signal), { timeoutSeconds: 30 });

    // At most 10 calls a second: waits its turn, nothing to release.
    for (const prompt of prompts) {
      await gcl.rateLimit("openai");
      await complete(prompt);
    }

    // Slots held across several steps, given back at the end of the block.
    {
      await using slot = await gcl.acquire(["reports", "openai"], { occupy: 2, leaseDuration: 30 });
      await publish(report, slot.fencingTokens, slot.signal);
    }

    expect(completed).toEqual(prompts);
    expect(published).toEqual([
      { report: { rows: 3 }, tokens: { openai: expect.any(Number), reports: expect.any(Number) } },
    ]);
    expect((await gcl.limits.get("reports")).active_slots).toBe(0);
    // Run again (a restart), the example's set-up does not fail: ensure() finds the limits.
    expect((await gcl.limits.ensure({ name: "reports", limit: 5 })).limit).toBe(5);
  });
});
