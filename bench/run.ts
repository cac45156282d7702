/**
 * `npm run bench [-- --quick] [-- --no-peer]`: edge-gcl on workerd (Miniflare) over loopback
 * HTTP, against its physical floor and against redis-semaphore on a local redis-server, in one
 * run on one machine. Prints a table with each figure beside its goal, then the JSON it writes
 * to bench/results/latest.json. Not a test: nothing here fails `npm test`.
 */

import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { bundleAndColdStart } from "./lib/cold.ts";
import { deadWaiterCost } from "./lib/dead-waiters.ts";
import { type ContendedMode, contended, EdgeApi, floorAfterIdle, floorAndUncontended, rateLimit } from "./lib/edge.ts";
import { sleep } from "./lib/http.ts";
import { CONTENDED, planFor, RATE, SETTLE_MS } from "./lib/plan.ts";
import { buildResults, type EdgeFigures, type Peer } from "./lib/report.ts";
import { rpcFigures } from "./lib/rpc.ts";
import { renderTable } from "./lib/table.ts";
import { benchDir, startWorker, type WorkerHost } from "./lib/worker-host.ts";

const args = new Set(process.argv.slice(2));
for (const arg of args) {
  if (arg !== "--quick" && arg !== "--no-peer") {
    console.error(`unknown argument ${arg}; use --quick and/or --no-peer`);
    process.exit(2);
  }
}
const quick = args.has("--quick");
const withPeer = !args.has("--no-peer");

const PLAN = planFor(quick);

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** What must be stopped however the run ends (workerd, redis-server), last started first. */
const cleanups: (() => Promise<void>)[] = [];

async function cleanUp(): Promise<void> {
  for (let stop = cleanups.pop(); stop !== undefined; stop = cleanups.pop()) {
    await stop().catch((error: unknown) => log(`clean-up failed: ${String(error)}`));
  }
}

// Stays registered (not `once`), so other exit hooks do not re-raise the signal before the
// clean-up is done; a second signal exits at once.
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: stopping workerd and redis-server`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function runPeer(): Promise<{ peer: Peer | null; reason?: string; redisVersion: string | null }> {
  if (!withPeer) {
    return { peer: null, reason: "skipped (--no-peer)", redisVersion: null };
  }
  const peerLib = await import("./lib/peer.ts");
  const binary = peerLib.findRedisServer();
  if (binary === null) {
    return {
      peer: null,
      reason: "redis-server not installed (Debian: apt-get install -y redis-server)",
      redisVersion: null,
    };
  }
  let host: Awaited<ReturnType<typeof peerLib.startRedis>>;
  try {
    host = await peerLib.startRedis(binary);
  } catch (error) {
    return { peer: null, reason: `redis-server did not start: ${String(error)}`, redisVersion: null };
  }
  cleanups.push(host.stop);
  try {
    log(`peer: redis-server ${host.version}, redis-semaphore: uncontended`);
    const uncontended = await peerLib.peerUncontended(host.redis, PLAN.rounds, PLAN.roundMs, host.cpuSeconds);
    log("peer: contended");
    const contendedResult = await peerLib.peerContended(
      host.redis,
      { ...CONTENDED, durationMs: PLAN.contendedMs },
      host.cpuSeconds,
    );
    const versions = await import("./lib/versions.ts");
    return {
      peer: {
        name: `redis-semaphore ${await versions.version("redis-semaphore")} (ioredis ${await versions.version("ioredis")}) on redis-server ${host.version}`,
        uncontended: {
          acquire_release_per_s: uncontended.pair.perSecond,
          ping_per_s: uncontended.ping.perSecond,
          server_cpu_us_per_pair: uncontended.pair.serverCpuUsPerOp,
          client_cpu_us_per_pair: uncontended.pair.clientCpuUsPerOp,
          pair_latency_ms: uncontended.pair.latencyMs,
          per_round: uncontended.pair.perRound,
        },
        contended: contendedResult,
      },
      redisVersion: host.version,
    };
  } finally {
    await cleanUp();
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadStart = loadavg();
  log(`${quick ? "quick" : "full"} run; building the bench Worker and starting workerd`);
  const worker: WorkerHost = await startWorker();
  cleanups.push(worker.stop);

  let edge: EdgeFigures;
  try {
    log(
      `workerd ready at ${worker.url} (build ${Math.round(worker.timings.buildMs)} ms, start ${Math.round(worker.timings.startMs)} ms)`,
    );
    const api = new EdgeApi(worker.url);
    log("floor and uncontended");
    const sequential = await floorAndUncontended(api, PLAN.rounds, PLAN.roundMs, worker.cpuSeconds);
    log("rpc: a caller Worker over its service binding, timed inside workerd");
    await api.createLimit({ name: "bench-rpc", limit: 8 });
    const rpc = await rpcFigures(worker.callerUrl, "bench-rpc", PLAN.rounds, PLAN.roundMs, worker.cpuSeconds);
    log("floor after idle");
    const idleFloor = await floorAfterIdle(api, PLAN.idleFloors, CONTENDED.holdMs);
    await sleep(SETTLE_MS);
    const runContendedAs = async (mode: ContendedMode, what: string) => {
      log(`contended, ${what}`);
      const result = await contended(api, mode, {
        ...CONTENDED,
        durationMs: PLAN.contendedMs,
        serverCpu: worker.cpuSeconds,
      });
      await sleep(SETTLE_MS);
      return result;
    };
    const waiting = await runContendedAs("waiting", "waiting");
    const confirmed = await runContendedAs("confirmed", "long-polls that confirm their turn");
    const socket = await runContendedAs("socket", "socket waiters");
    const polling = await runContendedAs("polling", "polling");
    log("rate limit");
    const rate = await rateLimit(api, { ...RATE, durationMs: PLAN.rateMs, warmupMs: PLAN.rateWarmupMs });
    log("dead waiters at the head of a line (about 16 s: the grace and the offer window)");
    const dead = await deadWaiterCost(api);
    edge = {
      sequential,
      rpc,
      idleFloor,
      waiting,
      confirmed,
      socket,
      polling,
      rate,
      dead,
      versions: worker.versions,
      timings: worker.timings,
    };
  } finally {
    await cleanUp();
  }
  log(`bundle and cold start (${PLAN.coldStarts} fresh workerd starts each)`);
  const { bundle, coldStart } = await bundleAndColdStart(PLAN.coldStarts);
  const { peer, reason, redisVersion } = await runPeer();
  const loadEnd = loadavg();

  const results = buildResults({
    startedAt,
    loadStart,
    loadEnd,
    quick,
    withPeer,
    edge,
    bundle,
    coldStart,
    peer,
    reason,
    redisVersion,
  });
  const output = join(benchDir, "results", "latest.json");
  await mkdir(join(benchDir, "results"), { recursive: true });
  await writeFile(output, `${JSON.stringify(results, null, 2)}\n`);

  console.log(renderTable(results, peer, reason));
  console.log(`\nwritten: bench/results/latest.json\n`);
  console.log(JSON.stringify(results, null, 2));
  const missed = results.goals.filter((goal) => !goal.met);
  if (missed.length > 0) {
    console.log(
      `\n${missed.length} goal(s) missed: ${missed.map((goal) => goal.figure).join(", ")} (see docs/performance.md)`,
    );
  }
}

main().catch(async (error: unknown) => {
  console.error(error);
  await cleanUp();
  process.exit(1);
});
