/**
 * Runs the Worker as a real `wrangler dev` process (workerd underneath) with a persistent state
 * directory, in its own process group, so a test can SIGKILL it mid-load and start it again on
 * the same state. Loopback only. Used by the chaos suite.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { eventually } from "./common";

export interface WorkerProcess {
  url: string;
  /** Kills the whole process group (wrangler and workerd) at once, like a crash. */
  kill(): Promise<void>;
  /** Stops the process group gracefully. */
  stop(): Promise<void>;
}

/** A free loopback port (the OS picks it; it is released before wrangler binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
    } else {
      child.once("exit", () => resolve());
    }
  });
}

export interface SpawnOptions {
  port: number;
  persistTo: string;
  /** Extra `--var NAME:value` settings (the chaos suite's fault injection). */
  vars?: Record<string, string>;
  /** Wrangler configs, relative to the repository; the first is served. @default ["wrangler.toml"] */
  configs?: readonly string[];
  /** The path that answers 200 once the Worker is up. @default "/healthz" */
  readyPath?: string;
}

export async function spawnWorker(options: SpawnOptions): Promise<WorkerProcess> {
  const root = join(import.meta.dirname, "..", "..");
  const child = spawn(
    process.execPath,
    [
      join(root, "node_modules", "wrangler", "bin", "wrangler.js"),
      "dev",
      ...(options.configs ?? ["wrangler.toml"]).flatMap((config) => ["-c", config]),
      "--ip",
      "127.0.0.1",
      "--port",
      String(options.port),
      "--persist-to",
      options.persistTo,
      "--var",
      "GCL_ALLOW_ANONYMOUS:true",
      ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
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
  const url = `http://127.0.0.1:${options.port}`;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // The group is already gone.
    }
  };
  const ready = async (): Promise<boolean> => {
    if (child.exitCode !== null) {
      throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    }
    // A refused connection: not listening yet.
    const answer = await fetch(`${url}${options.readyPath ?? "/healthz"}`).catch(() => undefined);
    return answer?.ok === true;
  };
  try {
    await eventually(ready, { timeoutMs: 60_000, intervalMs: 100, what: `wrangler dev answering on ${url}` });
  } catch (error) {
    signalGroup("SIGKILL");
    throw new Error(`wrangler dev did not come up on ${url}`, { cause: error });
  }
  return {
    url,
    async kill() {
      signalGroup("SIGKILL");
      await exited(child);
    },
    async stop() {
      signalGroup("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), 5_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}

/** A Worker that a test can kill and start again on the same state and port. */
export interface RestartableWorker {
  /** Starts the Worker (again) on the state directory; the port is chosen at the first start. */
  start(): Promise<WorkerProcess>;
}

/**
 * A fresh state directory (`prefix` names it) for the calling file: the Worker last started on it
 * is stopped, and the directory removed, after the file's tests.
 */
export function workerOnState(
  prefix: string,
  options: Omit<SpawnOptions, "port" | "persistTo"> = {},
): RestartableWorker {
  const state = mkdtempSync(join(tmpdir(), prefix));
  let port: number | undefined;
  let current: WorkerProcess | undefined;
  afterAll(async () => {
    await current?.stop();
    rmSync(state, { recursive: true, force: true });
  });
  return {
    async start() {
      port ??= await freePort();
      current = await spawnWorker({ ...options, port, persistTo: state });
      return current;
    },
  };
}
