/**
 * The production bundle and its cold start. `bundle`: `wrangler deploy --dry-run --minify` of
 * ../wrangler.toml, its bytes and gzip bytes. `coldStart`: a fresh workerd (a new Miniflare) on
 * that bundle, timed from `new Miniflare()` to the first 200 on `/healthz`, and, on a state where
 * a limit already exists, to the first grant of `/increment-with-lease` (the isolate, the app,
 * the limit object and its SQLite all start on that first request). Medians of `runs` starts.
 */

import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { post, sleep } from "./http.ts";
import { percentile } from "./stats.ts";
import { build, bundleModules, GCL_RUNTIME, loadMiniflare, rootDir } from "./worker-host.ts";

export interface BundleFigures {
  minified_bytes: number;
  gzip_bytes: number;
  command: string;
}

export interface ColdStartFigures {
  healthz_ms: number | null;
  first_grant_ms: number | null;
  runs: number;
  healthz_ms_each: number[];
  first_grant_ms_each: number[];
  /** The same, from Miniflare reporting workerd ready (script loaded) to the answer. */
  healthz_after_ready_ms: number | null;
  first_grant_after_ready_ms: number | null;
}

/** What wrangler uploads: every module, not source maps or its README. */
async function uploadedFiles(outdir: string): Promise<string[]> {
  return (await readdir(outdir)).filter((file) => !file.endsWith(".map") && file !== "README.md").sort();
}

/** Builds the production Worker minified into `outdir`; its figures. */
async function buildProduction(outdir: string): Promise<BundleFigures> {
  await build(outdir, join(rootDir, "wrangler.toml"), ["--minify"]);
  let minified = 0;
  let gzip = 0;
  for (const file of await uploadedFiles(outdir)) {
    const bytes = await readFile(join(outdir, file));
    minified += (await stat(join(outdir, file))).size;
    gzip += gzipSync(bytes).length;
  }
  return { minified_bytes: minified, gzip_bytes: gzip, command: "wrangler deploy --dry-run --minify (wrangler.toml)" };
}

async function startProduction(outdir: string, persist: string) {
  const miniflare = await loadMiniflare();
  const mf = new miniflare.Miniflare(
    miniflare.convertV4MiniflareOptions({
      modules: await bundleModules(outdir, "index.js"),
      modulesRoot: outdir,
      ...GCL_RUNTIME,
      resourcePersistencePath: persist,
      cf: false,
      host: "127.0.0.1",
      port: 0,
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    }),
  );
  await mf.ready;
  const url = (await mf.unsafeGetDirectURL()).href.replace(/\/$/, "");
  return { url, readyAt: performance.now(), stop: () => mf.dispose() };
}

/** Retries `attempt` every 2 ms until it is true; the time it took from `since`. */
async function until(since: number, attempt: () => Promise<boolean>): Promise<number> {
  for (let i = 0; i < 5_000; i++) {
    if (await attempt().catch(() => false)) {
      return performance.now() - since;
    }
    await sleep(2);
  }
  throw new Error("no answer within 10 s of start");
}

export async function bundleAndColdStart(
  runs: number,
): Promise<{ bundle: BundleFigures; coldStart: ColdStartFigures }> {
  const outdir = await mkdtemp(join(tmpdir(), "edge-gcl-bench-prod-"));
  const persist = await mkdtemp(join(tmpdir(), "edge-gcl-bench-prod-state-"));
  try {
    const bundle = await buildProduction(outdir);
    const name = "bench-cold";
    const acquire = (url: string) =>
      post(`${url}/api/v2/concurrency_limits/increment-with-lease`, { names: [name], slots: 1, lease_duration: 1 });
    // The limit exists before any timed start, so a first grant needs no create.
    const setup = await startProduction(outdir, persist);
    await post(`${setup.url}/api/v2/concurrency_limits/`, { name, limit: 1000 });
    await setup.stop();

    const healthz: number[] = [];
    const grants: number[] = [];
    const healthzAfterReady: number[] = [];
    const grantsAfterReady: number[] = [];
    for (let run = 0; run < runs; run++) {
      for (const kind of ["healthz", "grant"] as const) {
        const t0 = performance.now();
        const worker = await startProduction(outdir, persist);
        try {
          const [total, afterReady] = kind === "healthz" ? [healthz, healthzAfterReady] : [grants, grantsAfterReady];
          const ok =
            kind === "healthz"
              ? async () => (await fetch(`${worker.url}/healthz`)).status === 200
              : async () => (await acquire(worker.url)).status === 200;
          const ms = await until(t0, ok);
          total.push(ms);
          afterReady.push(t0 + ms - worker.readyAt);
        } finally {
          await worker.stop();
        }
      }
    }
    const median = (values: number[]) =>
      percentile(
        [...values].sort((a, b) => a - b),
        50,
      );
    return {
      bundle,
      coldStart: {
        healthz_ms: median(healthz),
        first_grant_ms: median(grants),
        runs,
        healthz_ms_each: healthz,
        first_grant_ms_each: grants,
        healthz_after_ready_ms: median(healthzAfterReady),
        first_grant_after_ready_ms: median(grantsAfterReady),
      },
    };
  } finally {
    await Promise.all([rm(outdir, { recursive: true, force: true }), rm(persist, { recursive: true, force: true })]);
  }
}
