// A second Worker calls edge-gcl over a service binding, both under one real `wrangler dev`
// (multi-config): `createClient({ binding: env.GCL })` in the caller, RPC between them, no HTTP.
// The test speaks only to the caller, so everything it sees went through the binding.
import { afterAll, beforeAll, describe, it } from "vitest";
import { startCallerAndGcl, type TwoWorkers } from "../helpers/two-workers";

let workers: TwoWorkers;

beforeAll(async () => {
  workers = await startCallerAndGcl();
}, 60_000);

afterAll(async () => {
  await workers?.stop();
});

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field; a wrong read fails the test
async function caller(path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(workers.url + path);
  return { status: response.status, body: await response.json() };
}

describe("a caller Worker with createClient({ binding })", () => {
  it("creates a limit over RPC", async ({ expect }) => {
    const created = await caller("/create?name=db&limit=1");
    expect(created).toMatchObject({ status: 200, body: { name: "db", limit: 1, active_slots: 0 } });
    expect(await caller("/create?name=db&limit=1")).toMatchObject({ status: 409, body: { code: "already_exists" } });
  });

  it("holds a slot inside `await using` and gives it back when the scope ends", async ({ expect }) => {
    const { status, body } = await caller("/hold?name=db");
    expect(status).toBe(200);
    expect(body).toMatchObject({ inside: 1, after: 0, leases: 0 });
    expect(typeof body.leaseId).toBe("string");
    // Again: nothing was left behind by the first scope.
    expect((await caller("/hold?name=db")).body).toMatchObject({ inside: 1, after: 0 });
  });

  it("waits for a held slot and times out with AcquireTimeoutError, then frees both", async ({ expect }) => {
    const { body } = await caller("/busy?name=db");
    expect(body.error).toBe("AcquireTimeoutError");
    expect((await caller("/get?name=db")).body).toMatchObject({ active_slots: 0 });
  });

  it("answers the same error codes as HTTP", async ({ expect }) => {
    expect(await caller("/get?name=nope")).toMatchObject({
      status: 404,
      body: { code: "not_found", detail: "Concurrency Limit not found" },
    });
  });
});
