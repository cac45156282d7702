/**
 * The workloads, independent of what is being measured: a sequential loop (the floor and the
 * uncontended pair), the contended loop (N clients, one limit, hold, release) and the greedy
 * rate-limit loop. Every loop is bounded by a deadline and by an iteration cap.
 */

import { isAbort, sleep } from "./http.ts";
import { grantsIn, handoffs, type Hold, maxHolders, summarize, type Summary, utilization } from "./stats.ts";

/** No loop runs more often than this, whatever the deadline. */
const MAX_ITERATIONS = 1_000_000;

export interface SequentialResult {
  operations: number;
  seconds: number;
  perSecond: number;
  latencyMs: Summary;
  /** Operations per second of each round. */
  perRound: number[];
  /** CPU time per operation, in microseconds: the server's (null when unknown) and this process's. */
  serverCpuUsPerOp: number | null;
  clientCpuUsPerOp: number;
}

/** Reads the server's CPU seconds so far (null when it cannot be read). */
export type CpuProbe = () => number | null;

/** One client, one operation after another, for `durationMs`; the latency of each. */
async function sequential(
  durationMs: number,
  operation: () => Promise<void>,
): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + durationMs;
  let now = start;
  for (let i = 0; i < MAX_ITERATIONS && now < end; i++) {
    const before = now;
    await operation();
    now = performance.now();
    latencies.push(now - before);
  }
  return { seconds: (now - start) / 1000, latencies };
}

/**
 * Sequential workloads in alternating rounds (A, B, A, B, …), added up per workload, so that
 * whatever else the machine does in the meantime hits each of them alike.
 */
export async function runInterleaved<K extends string>(
  rounds: number,
  roundMs: number,
  workloads: Record<K, () => Promise<void>>,
  serverCpu: CpuProbe = () => null,
): Promise<Record<K, SequentialResult>> {
  const names = Object.keys(workloads) as K[];
  type Run = { seconds: number; latencies: number[]; serverCpuS: number | null; clientCpuS: number };
  const runs = new Map<K, Run[]>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const serverBefore = serverCpu();
      const clientBefore = process.cpuUsage();
      const run = await sequential(roundMs, workloads[name]);
      const client = process.cpuUsage(clientBefore);
      const serverAfter = serverCpu();
      runs.get(name)?.push({
        ...run,
        serverCpuS: serverBefore === null || serverAfter === null ? null : serverAfter - serverBefore,
        clientCpuS: (client.user + client.system) / 1e6,
      });
    }
  }
  const out = {} as Record<K, SequentialResult>;
  for (const name of names) {
    const done = runs.get(name) ?? [];
    const operations = done.reduce((total, run) => total + run.latencies.length, 0);
    const seconds = done.reduce((total, run) => total + run.seconds, 0);
    const serverCpuS = done.some((run) => run.serverCpuS === null)
      ? null
      : done.reduce((total, run) => total + (run.serverCpuS ?? 0), 0);
    const clientCpuS = done.reduce((total, run) => total + run.clientCpuS, 0);
    out[name] = {
      operations,
      seconds,
      perSecond: operations / seconds,
      latencyMs: summarize(done.flatMap((run) => run.latencies)),
      perRound: done.map((run) => run.latencies.length / run.seconds),
      serverCpuUsPerOp: serverCpuS === null ? null : (serverCpuS * 1e6) / operations,
      clientCpuUsPerOp: (clientCpuS * 1e6) / operations,
    };
  }
  return out;
}

/** One client of a contended limit. */
export interface SlotClient {
  /**
   * Takes one slot, waiting or polling as the implementation does. Resolves to the release, or
   * null when this attempt was refused (the loop asks again). Rejects with an AbortError once
   * `stop` aborts.
   */
  acquire(stop: AbortSignal): Promise<(() => Promise<void>) | null>;
}

export interface ContendedResult {
  clients: number;
  limit: number;
  hold_ms: number;
  duration_s: number;
  utilization: number;
  handoff_p50_ms: number | null;
  handoff_p99_ms: number | null;
  max_holders_seen: number;
  grants_per_s: number;
  grants: number;
  refusals: number;
  errors: number;
  handoff_ms: Summary;
  /** Hand-offs in which the releasing client itself took the slot back (barging). */
  handoff_self_pct: number | null;
  /** The other hand-offs: a slot passing from one client to another. */
  handoff_to_other_client_ms: Summary;
  /** Time from asking to holding, per grant. */
  acquire_ms: Summary;
  /** Time from sending the release to its answer. */
  release_ms: Summary;
  /** Fairness: the fewest and most grants one client got. */
  grants_per_client_min: number;
  grants_per_client_max: number;
  /** CPU time per grant, in microseconds: the server's (null when unknown) and this process's. */
  server_cpu_us_per_grant: number | null;
  client_cpu_us_per_grant: number;
  first_error?: string;
}

/** The errors a load run met: how many, and the first one's text for the results file. */
export class ErrorTally {
  count = 0;
  first: string | undefined;

  add(what: string): void {
    this.count += 1;
    this.first ??= what;
  }

  /** A result's `first_error`, when there was one. */
  get field(): { first_error?: string } {
    return this.first === undefined ? {} : { first_error: this.first };
  }
}

/**
 * After an attempt threw: false when it was aborted at the run's deadline (the loop is over);
 * otherwise counts the error and pauses 10 ms, so a failing server is not hammered.
 */
export async function recordFailure(error: unknown, stop: AbortSignal, tally: ErrorTally): Promise<boolean> {
  if (stop.aborted && isAbort(error)) {
    return false;
  }
  tally.add(String(error));
  await sleep(10, stop);
  return true;
}

export interface ContendedOptions {
  clients: number;
  limit: number;
  holdMs: number;
  durationMs: number;
  /** A fresh client per loop iteration or per client: the implementation decides. */
  client: (index: number) => SlotClient;
  /** Counted by the client: how many attempts were refused. */
  refusals: () => number;
  /** The server's CPU time, for CPU per grant. */
  serverCpu?: CpuProbe;
}

/**
 * `clients` loops against one limit for `durationMs`: acquire, hold `holdMs`, release. At the
 * deadline, attempts still waiting are aborted; a slot already granted is held and released
 * as usual. Holds are recorded client-side as [grant received, release sent].
 */
export async function runContended(options: ContendedOptions): Promise<ContendedResult> {
  const holds: Hold[] = [];
  const acquireLatencies: number[] = [];
  const releaseLatencies: number[] = [];
  const perClient: number[] = new Array<number>(options.clients).fill(0);
  const errors = new ErrorTally();
  const stop = new AbortController();
  const serverCpu = options.serverCpu ?? (() => null);
  const serverBefore = serverCpu();
  const clientBefore = process.cpuUsage();
  const start = performance.now();
  const end = start + options.durationMs;
  const timer = setTimeout(() => stop.abort(), options.durationMs);

  async function loop(index: number): Promise<void> {
    const client = options.client(index);
    for (let i = 0; i < MAX_ITERATIONS && !stop.signal.aborted; i++) {
      const askedAt = performance.now();
      let release: (() => Promise<void>) | null;
      try {
        release = await client.acquire(stop.signal);
      } catch (error) {
        if (await recordFailure(error, stop.signal, errors)) {
          continue;
        }
        return;
      }
      if (release === null) {
        continue;
      }
      const grantAt = performance.now();
      acquireLatencies.push(grantAt - askedAt);
      await sleep(options.holdMs);
      const releaseAt = performance.now();
      holds.push({ grantAt, releaseAt, client: index });
      perClient[index] = (perClient[index] ?? 0) + 1;
      try {
        await release();
        releaseLatencies.push(performance.now() - releaseAt);
      } catch (error) {
        errors.add(String(error));
      }
    }
  }

  await Promise.all(Array.from({ length: options.clients }, (_, index) => loop(index)));
  clearTimeout(timer);
  const serverAfter = serverCpu();
  const client = process.cpuUsage(clientBefore);
  // CPU over the whole run, drain included, per grant made in it.
  const allGrants = Math.max(1, holds.length);
  const handoff = handoffs(holds);
  const handoffSummary = summarize(handoff.latencies);
  const grants = grantsIn(holds, start, end);
  return {
    clients: options.clients,
    limit: options.limit,
    hold_ms: options.holdMs,
    duration_s: options.durationMs / 1000,
    utilization: utilization(holds, options.limit, start, end),
    handoff_p50_ms: handoffSummary.p50,
    handoff_p99_ms: handoffSummary.p99,
    max_holders_seen: maxHolders(holds),
    grants_per_s: grants / (options.durationMs / 1000),
    grants,
    refusals: options.refusals(),
    errors: errors.count,
    handoff_ms: handoffSummary,
    handoff_self_pct: handoff.selfPct,
    handoff_to_other_client_ms: summarize(handoff.toOthers),
    acquire_ms: summarize(acquireLatencies),
    release_ms: summarize(releaseLatencies),
    server_cpu_us_per_grant:
      serverBefore === null || serverAfter === null ? null : ((serverAfter - serverBefore) * 1e6) / allGrants,
    client_cpu_us_per_grant: (client.user + client.system) / allGrants,
    grants_per_client_min: Math.min(...perClient),
    grants_per_client_max: Math.max(...perClient),
    ...errors.field,
  };
}
