/**
 * The dashboard page as the Worker serves it at `/`: HTML, no auth on the page itself, and a CSP
 * that admits exactly the page's own inline script and style. The browser test in
 * `test/e2e/dashboard.test.ts` drives the page itself.
 */

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import Worker from "../../src/index";

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

describe("GET /", () => {
  it("serves the dashboard page as HTML", async ({ expect }) => {
    const response = await exports.default.fetch("http://gcl.test/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-cache");
    const html = await response.text();
    expect(html).toContain("<title>edge-gcl dashboard</title>");
  });

  it("serves the page without a token even when tokens are configured", async ({ expect }) => {
    const ctx = createExecutionContext();
    const secrets = {
      GCL_ADMIN_TOKEN: "admin-secret",
      GCL_CLIENT_TOKEN: "client-secret",
      GCL_ALLOW_ANONYMOUS: undefined,
    };
    const response = await new Worker(ctx, { ...env, ...secrets }).fetch(new Request("http://gcl.test/"));
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("<title>edge-gcl dashboard</title>");
  });

  it("allows only the page's own inline script and style, and fetches to its own origin", async ({ expect }) => {
    const response = await exports.default.fetch("http://gcl.test/");
    const html = await response.text();
    const csp = response.headers.get("content-security-policy") ?? "";
    const script = html.match(/<script[^>]*>([\s\S]*?)<\/script>/)?.[1] ?? "";
    const style = html.match(/<style[^>]*>([\s\S]*?)<\/style>/)?.[1] ?? "";
    expect(csp).toContain(`script-src 'sha256-${await sha256Base64(script)}'`);
    expect(csp).toContain(`style-src 'sha256-${await sha256Base64(style)}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html.match(/<style/g)).toHaveLength(1);
  });

  it("still answers the API's JSON 404 for other paths outside the API", async ({ expect }) => {
    const response = await exports.default.fetch("http://gcl.test/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: "route_not_found" });
  });
});

describe("GET / with Accept-Encoding: gzip", () => {
  it("sends the page as built, gzipped, and the same page to a client without gzip", async ({ expect }) => {
    const zipped = await exports.default.fetch("http://gcl.test/", { headers: { "Accept-Encoding": "gzip, br" } });
    expect(zipped.headers.get("content-encoding")).toBe("gzip");
    expect(zipped.headers.get("vary")).toBe("Accept-Encoding");
    const plain = await exports.default.fetch("http://gcl.test/");
    expect(plain.headers.get("content-encoding")).toBeNull();
    // The runtime inflates a gzip body for whoever reads it in-process, as a browser does.
    expect(await zipped.text()).toBe(await plain.text());
  });
});
