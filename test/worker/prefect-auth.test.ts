/**
 * `Authorization: Basic` as Prefect's `PREFECT_API_AUTH_STRING` sends it: accepted when the
 * password, or the whole `user:password`, is a configured token; compared in constant time.
 */

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it, vi } from "vitest";
import Worker from "../../src/index";
import { API, uniqueName } from "../helpers/api";

const ADMIN = "admin-secret";
const CLIENT = "client-secret";
const both = { GCL_ADMIN_TOKEN: ADMIN, GCL_CLIENT_TOKEN: CLIENT };

/** Base64 of `text` as Python's `base64.b64encode(text.encode("utf-8"))` makes it. */
function basic(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

async function call(method: string, path: string, authorization: string | null, body?: unknown) {
  const ctx = createExecutionContext();
  const request = new Request(API + path, {
    method,
    headers: authorization === null ? {} : { Authorization: authorization },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const response = await new Worker(ctx, { ...env, GCL_ALLOW_ANONYMOUS: undefined, ...both }).fetch(request);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as { code?: string; detail?: string }) : null };
}

describe("Basic auth (PREFECT_API_AUTH_STRING)", () => {
  it("gives the admin everything when the password is the admin token", async ({ expect }) => {
    const name = uniqueName();
    const auth = basic(`admin:${ADMIN}`);
    expect((await call("POST", "/", auth, { name, limit: 1 })).status).toBe(201);
    expect((await call("GET", `/${name}/leases`, auth)).status).toBe(200);
    expect((await call("DELETE", `/${name}`, auth)).status).toBe(204);
  });

  it("accepts the whole user:password as the token, and a token with no colon at all", async ({ expect }) => {
    const withColon = "prefect:pa:ss";
    const ctx = createExecutionContext();
    const request = new Request(`${API}/filter`, {
      method: "POST",
      headers: { Authorization: basic(withColon) },
      body: "{}",
    });
    const response = await new Worker(ctx, {
      ...env,
      GCL_ALLOW_ANONYMOUS: undefined,
      GCL_ADMIN_TOKEN: withColon,
    }).fetch(request);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(200);
    expect((await call("POST", "/filter", basic(CLIENT), {})).status).toBe(200);
  });

  it("gives the client token the client routes only (403 on admin routes)", async ({ expect }) => {
    const auth = basic(`anyone:${CLIENT}`);
    expect((await call("POST", "/filter", auth, {})).status).toBe(200);
    expect((await call("POST", "/increment", auth, { names: [uniqueName()], slots: 1 })).status).toBe(200);
    const create = await call("POST", "/", auth, { name: uniqueName(), limit: 1 });
    expect(create.status).toBe(403);
    expect(create.body?.code).toBe("forbidden");
  });

  it("answers 401 to a wrong password, a token given as the user name, or an empty one", async ({ expect }) => {
    for (const auth of [basic("admin:wrong"), basic(`${ADMIN}:`), basic(`${ADMIN}x`), basic(":"), basic("")]) {
      const response = await call("POST", "/filter", auth, {});
      expect(response.status, auth).toBe(401);
      expect(response.body?.code).toBe("unauthorized");
    }
  });

  it("answers 401 with a clear message to malformed Basic credentials, never a 500", async ({ expect }) => {
    const malformed = ["Basic", "Basic !!!!", "Basic YWRtaW4", "Basic =abc", "Basic /w==", "Basic YQ== extra"];
    for (const auth of malformed) {
      const response = await call("POST", "/filter", auth, {});
      expect(response.status, auth).toBe(401);
      expect(response.body?.code).toBe("unauthorized");
    }
    // `/w==` is the byte 0xff: valid base64, not UTF-8.
    expect((await call("POST", "/filter", "Basic /w==", {})).body?.detail).toMatch(/^malformed Basic credentials/);
    expect((await call("POST", "/filter", basic("admin:nope"), {})).body?.detail).toMatch(/^invalid Basic credentials/);
  });

  it("keeps Bearer working beside it, and reads the scheme case-insensitively", async ({ expect }) => {
    expect((await call("POST", "/filter", `Bearer ${CLIENT}`, {})).status).toBe(200);
    expect((await call("POST", "/filter", basic(`u:${CLIENT}`).replace("Basic", "basic"), {})).status).toBe(200);
  });

  it("compares both shapes against both tokens in constant time, match or not", async ({ expect }) => {
    const compare = vi.spyOn(crypto.subtle, "timingSafeEqual");
    await call("POST", "/filter", basic("admin:wrong"), {});
    // Password and whole string, each against the admin and the client token.
    expect(compare).toHaveBeenCalledTimes(4);
    for (const [given, expected] of compare.mock.calls) {
      expect((given as ArrayBuffer).byteLength).toBe(32);
      expect((expected as ArrayBuffer).byteLength).toBe(32);
    }
    compare.mockClear();
    await call("POST", "/filter", basic(`admin:${ADMIN}`), {});
    expect(compare).toHaveBeenCalledTimes(4);
  });
});
