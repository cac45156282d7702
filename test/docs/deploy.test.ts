/**
 * docs/deploy.md, checked where it can be without a Cloudflare account: its custom-domain lines,
 * put into a copy of wrangler.toml as the guide says (top level, before the first section), make
 * a configuration that `wrangler deploy --dry-run` bundles offline with no login, and the secret
 * names it sets are the ones the Worker reads.
 */

import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
let guide: string;
let dir: string;

beforeAll(async () => {
  guide = await readFile(join(root, "docs", "deploy.md"), "utf8");
  dir = await mkdtemp(join(tmpdir(), "edge-gcl-deploy-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("docs/deploy.md", () => {
  it("has a custom-domain configuration that wrangler deploy --dry-run accepts, offline", { timeout: 120_000 }, async ({
    expect,
  }) => {
    const toml = [...guide.matchAll(/```toml\n([\s\S]*?)```/g)]
      .map((match) => match[1] ?? "")
      .find((block) => block.includes("custom_domain"));
    expect(toml).toBeDefined();
    const config = await readFile(join(root, "wrangler.toml"), "utf8");
    const firstSection = config.search(/^\[/m);
    await cp(join(root, "src"), join(dir, "src"), { recursive: true });
    // wrangler.toml's [build] bundles the dashboard with this script before every deploy.
    await cp(join(root, "scripts"), join(dir, "scripts"), { recursive: true });
    await cp(join(root, "package.json"), join(dir, "package.json"));
    await cp(join(root, "tsconfig.json"), join(dir, "tsconfig.json"));
    await symlink(join(root, "node_modules"), join(dir, "node_modules"), "dir");
    await writeFile(
      join(dir, "wrangler.toml"),
      `${config.slice(0, firstSection)}${toml}\n${config.slice(firstSection)}`,
    );
    const wrangler = join(root, "node_modules", ".bin", "wrangler");

    const { stdout, stderr } = await run(wrangler, ["deploy", "--dry-run", "--outdir", join(dir, "bundle")], {
      cwd: dir,
      env: {
        ...process.env,
        HOME: dir,
        XDG_CONFIG_HOME: join(dir, ".config"),
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
      },
      timeout: 120_000,
    });

    expect(stdout).toContain("--dry-run: exiting now.");
    expect(stdout).toContain("env.LIMITS (LimitObject)");
    // Lines in the wrong place (e.g. after [dev]) are only a warning: "Unexpected fields found in dev field".
    expect(`${stdout}${stderr}`).not.toContain("WARNING");
  });

  it("sets the two secrets the Worker reads, and never pipes a token with a trailing newline", ({ expect }) => {
    const puts = [...guide.matchAll(/wrangler secret put (\w+)/g)].map((match) => match[1]);

    expect(new Set(puts)).toEqual(new Set(["GCL_ADMIN_TOKEN", "GCL_CLIENT_TOKEN"]));
    for (const line of guide.split("\n").filter((text) => /openssl rand .*>/.test(text))) {
      expect(line).toContain("tr -d '\\n'");
    }
  });
});
