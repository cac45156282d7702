/**
 * The bench's results file: every figure measured in one run, the ratios derived from them, the
 * definitions of each, and each goal of plan.ts checked (`goals`, with `met`). run.ts measures
 * and writes it; table.ts prints it.
 */

import type { DeadWaiterCost } from "./dead-waiters.ts";
import { availableParallelism, cpus, release as osRelease, totalmem } from "node:os";
import type { BundleFigures, ColdStartFigures } from "./cold.ts";
import type { contended, FloorAndUncontended, RateLimitResult } from "./edge.ts";
import { CONTENDED, GOALS } from "./plan.ts";
import type { RpcResults } from "./rpc.ts";
import type { Summary } from "./stats.ts";
import { fmt } from "./table.ts";
import type { WorkerHost } from "./worker-host.ts";
import type { ContendedResult, SequentialResult } from "./workloads.ts";

export type Peer = {
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

/** What the edge-gcl phases measured, on one workerd. */
export interface EdgeFigures {
  sequential: FloorAndUncontended;
  rpc: RpcResults;
  idleFloor: Summary;
  waiting: Awaited<ReturnType<typeof contended>>;
  confirmed: Awaited<ReturnType<typeof contended>>;
  socket: Awaited<ReturnType<typeof contended>>;
  dead: DeadWaiterCost;
  polling: Awaited<ReturnType<typeof contended>>;
  rate: RateLimitResult;
  versions: WorkerHost["versions"];
  timings: WorkerHost["timings"];
}

/** Everything one run measured, and how it was run. */
export interface RunFigures {
  startedAt: Date;
  loadStart: number[];
  loadEnd: number[];
  quick: boolean;
  withPeer: boolean;
  edge: EdgeFigures;
  bundle: BundleFigures;
  coldStart: ColdStartFigures;
  peer: Peer | null;
  reason: string | undefined;
  redisVersion: string | null;
}

export type Results = ReturnType<typeof buildResults>;

/** The results file's content, goals checked. */
export function buildResults(run: RunFigures) {
  const { startedAt, loadStart, loadEnd, quick, withPeer, edge, bundle, coldStart, peer, reason, redisVersion } = run;
  const { sequential, rpc, idleFloor, waiting, confirmed, socket, polling, rate, dead } = edge;
  const againstBound = (run: typeof socket) => ({
    ...run,
    utilization_of_bound: utilizationBound === null ? null : run.utilization / utilizationBound,
    handoff_over_idle_floor:
      run.handoff_p50_ms === null || idleFloor.p50 === null ? null : run.handoff_p50_ms / idleFloor.p50,
  });
  // No server-mediated hand-off beats one request to an idle server: the best utilization a
  // fair lock can reach here with these holds.
  const utilizationBound = idleFloor.p50 === null ? null : CONTENDED.holdMs / (CONTENDED.holdMs + idleFloor.p50);
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
      rpc.floor.cpuUsPerOp === null || rpc.rpc_client.cpuUsPerOp === null
        ? null
        : (2 * rpc.floor.cpuUsPerOp) / rpc.rpc_client.cpuUsPerOp,
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
    contended_confirmed: againstBound(confirmed),
    contended_socket: againstBound(socket),
    contended_polling: polling,
    rate_limit: rate,
    dead_waiters: dead,
    bundle,
    cold_start: coldStart,
    peer,
    ...(reason === undefined ? {} : { peer_reason: reason }),
    definitions: {
      floor:
        "POST /bench/floor on the bench-only Worker: HTTP → Worker → one Durable Object RPC → one SQLite upsert; one sequential client",
      floor_after_idle:
        "floor requests each sent after hold_ms of silence, as a release is; utilization_bound = hold / (hold + after_idle_p50_ms), the most a server-mediated hand-off can reach here",
      ratio_to_floor:
        "(2 × acquire_release_per_s) / floor.do_write_per_s: requests per second of the acquire/release pair over the floor's",
      rpc: "bench/caller.ts, a second Worker with a service binding to the bench Worker, loops one kind of call per round, timed inside workerd (Date.now() around the loop); kinds alternate round by round. floor_per_s: env.GCL.floor() = RPC → one Durable Object call → one SQLite upsert. acquire_release_per_s: createClient({ binding }).acquire() then release(). raw_*: env.GCL.acquire() then env.GCL.release(), no client. http_*: the same client over HTTP through the binding's fetch. ratio_to_floor = 2 × pairs/s / floor_per_s; vs_http = acquire_release_per_s / http_acquire_release_per_s",
      utilization_of_bound: "contended.utilization / floor.utilization_bound",
      handoff_over_idle_floor: "contended.handoff_p50_ms / floor.after_idle_p50_ms",
      bundle:
        "wrangler deploy --dry-run --minify of wrangler.toml: bytes of every uploaded module, and their gzip (node:zlib, default level)",
      cold_start:
        "the minified production bundle on a new Miniflare (a fresh workerd process): new Miniflare() → first 200 on GET /healthz, and, on a state where the limit exists, → first 200 of POST /increment-with-lease; medians of the starts; *_after_ready_ms from Miniflare's ready",
      cpu_ratio_to_floor:
        "workerd CPU per floor request / workerd CPU per acquire-or-release request (from /proc, all workerd threads): the same ratio in CPU, less sensitive to other load on the machine",
      hold: "client-side, [grant response received, release request sent]",
      utilization: "Σ holds clipped to the run / (limit × run length)",
      handoff:
        "release sent → grant received; the k-th release (time order) is paired with the first grant received after it that is not yet paired; grants into already-free slots are not hand-offs",
      handoff_to_other_client:
        "the hand-offs whose grant went to another client than the one that released (a lock that lets the releaser barge back in has fast self hand-offs)",
      max_holders_seen: "the most holds overlapping at one instant (a sweep over the hold intervals)",
      rate_limit:
        "64 clients loop POST /increment {mode: rate_limit, wait_seconds: 5}; after a warm-up (the empty bucket's burst, then a full bucket and a line that never empties) admitted_per_s = grants received from warm-up to deadline / that window",
      confirmed:
        "long-polls with a request_id (the TypeScript client's first 2 s): the turn is a 423 'come back now', and the same request takes it",
      socket:
        "waiting on the limit's WebSocket (the TypeScript client's waits beyond 2 s): the turn is pushed as an offer and confirmed",
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
  const worstDead = Math.max(dead.away_between_calls_s, dead.silent_socket_s, dead.closed_socket_s);
  check("dead_waiters.worst_s", worstDead, "<= 10.5 (the 10 s grace)", worstDead <= 10.5);
  check("uncontended.ratio_to_floor", ratioToFloor, `>= ${GOALS.ratioToFloor}`, ratioToFloor >= GOALS.ratioToFloor);
  check(
    "rpc.ratio_to_floor",
    rpcFigure.ratio_to_floor,
    `>= ${GOALS.rpcRatioToFloor}`,
    rpcFigure.ratio_to_floor >= GOALS.rpcRatioToFloor,
  );
  check(
    "contended.utilization",
    waiting.utilization,
    `>= ${GOALS.utilization}`,
    waiting.utilization >= GOALS.utilization,
  );
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
  check(
    "contended.max_holders_seen",
    waiting.max_holders_seen,
    `<= ${CONTENDED.limit}`,
    waiting.max_holders_seen <= CONTENDED.limit,
  );
  check(
    "contended_confirmed.max_holders_seen",
    confirmed.max_holders_seen,
    `<= ${CONTENDED.limit}`,
    confirmed.max_holders_seen <= CONTENDED.limit,
  );
  check(
    "contended_socket.max_holders_seen",
    socket.max_holders_seen,
    `<= ${CONTENDED.limit}`,
    socket.max_holders_seen <= CONTENDED.limit,
  );
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
      waiting.handoff_p50_ms !== null &&
        peer.contended.handoff_p50_ms !== null &&
        waiting.handoff_p50_ms < peer.contended.handoff_p50_ms,
    );
  }
  return results;
}

/**
 * Where the uncontended request's time goes: the floor, then one layer at a time, each step
 * one sequential client in the same interleaved rounds. Per request: the pair counts as two.
 */
export function ladder(sequential: FloorAndUncontended) {
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
    json_body: step(
      sequential.floorJson,
      1,
      "+ an acquire's JSON body parsed, a grant-sized JSON answer (raw fetch handler)",
    ),
    app_pipeline: step(
      sequential.floorApp,
      1,
      "+ the app's pipeline: Hono routing, auth, body limit, zod validation, c.json",
    ),
    acquire_release: step(
      sequential.pair,
      2,
      "the real acquire and release: + RPC payloads, accounting, lease ids, two-row write",
    ),
  };
}
