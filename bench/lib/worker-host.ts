/**
 * Builds the bench Worker (`bench/worker.ts`: the production app plus the floor route) and the
 * bench caller Worker (`bench/caller.ts`, a service binding to it) with `wrangler deploy
 * --dry-run`, and runs both bundles on one workerd through Miniflare with SQLite storage persisted
 * to a temporary directory. Requests go to direct sockets on the user Workers
 * (`unsafeDirectSockets`), which skip Miniflare's own entry Worker: the least overhead workerd
 * allows locally, and the same for the floor and the real routes.
 */

import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { childPids, cpuSeconds } from "./proc.ts";

const here = dirname(fileURLToPath(import.meta.url));
export const benchDir = dirname(here);
export const rootDir = dirname(benchDir);

const require = createRequire(import.meta.url);
/** Miniflare 5 is a prerelease: use the copy wrangler itself depends on. */
const wranglerRequire = createRequire(require.resolve("wrangler/package.json"));

/** Miniflare, as wrangler's own copy (see above). */
export async function loadMiniflare(): Promise<typeof import("miniflare")> {
  return (await import(wranglerRequire.resolve("miniflare"))) as typeof import("miniflare");
}

/** The edge-gcl Worker's runtime: keep in step with ../wrangler.toml (and bench/wrangler.bench.toml). */
export const GCL_RUNTIME = {
  compatibilityDate: "2026-10-20",
  compatibilityFlags: ["enable_request_signal"],
  durableObjects: {
    LIMITS: { className: "LimitObject", useSQLite: true },
    CATALOG: { className: "CatalogObject", useSQLite: true },
    LEASE_DIRECTORY: { className: "LeaseDirectory", useSQLite: true },
  },
  bindings: { GCL_ALLOW_ANONYMOUS: "true" },
};

export interface WorkerHost {
  /** Base URL of the Worker's direct socket, without a trailing slash. */
  url: string;
  /** Base URL of the caller Worker's direct socket (bench/caller.ts). */
  callerUrl: string;
  /** Where the bundle (and its source map) is, until `stop()`. */
  bundleDir: string;
  /** The same for the caller Worker's bundle. */
  callerBundleDir: string;
  /** The inspector's base URL, when asked for. */
  inspectorUrl?: string;
  versions: { wrangler: string; miniflare: string; workerd: string };
  /**
   * CPU time (user + system, all threads) the workerd process has used so far, in seconds; null
   * where /proc cannot tell (not Linux). Less sensitive than wall time to what else the machine runs.
   */
  cpuSeconds(): number | null;
  /** Bundle build time, Miniflare start time (ms). */
  timings: { buildMs: number; startMs: number };
  stop(): Promise<void>;
}

/** Module types by extension, as wrangler's default module rules give them. */
const MODULE_TYPES: Record<string, "ESModule" | "Text" | "Data" | "CompiledWasm"> = {
  js: "ESModule",
  mjs: "ESModule",
  html: "Text",
  txt: "Text",
  sql: "Text",
  bin: "Data",
  wasm: "CompiledWasm",
};

/** Every module wrangler wrote (the entry first), so imports of HTML, text or WASM resolve. */
export async function bundleModules(
  outdir: string,
  entry = "worker.js",
): Promise<{ type: "ESModule" | "Text" | "Data" | "CompiledWasm"; path: string }[]> {
  const modules = [{ type: "ESModule" as const, path: join(outdir, entry) }];
  for (const file of (await readdir(outdir)).sort()) {
    const type = MODULE_TYPES[file.split(".").pop() ?? ""];
    if (file !== entry && type !== undefined) {
      modules.push({ type, path: join(outdir, file) } as (typeof modules)[number]);
    }
  }
  return modules;
}

async function packageVersion(resolve: NodeJS.Require, name: string): Promise<string> {
  const path = resolve.resolve(`${name}/package.json`);
  return (JSON.parse(await readFile(path, "utf8")) as { version: string }).version;
}

/** Runs `wrangler deploy --dry-run` on Node 24 (this process's Node); rejects with its output. */
export function build(
  outdir: string,
  config = join(benchDir, "wrangler.bench.toml"),
  extra: string[] = [],
): Promise<void> {
  const wranglerBin = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [wranglerBin, "deploy", "--dry-run", "--config", config, "--outdir", outdir, ...extra],
      {
        cwd: rootDir,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`wrangler deploy --dry-run failed (exit ${code}):\n${output}`)),
    );
  });
}

export interface WorkerOptions {
  /** Opens workerd's inspector on this port (0: any free one); `WorkerHost.inspectorUrl` then says where. */
  inspectorPort?: number;
}

export async function startWorker(options: WorkerOptions = {}): Promise<WorkerHost> {
  const outdir = await mkdtemp(join(tmpdir(), "edge-gcl-bench-bundle-"));
  const callerOutdir = await mkdtemp(join(tmpdir(), "edge-gcl-bench-caller-"));
  const persist = await mkdtemp(join(tmpdir(), "edge-gcl-bench-state-"));
  const cleanup = () =>
    Promise.all([outdir, callerOutdir, persist].map((dir) => rm(dir, { recursive: true, force: true })));
  try {
    const buildStart = performance.now();
    await build(outdir);
    const buildMs = performance.now() - buildStart;
    await build(callerOutdir, join(benchDir, "wrangler.caller.toml"));

    const miniflare = await loadMiniflare();
    const startStart = performance.now();
    const mf = new miniflare.Miniflare(
      miniflare.convertV4MiniflareOptions({
        workers: [
          {
            name: "edge-gcl-bench",
            modules: await bundleModules(outdir),
            modulesRoot: outdir,
            ...GCL_RUNTIME,
            durableObjects: { ...GCL_RUNTIME.durableObjects, FLOOR: { className: "FloorObject", useSQLite: true } },
            unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
          },
          {
            name: "edge-gcl-bench-caller",
            modules: await bundleModules(callerOutdir, "caller.js"),
            modulesRoot: callerOutdir,
            compatibilityDate: GCL_RUNTIME.compatibilityDate,
            serviceBindings: { GCL: "edge-gcl-bench" },
            unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
          },
        ],
        durableObjectsPersist: persist,
        cf: false,
        host: "127.0.0.1",
        port: 0,
        ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
      }),
    );
    await mf.ready;
    const direct = await mf.unsafeGetDirectURL("edge-gcl-bench");
    const callerDirect = await mf.unsafeGetDirectURL("edge-gcl-bench-caller");
    const startMs = performance.now() - startStart;

    const versions = {
      wrangler: await packageVersion(require, "wrangler"),
      miniflare: await packageVersion(wranglerRequire, "miniflare"),
      workerd: await packageVersion(createRequire(wranglerRequire.resolve("miniflare")), "workerd"),
    };
    const pids = childPids("workerd");
    const inspectorUrl = options.inspectorPort === undefined ? undefined : (await mf.getInspectorURL()).href;
    return {
      url: direct.href.replace(/\/$/, ""),
      callerUrl: callerDirect.href.replace(/\/$/, ""),
      bundleDir: outdir,
      callerBundleDir: callerOutdir,
      ...(inspectorUrl === undefined ? {} : { inspectorUrl }),
      versions,
      timings: { buildMs, startMs },
      cpuSeconds: () => cpuSeconds(pids),
      stop: async () => {
        await mf.dispose();
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
