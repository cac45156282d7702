/**
 * Runs edge-gcl and the caller Worker of `test/fixtures/caller-worker` in one `wrangler dev`
 * (multi-config: the first config is served, the second is reachable only through the first's
 * service binding), in its own process group on a free loopback port. Node-side only.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnWorker } from "./worker-process";

export interface TwoWorkers {
  /** The caller Worker's base URL. */
  url: string;
  stop(): Promise<void>;
}

export async function startCallerAndGcl(): Promise<TwoWorkers> {
  const state = await mkdtemp(join(tmpdir(), "edge-gcl-two-workers-"));
  const worker = await spawnWorker({
    port: await freePort(),
    persistTo: state,
    configs: ["test/fixtures/caller-worker/wrangler.toml", "wrangler.toml"],
    readyPath: "/",
  }).catch(async (error: unknown) => {
    await rm(state, { recursive: true, force: true });
    throw error;
  });
  return {
    url: worker.url,
    async stop() {
      await worker.stop();
      await rm(state, { recursive: true, force: true });
    },
  };
}
