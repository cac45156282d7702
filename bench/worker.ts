/**
 * Bench-only Worker entry (never deployed): the production app unchanged, plus three routes
 * that do exactly one Durable Object call with one SQLite write, each adding one layer of what
 * a real acquire or release does:
 *
 * - `POST /bench/floor`: the physical floor of this architecture. HTTP → Worker → one Durable
 *   Object RPC → one SQLite write, and nothing else (no body, no framework, 204).
 * - `POST /bench/floor-json`: the same plus a request body like an acquire's, parsed, and a JSON
 *   answer like a lease grant's: what any JSON API pays.
 * - `POST /api/v2/concurrency_limits/bench-floor`: the same through the app's own pipeline
 *   (`defineRoute`: routing, auth, body limit, JSON and zod validation, `c.json`), registered on
 *   the production app itself.
 *
 * The real routes then add the limit object's work (RPC payloads, accounting, lease ids, the
 * two-row write). Every other request goes to the production app, so all of them share one stack.
 *
 * The default export is the production RPC entrypoint plus `floor()`: the same one write as
 * `/bench/floor`, for a caller Worker (bench/caller.ts) to call over its service binding.
 */

import { DurableObject } from "cloudflare:workers";
import { createApp } from "../src/app.ts";
import { GclEntrypoint } from "../src/rpc/entrypoint.ts";
import { IncrementWithLeaseSchema } from "../src/protocol/schemas.ts";
import { defineRoute, parseBody } from "../src/routes/define.ts";

// The production classes, imported where they live (../src/index.ts re-exports them).
export { CatalogObject } from "../src/objects/catalog-object.ts";
export { LeaseDirectory } from "../src/objects/lease-directory.ts";
export { LimitObject } from "../src/objects/limit-object.ts";

interface BenchEnv extends Env {
  FLOOR: DurableObjectNamespace<FloorObject>;
}

/** One row, one upsert per call: the cheapest durable write a limit object could make. */
export class FloorObject extends DurableObject<BenchEnv> {
  constructor(ctx: DurableObjectState, env: BenchEnv) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
  }

  write(): number {
    this.ctx.storage.sql.exec("INSERT INTO floor (id, n) VALUES (1, 1) ON CONFLICT(id) DO UPDATE SET n = n + 1");
    return 1;
  }
}

/** An answer the size and shape of a lease grant. */
function grantLike(name: string): object {
  return {
    lease_id: `${crypto.randomUUID()}.WyJiZW5jaCJd`,
    limits: [{ id: "00000000-0000-4000-8000-000000000000", name, limit: 8, fencing_token: 1 }],
    missing: [],
    expires_at: new Date(Date.now() + 60_000).toISOString(),
  };
}

const app = createApp();
// Added after createApp() registered its not-found handler; Hono matches it like any route.
defineRoute(
  app,
  {
    method: "post",
    path: "/bench-floor",
    summary: "Bench only: the floor's one write behind the app's request pipeline",
    role: "client",
    body: IncrementWithLeaseSchema,
    success: { status: 200, description: "A grant-shaped answer" },
  },
  async (c, body) => {
    await (c.env as BenchEnv).FLOOR.getByName("floor").write();
    return c.json(grantLike(body.names[0] ?? ""));
  },
);

export default class BenchWorker extends GclEntrypoint {
  /** The RPC floor: one Durable Object call, one SQLite write. */
  floor(): Promise<number> {
    return (this.env as BenchEnv).FLOOR.getByName("floor").write();
  }

  /** The RPC floor plus what `acquire` adds before and after the object: validation, a grant-shaped answer. */
  async floorValidated(body: unknown): Promise<{ ok: true; value: object }> {
    const parsed = parseBody(IncrementWithLeaseSchema, body, true);
    await (this.env as BenchEnv).FLOOR.getByName("floor").write();
    return { ok: true, value: grantLike(parsed.names[0] ?? "") };
  }

  override async fetch(request: Request): Promise<Response> {
    const env = this.env as BenchEnv;
    if (request.method === "POST") {
      const path = new URL(request.url).pathname;
      if (path === "/bench/floor") {
        await env.FLOOR.getByName("floor").write();
        return new Response(null, { status: 204 });
      }
      if (path === "/bench/floor-json") {
        const body = JSON.parse(await request.text()) as { names: string[] };
        await env.FLOOR.getByName("floor").write();
        return Response.json(grantLike(body.names[0] ?? ""));
      }
    }
    return app.fetch(request, env, this.ctx);
  }
}
