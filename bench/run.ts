/**
 * `npm run bench [-- --quick] [-- --no-peer]`: edge-gcl on workerd (Miniflare) over loopback
 * HTTP, against its physical floor and against redis-semaphore on a local redis-server, in one
 * run on one machine. Prints a table with each figure beside its goal, then the JSON it writes
 * to bench/results/latest.json. Not a test: nothing here fails `npm test`.
 */

import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, release as osRelease, totalmem } from "node:os";
import { join } from "node:path";
import {
  contended,
  EdgeApi,
  type FloorAndUncontended,
  floorAfterIdle,
  floorAndUncontended,
  rateLimit,
} from "./lib/edge.ts";
import { bundleAndColdStart } from "./lib/cold.ts";
import { sleep } from "./lib/http.ts";
import { rpcFigures } from "./lib/rpc.ts";
import type { ContendedResult, SequentialResult } from "./lib/workloads.ts";
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

const PLAN = quick
  ? { rounds: 2, roundMs: 600, idleFloors: 40, contendedMs: 3_000, rateMs: 3_000, rateWarmupMs: 500 }
  : { rounds: 5, roundMs: 1_000, idleFloors: 150, contendedMs: 10_000, rateMs: 10_000, rateWarmupMs: 1_000 };
const CONTENDED = { clients: 64, limit: 8, holdMs: 20 };
const RATE = { clients: 64, limit: 50, perSecond: 50 };
/** Between phases: aborted requests and their give-backs settle before the next one starts. */
const SETTLE_MS = 300;

const GOALS = {
  utilization: 0.95,
  handoffP50Ms: 5,
  ratioToFloor: 0.85,
  rateErrorPct: 2,
  rpcRatioToFloor: 0.9,
  utilizationOfBound: 0.95,
  handoffOverIdleFloor: 1.5,
  bundleMinifiedBytes: 150 * 1024,
};
/** Fresh workerd starts per cold-start figure (the median is reported). */
const COLD_STARTS = quick ? 2 : 5;

type Peer = {
  name: string;
  uncontended: {
    acquire_release_per_s: number;
    ping_per_s: number;
    server_cpu_us_per_pair: number | null;
    client_cpu_us_per_pair: number;
    pair_latency_ms: unknown;
    per_round: number[];
  };
  contended: ContendedResult;
};

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
    return { peer: null, reason: "redis-server not installed (Debian: apt-get install -y redis-server)", redisVersion: null };
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
    const contendedResult = await peerLib.peerContended(host.redis, { ...CONTENDED, durationMs: PLAN.contendedMs }, host.cpuSeconds);
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

  // biome-ignore lint/suspicious/noImplicitAnyLet: assigned once below; TypeScript infers its type from that assignment
  let edge;
  try {
    log(`workerd ready at ${worker.url} (build ${Math.round(worker.timings.buildMs)} ms, start ${Math.round(worker.timings.startMs)} ms)`);
    const api = new EdgeApi(worker.url);
    log("floor and uncontended");
    const sequential = await floorAndUncontended(api, PLAN.rounds, PLAN.roundMs, worker.cpuSeconds);
    log("rpc: a caller Worker over its service binding, timed inside workerd");
    await api.createLimit({ name: "bench-rpc", limit: 8 });
    const rpc = await rpcFigures(worker.callerUrl, "bench-rpc", PLAN.rounds, PLAN.roundMs, worker.cpuSeconds);
    log("floor after idle");
    const idleFloor = await floorAfterIdle(api, PLAN.idleFloors, CONTENDED.holdMs);
    await sleep(SETTLE_MS);
    log("contended, waiting");
    const waiting = await contended(api, "waiting", { ...CONTENDED, durationMs: PLAN.contendedMs, serverCpu: worker.cpuSeconds });
    await sleep(SETTLE_MS);
    log("contended, polling");
    const polling = await contended(api, "polling", { ...CONTENDED, durationMs: PLAN.contendedMs, serverCpu: worker.cpuSeconds });
    await sleep(SETTLE_MS);
    log("rate limit");
    const rate = await rateLimit(api, { ...RATE, durationMs: PLAN.rateMs, warmupMs: PLAN.rateWarmupMs });
    edge = { sequential, rpc, idleFloor, waiting, polling, rate, versions: worker.versions, timings: worker.timings };
  } finally {
    await cleanUp();
  }
  log(`bundle and cold start (${COLD_STARTS} fresh workerd starts each)`);
  const { bundle, coldStart } = await bundleAndColdStart(COLD_STARTS);
  const { peer, reason, redisVersion } = await runPeer();
  const loadEnd = loadavg();

  const { sequential, rpc, idleFloor, waiting, polling, rate } = edge;
  // No server-mediated hand-off beats one request to an idle server: the best utilization a
  // fair lock can reach here with these holds.
  const utilizationBound =
    idleFloor.p50 === null ? null : CONTENDED.holdMs / (CONTENDED.holdMs + idleFloor.p50);
  const ratioToFloor = (2 * sequential.pair.perSecond) / sequential.floor.perSecond;
  const rpcRatio = (pairs: number) => (2 * pairs) / rpc.floor.perSecond;
  const rpcFigure = {
    floor_per_s: rpc.floor.perSecond,
    acquire_release_per_s: rpc.rpc_client.perSecond,
    ratio_to_floor: rpcRatio(rpc.rpc_client.perSecond),
    vs_http: rpc.rpc_client.perSecond / rpc.http_client.perSecond,
    raw_acquire_release_per_s: rpc.rpc_raw.perSecond,
    raw_ratio_to_floor: rpcRatio(rpc.rpc_raw.perSecond),
    http_acquire_release_per_s: rpc.http_client.perSecond,
    http_ratio_to_floor: rpcRatio(rpc.http_client.perSecond),
    ladder: {
      floor: { per_s: rpc.floor.perSecond, workerd_cpu_us: rpc.floor.cpuUsPerOp },
      floor_validated: {
        per_s: rpc.floor_validated.perSecond,
        ratio_to_floor: rpc.floor_validated.perSecond / rpc.floor.perSecond,
        workerd_cpu_us: rpc.floor_validated.cpuUsPerOp,
      },
    },
    workerd_cpu_us: {
      floor: rpc.floor.cpuUsPerOp,
      pair: rpc.rpc_client.cpuUsPerOp,
      raw_pair: rpc.rpc_raw.cpuUsPerOp,
      http_pair: rpc.http_client.cpuUsPerOp,
    },
    cpu_ratio_to_floor:
      rpc.floor.cpuUsPerOp === null || rpc.rpc_client.cpuUsPerOp === null ? null : (2 * rpc.floor.cpuUsPerOp) / rpc.rpc_client.cpuUsPerOp,
    per_round: {
      floor: rpc.floor.perRound,
      client: rpc.rpc_client.perRound,
      raw: rpc.rpc_raw.perRound,
      http: rpc.http_client.perRound,
    },
  };
  const utilizationOfBound = utilizationBound === null ? null : waiting.utilization / utilizationBound;
  const handoffOverIdleFloor =
    waiting.handoff_p50_ms === null || idleFloor.p50 === null ? null : waiting.handoff_p50_ms / idleFloor.p50;
  const perRequestCpu = (us: number | null, requests: number) => (us === null ? null : us / requests);
  const floorCpu = sequential.floor.serverCpuUsPerOp;
  const requestCpu = perRequestCpu(sequential.pair.serverCpuUsPerOp, 2);
  const cores = availableParallelism();
  const results = {
    generated_at: startedAt.toISOString(),
    command: `npm run bench${quick ? " -- --quick" : ""}${withPeer ? "" : " -- --no-peer"}`,
    quick,
    machine: {
      cores,
      cpu_model: cpus()[0]?.model ?? "unknown",
      memory_gib: Math.round(totalmem() / 2 ** 30),
      kernel: osRelease(),
      node: process.version,
      workerd: edge.versions.workerd,
      miniflare: edge.versions.miniflare,
      wrangler: edge.versions.wrangler,
      redis_server: redisVersion,
      loadavg_1m_start: loadStart[0] ?? null,
      loadavg_1m_end: loadEnd[0] ?? null,
      note: `the load generator (this Node process), workerd and redis-server share the same ${cores} cores: every figure is CPU-bound and includes the client's own cost`,
    },
    floor: {
      do_write_per_s: sequential.floor.perSecond,
      latency_ms: sequential.floor.latencyMs,
      per_round: sequential.floor.perRound,
      workerd_cpu_us_per_request: floorCpu,
      client_cpu_us_per_request: sequential.floor.clientCpuUsPerOp,
      after_idle_ms: idleFloor,
      after_idle_p50_ms: idleFloor.p50,
      utilization_bound: utilizationBound,
    },
    uncontended: {
      acquire_release_per_s: sequential.pair.perSecond,
      ratio_to_floor: ratioToFloor,
      per_round: sequential.pair.perRound,
      acquire_latency_ms: sequential.acquireLatencyMs,
      release_latency_ms: sequential.releaseLatencyMs,
      workerd_cpu_us_per_request: requestCpu,
      client_cpu_us_per_request: sequential.pair.clientCpuUsPerOp / 2,
      cpu_ratio_to_floor: floorCpu === null || requestCpu === null ? null : floorCpu / requestCpu,
    },
    floor_ladder: ladder(sequential),
    rpc: rpcFigure,
    contended: { ...waiting, utilization_of_bound: utilizationOfBound, handoff_over_idle_floor: handoffOverIdleFloor },
    contended_polling: polling,
    rate_limit: rate,
    bundle,
    cold_start: coldStart,
    peer,
    ...(reason === undefined ? {} : { peer_reason: reason }),
    definitions: {
      floor: "POST /bench/floor on the bench-only Worker: HTTP → Worker → one Durable Object RPC → one SQLite upsert; one sequential client",
      floor_after_idle: "floor requests each sent after hold_ms of silence, as a release is; utilization_bound = hold / (hold + after_idle_p50_ms), the most a server-mediated hand-off can reach here",
      ratio_to_floor: "(2 × acquire_release_per_s) / floor.do_write_per_s: requests per second of the acquire/release pair over the floor's",
      rpc: "bench/caller.ts, a second Worker with a service binding to the bench Worker, loops one kind of call per round, timed inside workerd (Date.now() around the loop); kinds alternate round by round. floor_per_s: env.GCL.floor() = RPC → one Durable Object call → one SQLite upsert. acquire_release_per_s: createClient({ binding }).acquire() then release(). raw_*: env.GCL.acquire() then env.GCL.release(), no client. http_*: the same client over HTTP through the binding's fetch. ratio_to_floor = 2 × pairs/s / floor_per_s; vs_http = acquire_release_per_s / http_acquire_release_per_s",
      utilization_of_bound: "contended.utilization / floor.utilization_bound",
      handoff_over_idle_floor: "contended.handoff_p50_ms / floor.after_idle_p50_ms",
      bundle: "wrangler deploy --dry-run --minify of wrangler.toml: bytes of every uploaded module, and their gzip (node:zlib, default level)",
      cold_start: "the minified production bundle on a new Miniflare (a fresh workerd process): new Miniflare() → first 200 on GET /healthz, and, on a state where the limit exists, → first 200 of POST /increment-with-lease; medians of the starts; *_after_ready_ms from Miniflare's ready",
      cpu_ratio_to_floor: "workerd CPU per floor request / workerd CPU per acquire-or-release request (from /proc, all workerd threads): the same ratio in CPU, less sensitive to other load on the machine",
      hold: "client-side, [grant response received, release request sent]",
      utilization: "Σ holds clipped to the run / (limit × run length)",
      handoff: "release sent → grant received; the k-th release (time order) is paired with the first grant received after it that is not yet paired; grants into already-free slots are not hand-offs",
      handoff_to_other_client: "the hand-offs whose grant went to another client than the one that released (a lock that lets the releaser barge back in has fast self hand-offs)",
      max_holders_seen: "the most holds overlapping at one instant (a sweep over the hold intervals)",
      rate_limit: "64 clients loop POST /increment {mode: rate_limit, wait_seconds: 5}; after a warm-up (the empty bucket's burst, then a full bucket and a line that never empties) admitted_per_s = grants received from warm-up to deadline / that window",
      polling: "Prefect's client: wait_seconds 0, on 423 sleep Retry-After seconds, then ask again",
      peer: "redis-semaphore defaults (polls every 10 ms while full), lockTimeout 60 s, a new Semaphore per acquisition, one ioredis connection shared by all clients",
    },
    goals: [] as { figure: string; value: number | null; goal: string; met: boolean }[],
  };

  const goals = results.goals;
  const check = (figure: string, value: number | null, goal: string, met: boolean) => {
    goals.push({ figure, value, goal, met });
    return met;
  };
  check("uncontended.ratio_to_floor", ratioToFloor, `>= ${GOALS.ratioToFloor}`, ratioToFloor >= GOALS.ratioToFloor);
  check("rpc.ratio_to_floor", rpcFigure.ratio_to_floor, `>= ${GOALS.rpcRatioToFloor}`, rpcFigure.ratio_to_floor >= GOALS.rpcRatioToFloor);
  check("contended.utilization", waiting.utilization, `>= ${GOALS.utilization}`, waiting.utilization >= GOALS.utilization);
  check(
    "contended.utilization_of_bound",
    utilizationOfBound,
    `>= ${GOALS.utilizationOfBound}`,
    utilizationOfBound !== null && utilizationOfBound >= GOALS.utilizationOfBound,
  );
  check(
    "contended.handoff_over_idle_floor",
    handoffOverIdleFloor,
    `<= ${GOALS.handoffOverIdleFloor}`,
    handoffOverIdleFloor !== null && handoffOverIdleFloor <= GOALS.handoffOverIdleFloor,
  );
  check(
    "bundle.minified_bytes",
    bundle.minified_bytes,
    `<= ${GOALS.bundleMinifiedBytes} (150 KiB)`,
    bundle.minified_bytes <= GOALS.bundleMinifiedBytes,
  );
  check(
    "contended.handoff_p50_ms",
    waiting.handoff_p50_ms,
    `<= ${GOALS.handoffP50Ms} ms`,
    waiting.handoff_p50_ms !== null && waiting.handoff_p50_ms <= GOALS.handoffP50Ms,
  );
  check("contended.max_holders_seen", waiting.max_holders_seen, `<= ${CONTENDED.limit}`, waiting.max_holders_seen <= CONTENDED.limit);
  check(
    "contended_polling.max_holders_seen",
    polling.max_holders_seen,
    `<= ${CONTENDED.limit}`,
    polling.max_holders_seen <= CONTENDED.limit,
  );
  check(
    "rate_limit.error_pct",
    rate.error_pct,
    `within ±${GOALS.rateErrorPct} %`,
    Math.abs(rate.error_pct) <= GOALS.rateErrorPct,
  );
  if (peer) {
    check(
      "contended.handoff_p50_ms < peer",
      waiting.handoff_p50_ms,
      `< ${fmt(peer.contended.handoff_p50_ms, 2)} ms`,
      waiting.handoff_p50_ms !== null && peer.contended.handoff_p50_ms !== null && waiting.handoff_p50_ms < peer.contended.handoff_p50_ms,
    );
  }

  const output = join(benchDir, "results", "latest.json");
  await mkdir(join(benchDir, "results"), { recursive: true });
  await writeFile(output, `${JSON.stringify(results, null, 2)}\n`);

  console.log(renderTable(results, peer, reason));
  console.log(`\nwritten: bench/results/latest.json\n`);
  console.log(JSON.stringify(results, null, 2));
  const missed = goals.filter((goal) => !goal.met);
  if (missed.length > 0) {
    console.log(`\n${missed.length} goal(s) missed: ${missed.map((goal) => goal.figure).join(", ")} (see docs/performance.md)`);
  }
}

/**
 * Where the uncontended request's time goes: the floor, then one layer at a time, each step
 * one sequential client in the same interleaved rounds. Per request: the pair counts as two.
 */
function ladder(sequential: FloorAndUncontended) {
  const floor = sequential.floor.perSecond;
  const step = (result: SequentialResult, requestsPerOp: number, what: string) => ({
    what,
    requests_per_s: result.perSecond * requestsPerOp,
    ratio_to_floor: (result.perSecond * requestsPerOp) / floor,
    latency_p50_ms: result.latencyMs.p50 === null ? null : result.latencyMs.p50 / requestsPerOp,
    workerd_cpu_us_per_request: result.serverCpuUsPerOp === null ? null : result.serverCpuUsPerOp / requestsPerOp,
  });
  return {
    floor: step(sequential.floor, 1, "POST /bench/floor: one DO RPC, one SQLite write, no body, 204"),
    json_body: step(sequential.floorJson, 1, "+ an acquire's JSON body parsed, a grant-sized JSON answer (raw fetch handler)"),
    app_pipeline: step(sequential.floorApp, 1, "+ the app's pipeline: Hono routing, auth, body limit, zod validation, c.json"),
    acquire_release: step(sequential.pair, 2, "the real acquire and release: + RPC payloads, accounting, lease ids, two-row write"),
  };
}

function fmt(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(digits);
}

/** Wait p99, the fewest–most grants one client got, and how many hand-offs went back to the releaser. */
function fairness(result: ContendedResult): string {
  return `wait p99 ${fmt(result.acquire_ms.p99, 0)} ms, grants/client ${result.grants_per_client_min}–${result.grants_per_client_max}, self hand-offs ${fmt(result.handoff_self_pct, 0)} %`;
}

function renderLadder(steps: ReturnType<typeof ladder>): string[] {
  const rows = Object.entries(steps).map(([key, step]) => [
    `  ${key}`,
    `${fmt(step.requests_per_s, 0)} req/s`,
    `${fmt(step.ratio_to_floor, 2)} of floor`,
    `p50 ${fmt(step.latency_p50_ms, 3)} ms`,
    `workerd ${fmt(step.workerd_cpu_us_per_request, 0)} µs CPU`,
    step.what,
  ]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd());
}

function cpu(result: ContendedResult, server: string): string {
  return `${server} ${fmt(result.server_cpu_us_per_grant, 0)} µs, load generator ${fmt(result.client_cpu_us_per_grant, 0)} µs`;
}

type Results = {
  machine: { cores: number; cpu_model: string; node: string; workerd: string; redis_server: string | null; loadavg_1m_start: number | null; loadavg_1m_end: number | null };
  quick: boolean;
  floor: {
    do_write_per_s: number;
    workerd_cpu_us_per_request: number | null;
    after_idle_p50_ms: number | null;
    utilization_bound: number | null;
  };
  uncontended: {
    acquire_release_per_s: number;
    ratio_to_floor: number;
    workerd_cpu_us_per_request: number | null;
    cpu_ratio_to_floor: number | null;
  };
  floor_ladder: ReturnType<typeof ladder>;
  rpc: {
    floor_per_s: number;
    acquire_release_per_s: number;
    ratio_to_floor: number;
    vs_http: number;
    raw_acquire_release_per_s: number;
    raw_ratio_to_floor: number;
    http_acquire_release_per_s: number;
    workerd_cpu_us: { floor: number | null; pair: number | null; raw_pair: number | null; http_pair: number | null };
    ladder: { floor_validated: { per_s: number; ratio_to_floor: number; workerd_cpu_us: number | null } };
    cpu_ratio_to_floor: number | null;
  };
  contended: ContendedResult & { utilization_of_bound: number | null; handoff_over_idle_floor: number | null };
  bundle: { minified_bytes: number; gzip_bytes: number };
  cold_start: { healthz_ms: number | null; first_grant_ms: number | null; healthz_after_ready_ms: number | null; first_grant_after_ready_ms: number | null };
  contended_polling: ContendedResult;
  rate_limit: { configured_per_s: number; admitted_per_s: number; error_pct: number; duration_s: number; steady_window_s: number };
  goals: { figure: string; met: boolean }[];
};

function renderTable(results: Results, peer: Peer | null, peerReason: string | undefined): string {
  const status = (figure: string) => {
    const goal = results.goals.find((g) => g.figure === figure);
    return goal === undefined ? "" : goal.met ? "PASS" : "MISS";
  };
  const rows: [string, string, string, string][] = [];
  const row = (figure: string, value: string, goal = "", state = status(figure)) => rows.push([figure, value, goal, state]);
  const { floor, uncontended, rpc, contended: waiting, contended_polling: polling, rate_limit: rate } = results;
  const ideal = (CONTENDED.limit * 1000) / CONTENDED.holdMs;

  row("floor.do_write_per_s", `${fmt(floor.do_write_per_s, 0)} req/s`, "the floor (reference)");
  row("uncontended.acquire_release_per_s", `${fmt(uncontended.acquire_release_per_s, 0)} pairs/s`);
  row("uncontended.ratio_to_floor", fmt(uncontended.ratio_to_floor, 2), `>= ${GOALS.ratioToFloor}`);
  row(
    "workerd CPU per request",
    `floor ${fmt(floor.workerd_cpu_us_per_request, 0)} µs, acquire/release ${fmt(uncontended.workerd_cpu_us_per_request, 0)} µs`,
    `(CPU ratio ${fmt(uncontended.cpu_ratio_to_floor, 2)})`,
  );
  row("rpc.floor_per_s", `${fmt(rpc.floor_per_s, 0)} calls/s`, "the RPC floor (reference)");
  row("rpc.acquire_release_per_s", `${fmt(rpc.acquire_release_per_s, 0)} pairs/s`, "createClient({ binding })");
  row("rpc.ratio_to_floor", fmt(rpc.ratio_to_floor, 2), `>= ${GOALS.rpcRatioToFloor}`);
  row("rpc.vs_http", fmt(rpc.vs_http, 2), `(HTTP over the binding: ${fmt(rpc.http_acquire_release_per_s, 0)} pairs/s)`);
  row("  raw RPC, no client", `${fmt(rpc.raw_acquire_release_per_s, 0)} pairs/s`, `(ratio ${fmt(rpc.raw_ratio_to_floor, 2)})`);
  row(
    "  floor + validation + grant answer",
    `${fmt(rpc.ladder.floor_validated.per_s, 0)} calls/s`,
    `(ratio ${fmt(rpc.ladder.floor_validated.ratio_to_floor, 2)}, workerd ${fmt(rpc.ladder.floor_validated.workerd_cpu_us, 0)} µs)`,
  );
  row(
    "  workerd CPU per call/pair",
    `floor ${fmt(rpc.workerd_cpu_us.floor, 0)} µs, pair ${fmt(rpc.workerd_cpu_us.pair, 0)} µs (raw ${fmt(rpc.workerd_cpu_us.raw_pair, 0)}, HTTP ${fmt(rpc.workerd_cpu_us.http_pair, 0)})`,
    `(CPU ratio ${fmt(rpc.cpu_ratio_to_floor, 2)})`,
  );
  row("floor after 20 ms idle, p50", `${fmt(floor.after_idle_p50_ms, 2)} ms`, "(a hand-off's floor)");
  row("contended.utilization", fmt(waiting.utilization, 3), `>= ${GOALS.utilization} (polling: ${fmt(polling.utilization, 3)})`);
  row("  bound from the idle floor", fmt(floor.utilization_bound, 3), "hold / (hold + idle floor)");
  row("contended.utilization_of_bound", fmt(waiting.utilization_of_bound, 3), `>= ${GOALS.utilizationOfBound}`);
  row("contended.handoff_p50_ms", fmt(waiting.handoff_p50_ms, 2), `<= ${GOALS.handoffP50Ms}`);
  row("contended.handoff_over_idle_floor", fmt(waiting.handoff_over_idle_floor, 2), `<= ${GOALS.handoffOverIdleFloor}`);
  row("contended.handoff_p99_ms", fmt(waiting.handoff_p99_ms, 2), "(reported)");
  row("contended.max_holders_seen", String(waiting.max_holders_seen), `<= ${CONTENDED.limit}`);
  row("contended.grants_per_s", fmt(waiting.grants_per_s, 0), `(ideal ${fmt(ideal, 0)})`);
  row("contended fairness", fairness(waiting), "(reported)");
  row("contended CPU per grant", cpu(waiting, "workerd"), "(reported)");
  row("contended_polling.utilization", fmt(polling.utilization, 3), "(baseline)");
  row("contended_polling.handoff_p50_ms", fmt(polling.handoff_p50_ms, 2), "(baseline)");
  row("contended_polling.handoff_p99_ms", fmt(polling.handoff_p99_ms, 2), "(baseline)");
  row("contended_polling.max_holders_seen", String(polling.max_holders_seen), `<= ${CONTENDED.limit}`);
  row("contended_polling.grants_per_s", fmt(polling.grants_per_s, 0), "(baseline)");
  row("contended_polling fairness", fairness(polling), "(baseline)");
  row("rate_limit.configured_per_s", fmt(rate.configured_per_s, 0));
  row("rate_limit.admitted_per_s", fmt(rate.admitted_per_s, 2));
  row("rate_limit.error_pct", fmt(rate.error_pct, 2), `within ±${GOALS.rateErrorPct}`);
  row("bundle.minified_bytes", `${fmt(results.bundle.minified_bytes / 1024, 1)} KiB`, "<= 150 KiB");
  row("bundle.gzip_bytes", `${fmt(results.bundle.gzip_bytes / 1024, 1)} KiB`, "(reported)");
  row("cold_start.healthz_ms", fmt(results.cold_start.healthz_ms, 0), `(after workerd ready: ${fmt(results.cold_start.healthz_after_ready_ms, 1)} ms)`);
  row("cold_start.first_grant_ms", fmt(results.cold_start.first_grant_ms, 0), `(after workerd ready: ${fmt(results.cold_start.first_grant_after_ready_ms, 1)} ms)`);
  if (peer) {
    row("peer.uncontended.acquire_release_per_s", `${fmt(peer.uncontended.acquire_release_per_s, 0)} pairs/s`, `(redis PING: ${fmt(peer.uncontended.ping_per_s, 0)}/s)`);
    row("peer.contended.utilization", fmt(peer.contended.utilization, 3));
    row("peer.contended.handoff_p50_ms", fmt(peer.contended.handoff_p50_ms, 2));
    row("peer.contended.handoff_p99_ms", fmt(peer.contended.handoff_p99_ms, 2));
    row("peer.contended.max_holders_seen", String(peer.contended.max_holders_seen), `<= ${CONTENDED.limit}`, peer.contended.max_holders_seen <= CONTENDED.limit ? "ok" : "over!");
    row("peer.contended.grants_per_s", fmt(peer.contended.grants_per_s, 0));
    row("peer.contended fairness", fairness(peer.contended));
    row("peer.contended CPU per grant", cpu(peer.contended, "redis-server"));
    row("contended.handoff_p50_ms vs peer", `${fmt(waiting.handoff_p50_ms, 2)} vs ${fmt(peer.contended.handoff_p50_ms, 2)}`, "lower than peer", status("contended.handoff_p50_ms < peer"));
    row(
      "  client-to-client hand-offs only",
      `${fmt(waiting.handoff_to_other_client_ms.p50, 2)} vs ${fmt(peer.contended.handoff_to_other_client_ms.p50, 2)}`,
      "(reported)",
    );
  } else {
    row("peer", "null", peerReason ?? "", "");
  }

  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0), ["figure", "value", "goal", "status"][i]?.length ?? 0));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  const m = results.machine;
  return [
    "",
    `edge-gcl bench (${results.quick ? "quick: 3 s" : "full: 10 s"} per contended run) — ${m.cores} cores (${m.cpu_model}), Node ${m.node}, workerd ${m.workerd}${m.redis_server ? `, redis-server ${m.redis_server}` : ""}`,
    `load average ${fmt(m.loadavg_1m_start, 2)} → ${fmt(m.loadavg_1m_end, 2)}; the load generator, workerd and redis-server share these ${m.cores} cores`,
    ...((m.loadavg_1m_start ?? 0) > m.cores * 0.4
      ? [`WARNING: the machine was busy before the run (load ${fmt(m.loadavg_1m_start, 2)} on ${m.cores} cores): wall-clock figures are unreliable; run again when it is quiet`]
      : []),
    `contended: ${CONTENDED.clients} clients, limit ${CONTENDED.limit}, hold ${CONTENDED.holdMs} ms; rate limit: ${RATE.limit} with decay ${RATE.perSecond}/s, ${RATE.clients} greedy clients, ${fmt(rate.duration_s, 0)} s`,
    "",
    line(["figure", "value", "goal", "status"]),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    "where an uncontended request's time goes (one sequential client, per request):",
    ...renderLadder(results.floor_ladder),
    "",
    "ratio_to_floor = (2 × acquire_release_per_s) / floor.do_write_per_s (requests/s over requests/s).",
    "hand-off = release sent → next grant received, the k-th release paired with the first unpaired grant after it.",
    "utilization = Σ client-side holds [grant received, release sent] / (limit × run length).",
    "fairness: wait = ask → grant; self hand-offs = the releasing client took its own slot straight back.",
  ].join("\n");
}

main().catch(async (error: unknown) => {
  console.error(error);
  await cleanUp();
  process.exit(1);
});
