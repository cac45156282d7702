/**
 * `limits.ensure()` through `gcl ensure`, against a canned `fetch`: created when missing, found
 * (and left alone, with a warning naming the update that would match) when it exists, created
 * again when another caller deletes it between the two calls, and a bounded number of rounds when
 * that keeps happening. The requests sent are checked, so a test fails if ensure ever PATCHes.
 */

import { describe, it } from "vitest";
import type { FetchInit, FetchLike } from "../../src/client";
import { CANNED_URL } from "../helpers/canned-worker";
import { answer } from "../helpers/common";
import { runGcl } from "../helpers/memory-io";

const PREFIX = `${CANNED_URL}/api/v2/concurrency_limits`;

function record(limit: number) {
  return { id: "id-db", name: "db", limit, active: true, active_slots: 0, denied_slots: 0, slot_decay_per_second: 0 };
}

const CONFLICT = () => answer(409, { detail: "Data integrity conflict.", code: "already_exists" });
const NOT_FOUND = () => answer(404, { detail: "Concurrency Limit not found", code: "not_found" });

/** Answers each request with the next scripted answer for its `METHOD path`. */
function scripted(script: Record<string, (() => Response)[]>): { fetch: FetchLike; requests: string[] } {
  const requests: string[] = [];
  const fetch: FetchLike = async (url: string, init: FetchInit) => {
    const key = `${init.method ?? "GET"} ${url.slice(PREFIX.length)}`;
    requests.push(key);
    const next = script[key]?.shift();
    if (next === undefined) {
      throw new Error(`unexpected request ${key}`);
    }
    return next();
  };
  return { fetch, requests };
}

function gcl(argv: string[], worker: { fetch: FetchLike }) {
  return runGcl(argv, { env: { GCL_URL: CANNED_URL, NO_COLOR: "1" }, fetch: worker.fetch });
}

describe("gcl ensure (limits.ensure)", () => {
  it("creates a missing limit with one request", async ({ expect }) => {
    const worker = scripted({ "POST /": [() => answer(201, record(5))] });

    const { code, out } = await gcl(["ensure", "db", "--limit", "5"], worker);

    expect(code).toBe(0);
    expect(out).toBe("Global concurrency limit with name 'db' and ID 'id-db' is in place (limit 5).\n");
    expect(worker.requests).toEqual(["POST /"]);
  });

  it("finds an existing limit, changes nothing, and says which update would match the settings asked", async ({
    expect,
  }) => {
    const worker = scripted({ "POST /": [CONFLICT], "GET /db": [() => answer(200, record(3))] });

    const { code, out, err } = await gcl(["ensure", "db", "--limit", "5", "--json"], worker);

    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ name: "db", limit: 3 });
    expect(err).toBe(
      "Warning: Global concurrency limit 'db' exists with other settings (limit 3, slot decay 0/s, active); left unchanged. To change it: `gcl update db --limit 5`.\n",
    );
    expect(worker.requests).toEqual(["POST /", "GET /db"]);
  });

  it("creates it again when it is deleted between the create and the read", async ({ expect }) => {
    const worker = scripted({ "POST /": [CONFLICT, () => answer(201, record(5))], "GET /db": [NOT_FOUND] });

    const { code } = await gcl(["ensure", "db", "--limit", "5"], worker);

    expect(code).toBe(0);
    expect(worker.requests).toEqual(["POST /", "GET /db", "POST /"]);
  });

  it("gives up after three rounds of that, with the not-found error", async ({ expect }) => {
    const worker = scripted({ "POST /": [CONFLICT, CONFLICT, CONFLICT], "GET /db": [NOT_FOUND, NOT_FOUND, NOT_FOUND] });

    const { code, err } = await gcl(["ensure", "db", "--limit", "5"], worker);

    expect(code).toBe(1);
    expect(err).toContain("Global concurrency limit 'db' not found.");
    expect(worker.requests).toHaveLength(6);
  });
});
