/**
 * The workloads against edge-gcl over HTTP: the floor, the uncontended pair, the contended limit
 * with push-based waiting and with Prefect-style polling, and the rate limit.
 */

import { post, sleep } from "./http.ts";
import { rateIn, summarize, type Summary } from "./stats.ts";
import {
  type CpuProbe,
  ErrorTally,
  recordFailure,
  runContended,
  runInterleaved,
  type ContendedResult,
  type SequentialResult,
  type SlotClient,
} from "./workloads.ts";

const API = "/api/v2/concurrency_limits";
/** How long one waiting request may wait in line before it asks again (a client's long-poll). */
const LONG_POLL_S = 5;
/** Lease length for every grant: far longer than any hold here, so nothing expires mid-run. */
const LEASE_S = 60;

/** The body of every acquisition here. */
function acquireBody(name: string, waitSeconds: number) {
  return { names: [name], slots: 1, lease_duration: LEASE_S, wait_seconds: waitSeconds };
}

export class EdgeApi {
  readonly #base: string;
  constructor(base: string) {
    this.#base = base;
  }

  url(path: string): string {
    return this.#base + path;
  }

  async createLimit(body: { name: string; limit: number; slot_decay_per_second?: number }): Promise<void> {
    const answer = await post(this.url(`${API}/`), body);
    if (answer.status !== 201) {
      throw new Error(`creating ${body.name}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
  }

  async floor(): Promise<void> {
    const answer = await post(this.url("/bench/floor"), undefined);
    if (answer.status !== 204) {
      throw new Error(`floor: ${answer.status}`);
    }
  }

  /** The floor with an acquire's body and a grant-shaped JSON answer: `json` raw, `app` through the app's pipeline. */
  async floorWith(layer: "json" | "app", name: string): Promise<void> {
    const path = layer === "json" ? "/bench/floor-json" : `${API}/bench-floor`;
    const answer = await post(this.url(path), acquireBody(name, LONG_POLL_S));
    if (answer.status !== 200) {
      throw new Error(`floor (${layer}): ${answer.status} ${JSON.stringify(answer.body)}`);
    }
  }

  /** One acquisition: the lease id, or the refusal's Retry-After. Other answers throw. */
  async acquire(
    name: string,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<{ leaseId: string } | { retryAfterS: number }> {
    const answer = await post(this.url(`${API}/increment-with-lease`), acquireBody(name, waitSeconds), signal);
    if (answer.status === 200) {
      return { leaseId: (answer.body as { lease_id: string }).lease_id };
    }
    if (answer.status === 423) {
      return { retryAfterS: answer.retryAfterS ?? 0 };
    }
    throw new Error(`acquire: ${answer.status} ${JSON.stringify(answer.body)}`);
  }

  /**
   * One acquisition by long-polls with a `request_id`, as the TypeScript client waits a short
   * while: its turn comes as 423 "come back now", and the same request again takes the slots.
   */
  async acquireConfirmed(name: string, signal: AbortSignal): Promise<{ leaseId: string }> {
    const body = { ...acquireBody(name, LONG_POLL_S), request_id: crypto.randomUUID() };
    for (;;) {
      const answer = await post(this.url(`${API}/increment-with-lease`), body, signal);
      if (answer.status === 200) {
        return { leaseId: (answer.body as { lease_id: string }).lease_id };
      }
      if (answer.status !== 423) {
        throw new Error(`acquire: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
    }
  }

  /**
   * One acquisition over the limit's WebSocket, as the TypeScript client waits a long while: the
   * turn is pushed as an offer the client confirms. The lease id, or null when refused.
   */
  async acquireBySocket(name: string, signal: AbortSignal): Promise<{ leaseId: string } | null> {
    const requestId = crypto.randomUUID();
    const socket = new WebSocket(`${this.#base.replace(/^http/, "ws")}${API}/${name}/wait`, ["edge-gcl.v1"]);
    return new Promise((resolve, reject) => {
      const stop = () => {
        socket.close();
        reject(signal.reason);
      };
      signal.addEventListener("abort", stop, { once: true });
      const settle = (result: { leaseId: string } | null) => {
        signal.removeEventListener("abort", stop);
        socket.close();
        resolve(result);
      };
      socket.addEventListener("open", () => {
        const request = { slots: 1, lease_duration: LEASE_S, request_id: requestId };
        socket.send(JSON.stringify({ op: "acquire", kind: "lease", request }));
      });
      socket.addEventListener("message", (event) => {
        const message = JSON.parse(String(event.data)) as { type: string; grant?: { lease_id: string } };
        if (message.type === "offer") {
          socket.send(JSON.stringify({ op: "confirm" }));
        } else if ((message.type === "granted" || message.type === "confirmed") && message.grant) {
          settle({ leaseId: message.grant.lease_id });
        } else if (message.type === "refused") {
          settle(null);
        }
      });
      socket.addEventListener("close", () => settle(null));
      socket.addEventListener("error", () => settle(null));
    });
  }

  async release(leaseId: string): Promise<void> {
    const answer = await post(this.url(`${API}/decrement-with-lease`), { lease_id: leaseId });
    if (answer.status !== 204) {
      throw new Error(`release: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
  }
}

export interface FloorAndUncontended {
  floor: SequentialResult;
  /** The floor plus an acquire-sized JSON body in and a grant-sized JSON answer out. */
  floorJson: SequentialResult;
  /** The same through the app's request pipeline. */
  floorApp: SequentialResult;
  pair: SequentialResult;
  /** The pair's two halves, timed apart inside the same rounds. */
  acquireLatencyMs: Summary;
  releaseLatencyMs: Summary;
}

/**
 * The floor, its two layered variants and the uncontended pair, one sequential client each, in
 * alternating rounds (floor, json, app, pair, floor, …), after a warm-up of all.
 */
export async function floorAndUncontended(
  api: EdgeApi,
  rounds: number,
  roundMs: number,
  serverCpu: CpuProbe,
): Promise<FloorAndUncontended> {
  const name = "bench-uncontended";
  await api.createLimit({ name, limit: 8 });
  let acquires: number[] = [];
  let releases: number[] = [];
  const pair = async () => {
    const t0 = performance.now();
    const outcome = await api.acquire(name, LONG_POLL_S);
    if (!("leaseId" in outcome)) {
      throw new Error("uncontended acquire was refused");
    }
    const t1 = performance.now();
    await api.release(outcome.leaseId);
    acquires.push(t1 - t0);
    releases.push(performance.now() - t1);
  };
  const workloads = {
    floor: () => api.floor(),
    json: () => api.floorWith("json", name),
    app: () => api.floorWith("app", name),
    pair,
  };
  // Warm-up: JIT on both sides, the objects' first SQLite writes, the connection.
  await runInterleaved(1, Math.min(400, roundMs), workloads);
  acquires = [];
  releases = [];
  const results = await runInterleaved(rounds, roundMs, workloads, serverCpu);
  return {
    floor: results.floor,
    floorJson: results.json,
    floorApp: results.app,
    pair: results.pair,
    acquireLatencyMs: summarize(acquires),
    releaseLatencyMs: summarize(releases),
  };
}

/**
 * Floor requests each sent after `idleMs` of silence, as a release is after a hold: on this
 * kind of machine an idle server answers its first request markedly slower than a busy one
 * (threads and CPUs asleep), and a hand-off can never be faster than that.
 */
export async function floorAfterIdle(api: EdgeApi, count: number, idleMs: number): Promise<Summary> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    await sleep(idleMs);
    const before = performance.now();
    await api.floor();
    latencies.push(performance.now() - before);
  }
  return summarize(latencies);
}

export type ContendedMode = "waiting" | "confirmed" | "socket" | "polling";

/**
 * 64 clients on a limit of 8. `waiting`: each request waits in the limit object's FIFO line
 * (`wait_seconds`) and asks again if its long-poll ends. `confirmed`: the same with a `request_id`,
 * taking its turn by coming back (`EdgeApi.acquireConfirmed`). `socket`: waiting on the limit's
 * WebSocket (`EdgeApi.acquireBySocket`). `polling`: Prefect's client, with
 * `wait_seconds: 0` and, on 423, a sleep of `Retry-After` seconds before asking again.
 */
export async function contended(
  api: EdgeApi,
  mode: ContendedMode,
  options: { clients: number; limit: number; holdMs: number; durationMs: number; serverCpu?: CpuProbe },
  name = `bench-contended-${mode}`,
): Promise<ContendedResult & { retry_after_s: Summary | null }> {
  await api.createLimit({ name, limit: options.limit });
  let refusals = 0;
  const retryAfters: number[] = [];
  const client = (): SlotClient => ({
    async acquire(stop) {
      if (mode === "confirmed") {
        const granted = await api.acquireConfirmed(name, stop);
        return () => api.release(granted.leaseId);
      }
      if (mode === "socket") {
        const granted = await api.acquireBySocket(name, stop);
        if (granted === null) {
          refusals += 1;
          return null;
        }
        return () => api.release(granted.leaseId);
      }
      const outcome = await api.acquire(name, mode === "waiting" ? LONG_POLL_S : 0, stop);
      if ("leaseId" in outcome) {
        return () => api.release(outcome.leaseId);
      }
      refusals += 1;
      if (mode === "polling") {
        retryAfters.push(outcome.retryAfterS);
        await sleep(outcome.retryAfterS * 1000, stop);
      }
      return null;
    },
  });
  const result = await runContended({ ...options, client, refusals: () => refusals });
  return { ...result, retry_after_s: mode === "polling" ? summarize(retryAfters) : null };
}

export interface RateLimitResult {
  limit: number;
  slot_decay_per_second: number;
  clients: number;
  duration_s: number;
  configured_per_s: number;
  admitted_per_s: number;
  error_pct: number;
  /** The steady state: grants counted from `warmup_s` to the deadline, and its length. */
  warmup_s: number;
  steady_grants: number;
  steady_window_s: number;
  total_grants: number;
  refusals: number;
  errors: number;
  first_error?: string;
}

/**
 * A rate limit of `limit` with decay `limit`/s and 64 greedy clients, each asking again as soon
 * as it is answered: `POST /increment` in `rate_limit` mode, waiting in line up to the long-poll.
 * An empty bucket first admits a burst of `limit`; after `warmupMs` the bucket is full and the
 * line never empties (64 clients ask for more than 50/s), so what it admits from then to the
 * deadline is what has leaked: that window's grants per second is `admitted_per_s`.
 */
export async function rateLimit(
  api: EdgeApi,
  options: { clients: number; limit: number; perSecond: number; durationMs: number; warmupMs: number },
): Promise<RateLimitResult> {
  const name = "bench-rate-limit";
  await api.createLimit({ name, limit: options.limit, slot_decay_per_second: options.perSecond });
  const grants: number[] = [];
  let refusals = 0;
  const errors = new ErrorTally();
  const stop = new AbortController();
  const start = performance.now();
  const end = start + options.durationMs;
  const timer = setTimeout(() => stop.abort(), options.durationMs);
  const loop = async () => {
    for (let i = 0; i < 1_000_000 && !stop.signal.aborted; i++) {
      try {
        const answer = await post(
          api.url(`${API}/increment`),
          { names: [name], slots: 1, mode: "rate_limit", wait_seconds: LONG_POLL_S },
          stop.signal,
        );
        if (answer.status === 200) {
          grants.push(performance.now());
        } else if (answer.status === 423) {
          refusals += 1;
        } else {
          errors.add(`${answer.status} ${JSON.stringify(answer.body)}`);
        }
      } catch (error) {
        if (!(await recordFailure(error, stop.signal, errors))) {
          return;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, loop));
  clearTimeout(timer);
  const steady = rateIn(grants, start + options.warmupMs, end);
  return {
    limit: options.limit,
    slot_decay_per_second: options.perSecond,
    clients: options.clients,
    duration_s: options.durationMs / 1000,
    configured_per_s: options.perSecond,
    admitted_per_s: steady.perSecond,
    error_pct: ((steady.perSecond - options.perSecond) / options.perSecond) * 100,
    warmup_s: options.warmupMs / 1000,
    steady_grants: steady.grants,
    steady_window_s: steady.windowS,
    total_grants: grants.filter((at) => at <= end).length,
    refusals,
    errors: errors.count,
    ...errors.field,
  };
}
