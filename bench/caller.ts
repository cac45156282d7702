/**
 * Bench-only caller Worker (never deployed): a second Worker with a service binding `GCL` to the
 * bench Worker, as a user's Worker would have. `POST /loop?kind=…&ms=…&name=…` runs one kind of
 * call back to back for `ms` milliseconds and answers how many completed and how long they took,
 * timed inside workerd, so the load generator's own cost (one HTTP request per round) does not
 * count. Kinds:
 *
 * - `floor`: `env.GCL.floor()`: service-binding RPC → one Durable Object call → one SQLite write.
 * - `floor_validated`: the same with an acquire's body, validated, and a grant-shaped answer.
 * - `rpc_raw`: `env.GCL.acquire()` then `env.GCL.release()`: the RPC methods, no client.
 * - `rpc_client`: `createClient({ binding })`'s `acquire()` then `release()`: what a user runs.
 * - `http_client`: the same client over HTTP through the binding's `fetch`.
 */

import { createClient, type GclClient } from "../src/client/index.ts";
import type { GclRpc } from "../src/protocol/rpc.ts";

interface CallerEnv {
  GCL: Fetcher & GclRpc & { floor(): Promise<number>; floorValidated(body: object): Promise<unknown> };
}

const MAX_ITERATIONS = 1_000_000;
const LEASE_S = 60;

type Kind = "floor" | "floor_validated" | "rpc_raw" | "rpc_client" | "http_client";
const KINDS: Kind[] = ["floor", "floor_validated", "rpc_raw", "rpc_client", "http_client"];

// One client of each kind per isolate, as a user's Worker would keep at module scope.
let clients: { rpc: GclClient; http: GclClient } | undefined;

function operation(kind: Kind, env: CallerEnv, name: string): () => Promise<void> {
  clients ??= {
    rpc: createClient({ binding: env.GCL }),
    http: createClient({ url: "http://gcl.bench", fetch: (url, init) => env.GCL.fetch(url, init) }),
  };
  const { rpc, http } = clients;
  switch (kind) {
    case "floor":
      return async () => {
        await env.GCL.floor();
      };
    case "floor_validated":
      return async () => {
        await env.GCL.floorValidated({ names: [name], slots: 1, lease_duration: LEASE_S });
      };
    case "rpc_raw":
      return async () => {
        const grant = await env.GCL.acquire({ names: [name], slots: 1, lease_duration: LEASE_S });
        if (!grant.ok) {
          throw new Error(`acquire refused: ${grant.error.code}`);
        }
        await env.GCL.release(grant.value.lease_id);
      };
    case "rpc_client":
    case "http_client": {
      const client = kind === "rpc_client" ? rpc : http;
      return async () => {
        const slot = await client.acquire(name, { leaseDuration: LEASE_S, maxRetries: 0 });
        await slot.release();
      };
    }
  }
}

export default {
  async fetch(request: Request, env: CallerEnv): Promise<Response> {
    const url = new URL(request.url);
    const kind = url.searchParams.get("kind") as Kind;
    const ms = Number(url.searchParams.get("ms") ?? "1000");
    const name = url.searchParams.get("name") ?? "bench-rpc";
    if (url.pathname !== "/loop" || !KINDS.includes(kind)) {
      return new Response(`POST /loop?kind=${KINDS.join("|")}&ms=&name=`, { status: 404 });
    }
    const run = operation(kind, env, name);
    // workerd's clock moves at I/O; every operation here is I/O, so the reading is exact enough.
    const start = Date.now();
    let operations = 0;
    let now = start;
    while (operations < MAX_ITERATIONS && now - start < ms) {
      await run();
      operations += 1;
      now = Date.now();
    }
    return Response.json({ kind, operations, ms: now - start });
  },
};
