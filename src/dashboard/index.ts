/**
 * The dashboard route: `GET /` serves one self-contained HTML page (markup, inline CSS, and the
 * bundled script of `app/`), built and gzipped at build time by scripts/build-dashboard.mjs into
 * `generated/bundle.ts`, so the Worker ships a third of its size. A browser that accepts gzip (all
 * do) gets the stored bytes as they are; anything else gets them inflated. The page needs no auth:
 * it holds no data, and asks the API with the token the user gives it.
 */

import type { App } from "../routes/define";
import { DASHBOARD_PAGE_GZIP_BASE64, SCRIPT_SHA256, STYLE_SHA256 } from "./generated/bundle";

/**
 * The CSP allows exactly the page's own inline `<style>` and `<script>` (by hash) and fetches to
 * this origin only: the page keeps a bearer token, so no injected or third-party script may run
 * beside it.
 */
const HEADERS: Record<string, string> = {
  "Content-Type": "text/html; charset=utf-8",
  // Always revalidate: a deploy must not leave an old page talking to a new API.
  "Cache-Control": "no-cache",
  "Content-Security-Policy": [
    "default-src 'none'",
    `script-src 'sha256-${SCRIPT_SHA256}'`,
    `style-src 'sha256-${STYLE_SHA256}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  Vary: "Accept-Encoding",
};

let gzipped: Uint8Array | undefined;

/** The gzipped page, decoded once per isolate. */
function pageBytes(): Uint8Array {
  gzipped ??= Uint8Array.from(atob(DASHBOARD_PAGE_GZIP_BASE64), (char) => char.charCodeAt(0));
  return gzipped;
}

export function dashboardRoutes(app: App): void {
  app.get("/", (c) => {
    const bytes = pageBytes();
    if (/\bgzip\b/.test(c.req.header("accept-encoding") ?? "")) {
      // Already encoded: the runtime sends the bytes as they are, with this Content-Encoding.
      return new Response(bytes, { headers: { ...HEADERS, "Content-Encoding": "gzip" }, encodeBody: "manual" });
    }
    const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(inflated, { headers: HEADERS });
  });
}
