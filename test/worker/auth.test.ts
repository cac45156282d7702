import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it, vi } from "vitest";
import Worker from "../../src/index";
import { API, uniqueName } from "../helpers/api";

const ADMIN = "admin-secret";
const CLIENT = "client-secret";

/** Calls the real Worker with the given secrets instead of the test config's anonymous access. */
async function call(method: string, path: string, token: string | null, secrets: Partial<Env>, body?: unknown) {
  const ctx = createExecutionContext();
  const request = new Request(API + path, {
    method,
    headers: token === null ? {} : { Authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const response = await new Worker(ctx, { ...env, GCL_ALLOW_ANONYMOUS: undefined, ...secrets }).fetch(request);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as { code?: string; detail?: string }) : null };
}

const both = { GCL_ADMIN_TOKEN: ADMIN, GCL_CLIENT_TOKEN: CLIENT };

const clientRoutes: [string, string, unknown][] = [
  ["GET", "/some-limit", undefined],
  ["POST", "/filter", {}],
  ["POST", "/increment", { names: ["x"], slots: 1 }],
  ["POST", "/increment-with-lease", { names: ["x"], slots: 1 }],
  ["POST", "/decrement", { names: ["x"], slots: 1 }],
  ["POST", "/decrement-with-lease", { lease_id: "x" }],
  ["POST", "/leases/x/renew", {}],
  ["POST", "/cancel", { names: ["x"], request_id: "r1" }],
];
const adminRoutes: [string, string, unknown][] = [
  ["POST", "/", { name: "x", limit: 1 }],
  ["PATCH", "/some-limit", { limit: 2 }],
  ["DELETE", "/some-limit", undefined],
  ["GET", "/some-limit/leases", undefined],
];

describe("auth", () => {
  it.for([...clientRoutes, ...adminRoutes])(
    "answers 401 to %s %s without a token or with a wrong one",
    async ([method, path, body], { expect }) => {
      for (const token of [null, "wrong", `${ADMIN}x`, ""]) {
        const response = await call(method, path, token, both, body);
        expect(response.status).toBe(401);
        expect(response.body?.code).toBe("unauthorized");
      }
    },
  );

  it.for(adminRoutes)(
    "answers 403 to the client token on admin route %s %s",
    async ([method, path, body], { expect }) => {
      const response = await call(method, path, CLIENT, both, body);
      expect(response.status).toBe(403);
      expect(response.body?.code).toBe("forbidden");
    },
  );

  it.for(clientRoutes)("lets the client token through on %s %s", async ([method, path, body], { expect }) => {
    const response = await call(method, path, CLIENT, both, body);
    expect([200, 204, 404, 410, 422]).toContain(response.status);
  });

  it("lets the admin token do everything", async ({ expect }) => {
    const name = uniqueName();
    expect((await call("POST", "/", ADMIN, both, { name, limit: 1 })).status).toBe(201);
    expect((await call("GET", `/${name}/leases`, ADMIN, both)).status).toBe(200);
    expect((await call("DELETE", `/${name}`, ADMIN, both)).status).toBe(204);
  });

  it("works with only an admin token configured", async ({ expect }) => {
    expect((await call("POST", "/filter", ADMIN, { GCL_ADMIN_TOKEN: ADMIN }, {})).status).toBe(200);
    expect((await call("POST", "/filter", CLIENT, { GCL_ADMIN_TOKEN: ADMIN }, {})).status).toBe(401);
  });

  it("answers 503 to every API call when no token is configured and anonymous access is off", async ({ expect }) => {
    for (const [method, path, body] of [...clientRoutes, ...adminRoutes]) {
      const response = await call(method, path, null, {}, body);
      expect(response.status).toBe(503);
      expect(response.body?.detail).toMatch(/^auth is not configured/);
    }
  });

  it("keeps /healthz public", async ({ expect }) => {
    const ctx = createExecutionContext();
    const response = await new Worker(ctx, { ...env, ...both }).fetch(new Request("http://gcl.test/healthz"));
    expect(response.status).toBe(200);
  });
});

describe("token comparison", () => {
  it("compares tokens with crypto.subtle.timingSafeEqual, never with ===", async ({ expect }) => {
    const compare = vi.spyOn(crypto.subtle, "timingSafeEqual");
    await call("POST", "/filter", `${CLIENT}-wrong`, both, {});
    // Both configured tokens are compared against the digest of the one given, match or not.
    expect(compare).toHaveBeenCalledTimes(2);
    for (const [given, expected] of compare.mock.calls) {
      expect((given as ArrayBuffer).byteLength).toBe(32);
      expect((expected as ArrayBuffer).byteLength).toBe(32);
    }
  });
});
