// The `gcl` command line as an operator gets it: `npm run build`'s output, started through the
// package's `bin` entry (`npx gcl`) and through its own shebang, as real processes talking to the
// real Worker over HTTP, with real signals. Builds into a temporary copy of the package (its
// `node_modules` linked to this one's, for commander), so it never depends on a stale `dist/`.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import { createClient, type GclClient } from "../../src/client";
import { type LocalWorker, startLocalWorker } from "../helpers/local-worker";
import { firstLine } from "../helpers/memory-io";

const execute = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

let worker: LocalWorker;
let client: GclClient;
let packageDir: string;
let bin: string;

beforeAll(async () => {
  const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as Record<string, unknown>;
  packageDir = await mkdtemp(join(tmpdir(), "edge-gcl-cli-"));
  const { name, type, exports, bin: bins } = manifest;
  await writeFile(join(packageDir, "package.json"), JSON.stringify({ name, type, exports, bin: bins }, null, 2));
  await symlink(join(root, "node_modules"), join(packageDir, "node_modules"), "dir");
  const [started] = await Promise.all([
    startLocalWorker(),
    execute(process.execPath, [join(root, "scripts/build.mjs"), "--outdir", join(packageDir, "dist")], { cwd: root }),
  ]);
  worker = started;
  client = createClient({ url: worker.url });
  bin = join(packageDir, "dist", "cli", "bin.js");
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  if (packageDir) {
    await rm(packageDir, { recursive: true, force: true });
  }
});

/** Resolves with the exit code of a process; gcl itself never dies of a signal, it exits. */
function exitCode(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? `killed by ${signal}`));
  });
}

/** Starts the built `gcl` by its shebang, pointed at the test Worker. */
function gcl(args: string[]): ChildProcess {
  return spawn(bin, args, { env: { ...process.env, GCL_URL: worker.url }, stdio: "pipe" });
}

describe("the built gcl", () => {
  it("runs as `npx gcl` through the package's bin entry", async ({ expect }) => {
    // npm_config_yes=false: should the local bin not resolve, fail rather than fetch "gcl" from the registry.
    const { stdout } = await execute("npx", ["gcl", "--help"], {
      cwd: packageDir,
      env: { ...process.env, npm_config_yes: "false" },
      timeout: 60_000,
    });

    expect(stdout).toContain("Usage: gcl [options] [command]");
    expect(stdout).toContain("rate-limit");
  });

  it("manages limits from a real process, with the exit codes of the issue", async ({ expect }) => {
    const name = `cli-bin-${Date.now()}`;

    const created = await exitCode(gcl(["create", name, "--limit", "1"]));
    const missing = await exitCode(gcl(["inspect", `${name}-missing`]));
    const usage = await exitCode(gcl(["create", name]));

    expect([created, missing, usage]).toEqual([0, 1, 2]);
    expect((await client.limits.get(name)).limit).toBe(1);
  });

  it("exits with the wrapped command's code and releases its slots", async ({ expect }) => {
    const name = `cli-bin-run-${Date.now()}`;
    await client.limits.create({ name, limit: 1 });

    const code = await exitCode(gcl(["run", name, "--", process.execPath, "-e", "process.exit(4)"]));

    expect(code).toBe(4);
    expect((await client.limits.get(name)).active_slots).toBe(0);
  });

  it("passes a real SIGINT on to the command, exits 130 and releases the slots", async ({ expect }) => {
    const name = `cli-bin-sigint-${Date.now()}`;
    await client.limits.create({ name, limit: 1 });
    const script = `process.stdout.write("ready\\n"); setInterval(() => {}, 1000);`;
    const running = gcl(["run", name, "--", process.execPath, "-e", script]);
    const ended = exitCode(running);
    // The command inherits gcl's stdout: its "ready" means the slot is held and it runs.
    await firstLine(running);
    const held = (await client.limits.get(name)).active_slots;

    running.kill("SIGINT");

    expect(await ended).toBe(130);
    expect(held).toBe(1);
    expect((await client.limits.get(name)).active_slots).toBe(0);
  });
});
