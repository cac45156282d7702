/**
 * The dashboard route: `GET /` serves one self-contained HTML page: `page.html` (markup and
 * inline CSS) with the bundled script of `app/` (built by scripts/build-dashboard.mjs into
 * `generated/bundle.ts`) inlined into its one module element. The page needs no auth: it holds no
 * data, and asks the API with the token the user gives it.
 */

import type { App } from "../routes/define";
import { DASHBOARD_SCRIPT } from "./generated/bundle";
import template from "./page.html";

const SCRIPT_SLOT = '<script type="module"></script>';

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** The page with its script in place; the template is ours, so a missing slot is a bug. */
function buildPage(): string {
  if (!template.includes(SCRIPT_SLOT)) {
    throw new Error("dashboard page has no empty module script element to fill");
  }
  return template.replace(SCRIPT_SLOT, () => `<script type="module">${DASHBOARD_SCRIPT}</script>`);
}

const page = buildPage();

/** The text of the page's only `<tag …>…</tag>` element. */
function inlineBlock(tag: "script" | "style"): string {
  const match = page.match(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`));
  if (match?.[1] === undefined) {
    throw new Error(`dashboard page has no inline <${tag}>`);
  }
  return match[1];
}

let headers: Promise<Record<string, string>> | undefined;

/**
 * Response headers, computed once per isolate. The CSP allows exactly the page's own inline
 * `<style>` and `<script>` (by hash) and fetches to this origin only: the page keeps a bearer
 * token, so no injected or third-party script may run beside it.
 */
function pageHeaders(): Promise<Record<string, string>> {
  headers ??= Promise.all([sha256Base64(inlineBlock("script")), sha256Base64(inlineBlock("style"))]).then(
    ([scriptHash, styleHash]) => ({
      "Content-Type": "text/html; charset=utf-8",
      // Always revalidate: a deploy must not leave an old page talking to a new API.
      "Cache-Control": "no-cache",
      "Content-Security-Policy": [
        "default-src 'none'",
        `script-src 'sha256-${scriptHash}'`,
        `style-src 'sha256-${styleHash}'`,
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ].join("; "),
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    }),
  );
  return headers;
}

export function dashboardRoutes(app: App): void {
  app.get("/", async () => new Response(page, { headers: await pageHeaders() }));
}
