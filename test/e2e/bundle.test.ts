/**
 * The deployed Worker stays small (DESIGN §7.6): everything `wrangler deploy --dry-run --minify`
 * would upload (the script and any other module, source maps aside) is at most 150 KiB, and the
 * script carries no validator or OpenAPI generator (the document is built at build time). A size,
 * not a timing: deterministic for a given tree.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, it } from "vitest";

const MAX_MINIFIED_BYTES = 150 * 1024;
const root = join(import.meta.dirname, "..", "..");
const outDir = mkdtempSync(join(tmpdir(), "gcl-bundle-"));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function build(): string {
  execFileSync(
    process.execPath,
    [
      join(root, "node_modules", "wrangler", "bin", "wrangler.js"),
      "deploy",
      "--dry-run",
      "--minify",
      "--outdir",
      outDir,
    ],
    {
      cwd: root,
      stdio: "pipe",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    },
  );
  return readFileSync(join(outDir, "index.js"), "utf8");
}

describe("the Worker bundle", () => {
  it(`is at most ${MAX_MINIFIED_BYTES / 1024} KiB minified, with no zod and no run-time OpenAPI generation`, ({
    expect,
  }) => {
    const script = build();
    const modules = readdirSync(outDir).filter((file) => !file.endsWith(".map") && file !== "README.md");
    const bytes = modules.reduce((sum, file) => sum + statSync(join(outDir, file)).size, 0);
    console.log(`bundle: ${modules.join(", ")}: ${bytes} bytes minified, script ${gzipSync(script).length} bytes gzip`);
    expect(bytes).toBeLessThanOrEqual(MAX_MINIFIED_BYTES);
    expect(script).not.toMatch(/ZodError|zod-openapi|OpenAPIRegistry/);
    // The served document is in the bundle as data.
    expect(script).toContain("IncrementWithLease");
  });
});
