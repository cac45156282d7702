/**
 * The peer: redis-semaphore (what a Node user would otherwise pick for a distributed semaphore)
 * on a local `redis-server` that the bench starts on a free loopback port, without persistence,
 * and stops at the end. redis-semaphore is used with its defaults (it polls every 10 ms while
 * the semaphore is full), except the lock timeout, set to edge-gcl's lease length.
 */

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { Semaphore } from "redis-semaphore";
import { sleep } from "./http.ts";
import { cpuSeconds } from "./proc.ts";
import {
  type ContendedResult,
  type CpuProbe,
  runContended,
  runInterleaved,
  type SequentialResult,
} from "./workloads.ts";

const LOCK_TIMEOUT_MS = 60_000;

export interface RedisHost {
  redis: Redis;
  version: string;
  /** CPU seconds redis-server has used so far (null where /proc cannot tell). */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

/** The path of `redis-server`, or null when it is not installed. */
export function findRedisServer(): string | null {
  const found = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  const path = found.stdout.trim();
  return found.status === 0 && path !== "" ? path : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export async function startRedis(binary: string): Promise<RedisHost> {
  const version = spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout.match(/v=([\d.]+)/)?.[1] ?? "unknown";
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "yes",
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stopChild = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
      }
    }
  };
  const redis = new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  // Connection errors surface through the awaited commands; without a listener ioredis prints them.
  redis.on("error", () => undefined);
  try {
    // Ready when it answers PING: at most 50 tries, 100 ms apart.
    for (let attempt = 0; ; attempt++) {
      try {
        await redis.connect();
        await redis.ping();
        break;
      } catch (error) {
        redis.disconnect();
        if (attempt >= 50 || child.exitCode !== null) {
          throw new Error(`redis-server did not start: ${String(error)} ${stderr}`);
        }
        await sleep(100);
      }
    }
  } catch (error) {
    await stopChild();
    throw error;
  }
  return {
    redis,
    version,
    cpuSeconds: () => (child.pid === undefined ? null : cpuSeconds([child.pid])),
    stop: async () => {
      redis.disconnect();
      await stopChild();
    },
  };
}

export interface PeerUncontended {
  ping: SequentialResult;
  pair: SequentialResult;
}

/** One client: PING (redis's own floor) and acquire + release, in alternating rounds. */
export async function peerUncontended(
  redis: Redis,
  rounds: number,
  roundMs: number,
  serverCpu: CpuProbe,
): Promise<PeerUncontended> {
  const key = "bench-uncontended";
  const pair = async () => {
    const semaphore = new Semaphore(redis, key, 8, { lockTimeout: LOCK_TIMEOUT_MS });
    await semaphore.acquire();
    await semaphore.release();
  };
  const ping = async () => {
    await redis.ping();
  };
  await runInterleaved(1, Math.min(500, roundMs), { ping, pair });
  return runInterleaved(rounds, roundMs, { ping, pair }, serverCpu);
}

/** The contended workload of edge-gcl, with a redis-semaphore per acquisition. */
export async function peerContended(
  redis: Redis,
  options: { clients: number; limit: number; holdMs: number; durationMs: number },
  serverCpu: CpuProbe,
): Promise<ContendedResult> {
  const key = "bench-contended";
  return runContended({
    ...options,
    serverCpu,
    client: () => ({
      async acquire(stop) {
        const semaphore = new Semaphore(redis, key, options.limit, {
          lockTimeout: LOCK_TIMEOUT_MS,
          // Keep trying until the run's deadline aborts the attempt.
          acquireTimeout: options.durationMs + 60_000,
        });
        await semaphore.acquire(stop);
        return () => semaphore.release();
      },
    }),
    // redis-semaphore retries inside acquire(): it has no refusal to count.
    refusals: () => 0,
  });
}
