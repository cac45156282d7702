/**
 * Runs edge-gcl and the caller Worker of `test/fixtures/caller-worker` in one `wrangler dev`
 * (multi-config: the first config is served, the second is reachable only through the first's
 * service binding), in its own process group on a free loopback port. Node-side only.
 */

import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./worker-process";

export interface TwoWorkers {
  /** The caller Worker's base URL. */
  url: string;
  stop(): Promise<void>;
}

export async function startCallerAndGcl(): Promise<TwoWorkers> {
  const root = join(import.meta.dirname, "..", "..");
  const port = await freePort();
  const state = await mkdtemp(join(tmpdir(), "edge-gcl-two-workers-"));
  const child = spawn(
    process.execPath,
    [
      join(root, "node_modules", "wrangler", "bin", "wrangler.js"),
      "dev",
      "-c",
      "test/fixtures/caller-worker/wrangler.toml",
      "-c",
      "wrangler.toml",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      state,
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
    ],
    {
      cwd: root,
      detached: true,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // The group is already gone.
    }
  };
  const stop = async () => {
    signalGroup("SIGTERM");
    const timer = setTimeout(() => signalGroup("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    await rm(state, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const giveUpAt = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(url)).ok) {
        return { url, stop };
      }
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > giveUpAt) {
      await stop();
      throw new Error(`wrangler dev (caller + edge-gcl) did not come up on ${url}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
