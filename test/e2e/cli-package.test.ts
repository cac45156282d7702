// The command line as an operator gets it: `npm pack`'s tarball installed offline into an empty
// project, started as `npx edge-gcl` and `npx gcl` (the package's two `bin` names) and through
// node_modules/.bin/gcl's shebang, as real processes talking to the real Worker over HTTP, with
// real signals. The install holds nothing but edge-gcl: the bundle must run on its own.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import { createClient, type GclClient } from "../../src/client";
import { type LocalWorker, startLocalWorker } from "../helpers/local-worker";
import { firstLine } from "../helpers/memory-io";
import { type InstalledPackage, packAndInstall, systemNode } from "../helpers/tarball";

const execute = promisify(execFile);

let worker: LocalWorker;
let client: GclClient;
let pkg: InstalledPackage;
let packageDir: string;
let bin: string;
let otherNode: { path: string; major: number } | undefined;

beforeAll(async () => {
  [worker, pkg, otherNode] = await Promise.all([startLocalWorker(), packAndInstall(), systemNode()]);
  client = createClient({ url: worker.url });
  packageDir = pkg.project;
  bin = join(packageDir, "node_modules", ".bin", "gcl");
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await pkg?.remove();
});

/** `npx <args>` in the consumer project; never from the registry (offline, no install prompt). */
function npx(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execute("npx", ["--offline", ...args], {
    cwd: packageDir,
    env: { ...process.env, npm_config_yes: "false", GCL_URL: worker.url },
    timeout: 60_000,
  });
}

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

describe("the installed gcl", () => {
  it("runs as `npx edge-gcl` and `npx gcl`, and prints the package's version", async ({ expect }) => {
    const { version } = JSON.parse(await readFile(join(pkg.installed, "package.json"), "utf8")) as { version: string };

    const long = await npx(["edge-gcl", "--version"]);
    const short = await npx(["gcl", "--help"]);

    expect(long.stdout).toBe(`${version}\n`);
    expect(short.stdout).toContain("Usage: gcl [options] [command]");
    expect(short.stdout).toContain("rate-limit");
  });

  it("creates if missing with `npx edge-gcl ensure`, twice, and lists the limit as JSON", async ({ expect }) => {
    const name = `cli-bin-ensure-${Date.now()}`;

    await npx(["edge-gcl", "ensure", name, "--limit", "2"]);
    await npx(["edge-gcl", "ensure", name, "--limit", "2"]);
    const { stdout } = await npx(["edge-gcl", "ls", "--json"]);

    expect((JSON.parse(stdout) as { name: string; limit: number }[]).filter((limit) => limit.name === name)).toEqual([
      expect.objectContaining({ name, limit: 2 }),
    ]);
  });

  it("runs on the machine's own Node, when it has one (the package says Node >= 20)", async ({ expect, skip }) => {
    if (otherNode === undefined) {
      skip("no node on PATH outside node_modules");
      return;
    }
    const name = `cli-bin-node${otherNode.major}-${Date.now()}`;
    const script = join(pkg.installed, "dist", "cli", "bin.js");
    const options = { cwd: packageDir, env: { ...process.env, GCL_URL: worker.url }, timeout: 60_000 };
    const node = otherNode.path;

    await execute(node, [script, "ensure", name, "--limit", "1"], options);
    const ran = await execute(node, [script, "run", name, "--", node, "-e", "console.log(process.version)"], options);

    expect(otherNode.major).toBeGreaterThanOrEqual(20);
    expect(ran.stdout.trim()).toMatch(new RegExp(`^v${otherNode.major}\\.`));
    expect((await client.limits.get(name)).active_slots).toBe(0);
  });

  it("refuses a misspelled limit in `gcl run`: exit 1, the command never runs", async ({ expect }) => {
    const name = `cli-bin-typo-${Date.now()}`;
    const running = gcl(["run", name, "--", process.execPath, "-e", "process.stdout.write('ran')"]);
    let output = "";
    running.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });

    expect(await exitCode(running)).toBe(1);
    expect(output).toBe("");
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
