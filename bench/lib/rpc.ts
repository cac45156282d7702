/**
 * The RPC figures, timed inside workerd: the bench caller Worker (bench/caller.ts) loops one kind
 * of call over its service binding for a round and reports the count and the time; kinds
 * alternate round by round (floor, raw RPC pair, client RPC pair, client HTTP pair, floor, …) so
 * that whatever else the machine does hits each alike. The load generator sends one request per
 * round, so its own cost does not count.
 */

import { post } from "./http.ts";
import type { CpuProbe } from "./workloads.ts";

export type RpcKind = "floor" | "floor_validated" | "rpc_raw" | "rpc_client" | "http_client";

const KINDS: RpcKind[] = ["floor", "floor_validated", "rpc_raw", "rpc_client", "http_client"];

export interface RpcKindResult {
  operations: number;
  seconds: number;
  perSecond: number;
  perRound: number[];
  /** workerd CPU (caller and callee: one process) per operation, in µs; null where /proc cannot tell. */
  cpuUsPerOp: number | null;
}

export type RpcResults = Record<RpcKind, RpcKindResult>;

async function loop(
  callerUrl: string,
  kind: RpcKind,
  ms: number,
  name: string,
): Promise<{ operations: number; ms: number }> {
  const answer = await post(`${callerUrl}/loop?kind=${kind}&ms=${ms}&name=${encodeURIComponent(name)}`, undefined);
  if (answer.status !== 200) {
    throw new Error(`caller loop ${kind}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body as { operations: number; ms: number };
}

/** Runs every kind in alternating rounds after a warm-up; `name` must be a limit with room. */
export async function rpcFigures(
  callerUrl: string,
  name: string,
  rounds: number,
  roundMs: number,
  serverCpu: CpuProbe = () => null,
): Promise<RpcResults> {
  for (const kind of KINDS) {
    await loop(callerUrl, kind, Math.min(400, roundMs), name);
  }
  const totals = Object.fromEntries(
    KINDS.map((kind) => [kind, { operations: 0, ms: 0, perRound: [] as number[], cpuS: 0 as number | null }]),
  ) as Record<RpcKind, { operations: number; ms: number; perRound: number[]; cpuS: number | null }>;
  for (let round = 0; round < rounds; round++) {
    for (const kind of KINDS) {
      const cpuBefore = serverCpu();
      const run = await loop(callerUrl, kind, roundMs, name);
      const cpuAfter = serverCpu();
      const total = totals[kind];
      total.cpuS =
        total.cpuS === null || cpuBefore === null || cpuAfter === null ? null : total.cpuS + cpuAfter - cpuBefore;
      total.operations += run.operations;
      total.ms += run.ms;
      total.perRound.push(run.ms > 0 ? (run.operations * 1000) / run.ms : 0);
    }
  }
  return Object.fromEntries(
    KINDS.map((kind) => {
      const { operations, ms, perRound, cpuS } = totals[kind];
      const cpuUsPerOp = cpuS === null || operations === 0 ? null : (cpuS * 1e6) / operations;
      return [
        kind,
        { operations, seconds: ms / 1000, perSecond: ms > 0 ? (operations * 1000) / ms : 0, perRound, cpuUsPerOp },
      ];
    }),
  ) as RpcResults;
}
