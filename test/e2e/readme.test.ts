/**
 * The README's runnable shell blocks, run as written with bash against a real local Worker:
 * Install (pack the clone, install the tarball into a new project offline), the curl
 * walk-through, and the CLI tour from that project. Only the Worker's address differs (a free
 * port instead of `npm run dev`'s 8787, through GCL_URL or by rewriting the walk-through's `B=`
 * line), and curl gets `--fail-with-body` so an HTTP error fails the block. Which blocks run is
 * read from the README's markers (test/docs/shell-blocks.ts), so a new block cannot be missed.
 */

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import { createClient } from "../../src/client";
import { shellBlocks } from "../docs/shell-blocks";
import { type LocalWorker, startLocalWorker } from "../helpers/local-worker";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MARKER = "runs in test/e2e/readme.test.ts";

let readme: string;
let workers: LocalWorker[] = [];
let base: string;

beforeAll(async () => {
  readme = await readFile(join(root, "README.md"), "utf8");
  base = await mkdtemp(join(tmpdir(), "edge-gcl-readme-"));
  // The Install block starts in the folder that holds the clone, named edge-gcl.
  await symlink(root, join(base, "edge-gcl"), "dir");
  workers = await Promise.all([startLocalWorker(), startLocalWorker()]);
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string };
  await rm(join(root, `edge-gcl-${version}.tgz`), { force: true });
  await rm(base, { recursive: true, force: true });
});

/** The runnable block whose text contains `key`. */
function block(key: string): string {
  const found = shellBlocks(readme).filter((candidate) => candidate.marker === MARKER && candidate.code.includes(key));
  if (found.length !== 1) {
    throw new Error(
      `expected one README block marked "${MARKER}" containing ${JSON.stringify(key)}, found ${found.length}`,
    );
  }
  return found[0]?.code ?? "";
}

/** Runs `code` with bash, stopping at the first failing command; curl fails on HTTP errors. */
async function bash(code: string, cwd: string, env: Record<string, string> = {}): Promise<string> {
  const script = `set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n${code}`;
  const { stdout } = await run("bash", ["-c", script], {
    cwd,
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
    env: {
      ...process.env,
      // Nothing may come from a registry: the tarball installs offline or not at all.
      npm_config_offline: "true",
      npm_config_yes: "false",
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_update_notifier: "false",
      ...env,
    },
  });
  return stdout;
}

const KEYS = {
  install: "npm pack",
  script: "node try.mjs",
  walkThrough: "B=http://127.0.0.1:8787",
  cli: "npx edge-gcl ensure db",
};

describe("the README", () => {
  it("marks exactly the blocks this file runs", ({ expect }) => {
    const marked = shellBlocks(readme).filter((candidate) => candidate.marker === MARKER);

    expect(marked).toHaveLength(Object.keys(KEYS).length);
    expect(Object.values(KEYS).map(block)).toHaveLength(marked.length);
  });

  it("Install, then the client script and the CLI tour from the new project, run as written", async ({ expect }) => {
    const [worker] = workers;
    const env = { GCL_URL: worker?.url ?? "" };
    const installed = await bash(block(KEYS.install), base);
    const script = await bash(block(KEYS.script), join(base, "my-app"), env);
    const tour = await bash(block(KEYS.cli), join(base, "my-app"), env);

    const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string };
    expect(installed.trim().split("\n").at(-1)).toBe(version);
    expect(JSON.parse(await readFile(join(base, "my-app", "package.json"), "utf8"))).toMatchObject({
      dependencies: { "edge-gcl": expect.stringContaining(`edge-gcl-${version}.tgz`) },
    });
    expect(script.trim().split("\n").sort()).toEqual([
      "report 1 done",
      "report 2 done",
      "report 3 done",
      "report 4 done",
    ]);
    expect(tour).toContain("this runs while it holds one of db's 5 slots");
    expect(tour).toContain("one call of at most 10 a second");
    expect(tour).toMatch(/"name": "db",\n\s+"limit": 5/);
    expect(tour.trim().split("\n").at(-1)).toBe(version);
  });

  it("Walk-through: every curl succeeds, the lease id is carried in $LEASE, and the slot comes back", async ({
    expect,
  }) => {
    const worker = workers[1];
    const url = worker?.url ?? "";
    const code = block(KEYS.walkThrough).replace("B=http://127.0.0.1:8787", `B=${url}`);

    const output = await bash(`${code}\necho; echo "LEASE=$LEASE"`, base);

    const lease = /^LEASE=(.+)$/m.exec(output)?.[1] ?? "";
    expect(lease.length).toBeGreaterThan(10);
    expect(output).toContain('"active_slots":1');
    expect(output).toContain('"active_slots":0');
    expect(output).toContain('"holder":{"type":"job","id":"nightly"}');
    // The last request of the block took a slot and kept it.
    expect((await createClient({ url }).limits.get("db")).active_slots).toBe(1);
  });
});
