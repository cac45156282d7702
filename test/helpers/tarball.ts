/**
 * The package as a user gets it: `npm pack`'s tarball of a fresh build, installed into an empty
 * project with `npm install --offline` (nothing may come from a registry). The build and the pack
 * run in a staging copy (package.json, README, LICENSE, docs, a fresh dist/), so tests never touch
 * this repository's own dist/ and can run side by side. Node-side only (e2e project).
 */

import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface InstalledPackage {
  /** The consumer project: package.json, node_modules/edge-gcl, node_modules/.bin/{edge-gcl,gcl}. */
  project: string;
  /** The installed package, `<project>/node_modules/edge-gcl`. */
  installed: string;
  /** The paths inside the tarball, as `npm pack` listed them. */
  packed: string[];
  /** What `npm install` printed (warnings included). */
  installOutput: string;
  remove(): Promise<void>;
}

/** `npm` with telemetry-free, prompt-free settings; resolves with stdout + stderr. */
async function npm(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return run("npm", args, {
    cwd,
    env: {
      ...process.env,
      npm_config_yes: "false",
      npm_config_update_notifier: "false",
      npm_config_fund: "false",
      npm_config_audit: "false",
    },
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

export async function packAndInstall(): Promise<InstalledPackage> {
  const base = await mkdtemp(join(tmpdir(), "edge-gcl-tarball-"));
  const stage = join(base, "stage");
  const project = join(base, "consumer");
  await mkdir(stage);
  await mkdir(project);
  for (const entry of ["package.json", "README.md", "LICENSE", "docs"]) {
    await cp(join(root, entry), join(stage, entry), { recursive: true });
  }
  await run(process.execPath, [join(root, "scripts/build.mjs"), "--outdir", join(stage, "dist")], { cwd: root });
  // --ignore-scripts: prepack would build again, from a staging copy that has no sources.
  const packedJson = await npm(["pack", "--json", "--ignore-scripts", "--pack-destination", base], stage);
  const [tarball] = JSON.parse(packedJson.stdout) as { filename: string; files: { path: string }[] }[];
  if (tarball === undefined) {
    throw new Error(`npm pack printed no tarball: ${packedJson.stdout}`);
  }
  await writeFile(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2),
  );
  const install = await npm(["install", "--offline", join(base, tarball.filename)], project);
  return {
    project,
    installed: join(project, "node_modules", "edge-gcl"),
    packed: tarball.files.map((file) => file.path),
    installOutput: install.stdout + install.stderr,
    remove: () => rm(base, { recursive: true, force: true }),
  };
}

/** A `node` on PATH outside any node_modules (the machine's own, e.g. Node 20), if there is one. */
export async function systemNode(): Promise<{ path: string; major: number } | undefined> {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir === "" || dir.includes("node_modules")) {
      continue;
    }
    const path = join(dir, "node");
    try {
      const { stdout } = await run(path, ["--version"]);
      return { path, major: Number(/^v(\d+)/.exec(stdout.trim())?.[1] ?? Number.NaN) };
    } catch {
      // Not here.
    }
  }
  return undefined;
}
