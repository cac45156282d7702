/**
 * `gcl run` and `gcl rate-limit` against a canned `fetch` (no Worker): a limit that does not exist
 * stops them with exit 1 and a message saying how to create it, after giving back what was
 * taken; `--allow-missing` restores Prefect's warn-and-run. The requests sent are checked too.
 */

import { describe, it } from "vitest";
import type { FetchInit, FetchLike } from "../../src/client";
import { run } from "../../src/cli/run";
import { memoryIo } from "../helpers/memory-io";

const URL_ = "http://gcl.test";
const PREFIX = `${URL_}/api/v2/concurrency_limits`;

interface Canned {
  fetch: FetchLike;
  /** `METHOD path` of every request, in order. */
  requests: string[];
}

function json(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** A Worker where only the limits named in `existing` exist (limit 5, no holders). */
function cannedWorker(existing: readonly string[]): Canned {
  const requests: string[] = [];
  const record = (name: string) => ({ id: `id-${name}`, name, limit: 5 });
  const fetch: FetchLike = async (url: string, init: FetchInit) => {
    const path = url.slice(PREFIX.length);
    const method = init.method ?? "GET";
    requests.push(`${method} ${path}`);
    const body = typeof init.body === "string" ? (JSON.parse(init.body) as { names?: string[] }) : {};
    const names = body.names ?? [];
    if (method === "POST" && path === "/increment-with-lease") {
      return json(200, {
        lease_id: "lease-1",
        limits: names.filter((name) => existing.includes(name)).map((name) => ({ ...record(name), fencing_token: 1 })),
        missing: names.filter((name) => !existing.includes(name)),
        expires_at: new Date(Date.now() + 60_000).toISOString(),
      });
    }
    if (method === "POST" && path === "/increment") {
      return json(200, names.filter((name) => existing.includes(name)).map(record));
    }
    if (method === "POST" && path === "/decrement-with-lease") {
      return json(204);
    }
    const name = decodeURIComponent(path.slice(1));
    if (method === "GET" && existing.includes(name)) {
      return json(200, { ...record(name), active: true, active_slots: 0, denied_slots: 0, slot_decay_per_second: 0 });
    }
    return json(404, { detail: "Concurrency Limit not found", code: "not_found" });
  };
  return { fetch, requests };
}

async function gcl(argv: string[], worker: Canned) {
  const io = memoryIo({ env: { GCL_URL: URL_, NO_COLOR: "1" } });
  const code = await run(argv, { ...io, fetch: worker.fetch });
  return { code, err: io.stderr.text, out: io.stdout.text, children: io.children };
}

describe("gcl run with a limit that does not exist", () => {
  it("exits 1 without starting the command, names the limit and how to create it, and gives back the lease", async ({ expect }) => {
    const worker = cannedWorker(["db"]);

    const { code, err, children } = await gcl(["run", "db,dbb", "--", "my-job", "--full"], worker);

    expect(code).toBe(1);
    expect(children).toEqual([]);
    expect(err).toBe(
      "Error: Global concurrency limit 'dbb' does not exist, so `my-job` was not started.\n" +
        "  Create it with `gcl create dbb --limit N` (or `gcl ensure dbb --limit N`, which leaves an existing limit alone), " +
        "check the spelling with `gcl ls`, or pass --allow-missing to go on without it, as Prefect does.\n",
    );
    // The client's error lists the missing names: nothing more is asked of the Worker.
    expect(worker.requests).toEqual(["POST /increment-with-lease", "POST /decrement-with-lease"]);
  });

  it("names every missing limit", async ({ expect }) => {
    const { code, err } = await gcl(["run", "a,b", "--", "job"], cannedWorker([]));

    expect(code).toBe(1);
    expect(err).toContain("Global concurrency limits 'a', 'b' do not exist, so `job` was not started.");
  });

  it("with --allow-missing, warns and runs the command, as Prefect does", async ({ expect }) => {
    const worker = cannedWorker([]);

    const { code, err, children } = await gcl(["run", "nope", "--allow-missing", "--", process.execPath, "-e", "process.exit(3)"], worker);

    expect(code).toBe(3);
    expect(children).toHaveLength(1);
    expect(err).toContain("Warning: Concurrency limits ['nope'] do not exist - skipping acquisition.");
  });
});

describe("gcl rate-limit with a limit that does not exist", () => {
  it("exits 1 and says so; with --allow-missing it warns and exits 0", async ({ expect }) => {
    const strict = await gcl(["rate-limit", "opneai"], cannedWorker(["openai"]));
    const lenient = await gcl(["rate-limit", "opneai", "--allow-missing", "--json"], cannedWorker(["openai"]));

    expect(strict.code).toBe(1);
    expect(strict.err).toContain("Error: Global concurrency limit 'opneai' does not exist, so nothing was admitted.");
    expect(lenient.code).toBe(0);
    expect(lenient.err).toContain("do not exist");
    expect(JSON.parse(lenient.out)).toEqual({ limits: [], missing: ["opneai"] });
  });
});
