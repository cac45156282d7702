/**
 * Starts the real Worker on workerd, on a free loopback port, for tests that need a real HTTP
 * server (browser, CLI). Node-side only: used by the `e2e` vitest project.
 */

import { afterAll, beforeAll } from "vitest";
import { unstable_startWorker } from "wrangler";

export interface LocalWorker {
  /** Base URL, e.g. `http://127.0.0.1:49152`. */
  url: string;
  stop(): Promise<void>;
}

export async function startLocalWorker(
  vars: Record<string, string> = { GCL_ALLOW_ANONYMOUS: "true" },
): Promise<LocalWorker> {
  const worker = await unstable_startWorker({
    config: "wrangler.toml",
    bindings: Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text", value }])),
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, persist: false },
  });
  const url = (await worker.url).toString().replace(/\/$/, "");
  return { url, stop: () => worker.dispose() };
}

/**
 * Starts the Worker (with `vars`) before the tests of the calling file, or describe block, and
 * stops it after them. Read `url` inside tests and later hooks.
 */
export function useLocalWorker(vars?: Record<string, string>): { readonly url: string } {
  let worker: LocalWorker | undefined;
  beforeAll(async () => {
    worker = await startLocalWorker(vars);
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
  });
  return {
    get url() {
      if (worker === undefined) {
        throw new Error("the Worker is not started yet: read its url inside a test or a later hook");
      }
      return worker.url;
    },
  };
}
