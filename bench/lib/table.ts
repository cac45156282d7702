/**
 * The bench's table for a person: each figure of the results file beside its goal and whether
 * it was met, then where an uncontended request's time goes, and what the figures mean.
 */

import { CONTENDED, GOALS, RATE } from "./plan.ts";
import type { Peer, Results } from "./report.ts";
import type { ContendedResult } from "./workloads.ts";

export function fmt(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(digits);
}

/** Wait p99, the fewest–most grants one client got, and how many hand-offs went back to the releaser. */
function fairness(result: ContendedResult): string {
  return `wait p99 ${fmt(result.acquire_ms.p99, 0)} ms, grants/client ${result.grants_per_client_min}–${result.grants_per_client_max}, self hand-offs ${fmt(result.handoff_self_pct, 0)} %`;
}

function renderLadder(steps: Results["floor_ladder"]): string[] {
  const rows = Object.entries(steps).map(([key, step]) => [
    `  ${key}`,
    `${fmt(step.requests_per_s, 0)} req/s`,
    `${fmt(step.ratio_to_floor, 2)} of floor`,
    `p50 ${fmt(step.latency_p50_ms, 3)} ms`,
    `workerd ${fmt(step.workerd_cpu_us_per_request, 0)} µs CPU`,
    step.what,
  ]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

function cpu(result: ContendedResult, server: string): string {
  return `${server} ${fmt(result.server_cpu_us_per_grant, 0)} µs, load generator ${fmt(result.client_cpu_us_per_grant, 0)} µs`;
}

/** The results as a table with a header on the machine and the run, and notes on the definitions. */
export function renderTable(results: Results, peer: Peer | null, peerReason: string | undefined): string {
  const status = (figure: string) => {
    const goal = results.goals.find((g) => g.figure === figure);
    return goal === undefined ? "" : goal.met ? "PASS" : "MISS";
  };
  const rows: [string, string, string, string][] = [];
  const row = (figure: string, value: string, goal = "", state = status(figure)) =>
    rows.push([figure, value, goal, state]);
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
  row(
    "  raw RPC, no client",
    `${fmt(rpc.raw_acquire_release_per_s, 0)} pairs/s`,
    `(ratio ${fmt(rpc.raw_ratio_to_floor, 2)})`,
  );
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
  row(
    "contended.utilization",
    fmt(waiting.utilization, 3),
    `>= ${GOALS.utilization} (polling: ${fmt(polling.utilization, 3)})`,
  );
  row("  bound from the idle floor", fmt(floor.utilization_bound, 3), "hold / (hold + idle floor)");
  row("contended.utilization_of_bound", fmt(waiting.utilization_of_bound, 3), `>= ${GOALS.utilizationOfBound}`);
  row("contended.handoff_p50_ms", fmt(waiting.handoff_p50_ms, 2), `<= ${GOALS.handoffP50Ms}`);
  row("contended.handoff_over_idle_floor", fmt(waiting.handoff_over_idle_floor, 2), `<= ${GOALS.handoffOverIdleFloor}`);
  row("contended.handoff_p99_ms", fmt(waiting.handoff_p99_ms, 2), "(reported)");
  row("contended.max_holders_seen", String(waiting.max_holders_seen), `<= ${CONTENDED.limit}`);
  row("contended.grants_per_s", fmt(waiting.grants_per_s, 0), `(ideal ${fmt(ideal, 0)})`);
  row("contended fairness", fairness(waiting), "(reported)");
  row("contended CPU per grant", cpu(waiting, "workerd"), "(reported)");
  for (const [label, run] of [
    ["contended_confirmed", results.contended_confirmed],
    ["contended_socket", results.contended_socket],
  ] as const) {
    row(`${label}.utilization`, fmt(run.utilization, 3), "(reported)");
    row(`${label}.utilization_of_bound`, fmt(run.utilization_of_bound, 3), "(reported)");
    row(`${label}.handoff_p50_ms`, fmt(run.handoff_p50_ms, 2), "(reported)");
    row(`${label}.handoff_over_idle_floor`, fmt(run.handoff_over_idle_floor, 2), "(reported)");
    row(`${label}.handoff_p99_ms`, fmt(run.handoff_p99_ms, 2), "(reported)");
    row(`${label}.max_holders_seen`, String(run.max_holders_seen), `<= ${CONTENDED.limit}`);
    row(`${label} fairness`, fairness(run), "(reported)");
  }
  row("contended_polling.utilization", fmt(polling.utilization, 3), "(baseline)");
  row("contended_polling.handoff_p50_ms", fmt(polling.handoff_p50_ms, 2), "(baseline)");
  row("contended_polling.handoff_p99_ms", fmt(polling.handoff_p99_ms, 2), "(baseline)");
  row("contended_polling.max_holders_seen", String(polling.max_holders_seen), `<= ${CONTENDED.limit}`);
  row("contended_polling.grants_per_s", fmt(polling.grants_per_s, 0), "(baseline)");
  row("contended_polling fairness", fairness(polling), "(baseline)");
  row("rate_limit.configured_per_s", fmt(rate.configured_per_s, 0));
  row("rate_limit.admitted_per_s", fmt(rate.admitted_per_s, 2));
  row("rate_limit.error_pct", fmt(rate.error_pct, 2), `within ±${GOALS.rateErrorPct}`);
  const dead = results.dead_waiters;
  row(
    "dead head: away / silent socket / closed",
    `${fmt(dead.away_between_calls_s, 2)} s / ${fmt(dead.silent_socket_s, 2)} s / ${fmt(dead.closed_socket_s, 3)} s`,
    "<= 10 s (grace); offer 5 s",
  );
  row("bundle.minified_bytes", `${fmt(results.bundle.minified_bytes / 1024, 1)} KiB`, "<= 150 KiB");
  row("bundle.gzip_bytes", `${fmt(results.bundle.gzip_bytes / 1024, 1)} KiB`, "(reported)");
  row(
    "cold_start.healthz_ms",
    fmt(results.cold_start.healthz_ms, 0),
    `(after workerd ready: ${fmt(results.cold_start.healthz_after_ready_ms, 1)} ms)`,
  );
  row(
    "cold_start.first_grant_ms",
    fmt(results.cold_start.first_grant_ms, 0),
    `(after workerd ready: ${fmt(results.cold_start.first_grant_after_ready_ms, 1)} ms)`,
  );
  if (peer) {
    row(
      "peer.uncontended.acquire_release_per_s",
      `${fmt(peer.uncontended.acquire_release_per_s, 0)} pairs/s`,
      `(redis PING: ${fmt(peer.uncontended.ping_per_s, 0)}/s)`,
    );
    row("peer.contended.utilization", fmt(peer.contended.utilization, 3));
    row("peer.contended.handoff_p50_ms", fmt(peer.contended.handoff_p50_ms, 2));
    row("peer.contended.handoff_p99_ms", fmt(peer.contended.handoff_p99_ms, 2));
    row(
      "peer.contended.max_holders_seen",
      String(peer.contended.max_holders_seen),
      `<= ${CONTENDED.limit}`,
      peer.contended.max_holders_seen <= CONTENDED.limit ? "ok" : "over!",
    );
    row("peer.contended.grants_per_s", fmt(peer.contended.grants_per_s, 0));
    row("peer.contended fairness", fairness(peer.contended));
    row("peer.contended CPU per grant", cpu(peer.contended, "redis-server"));
    row(
      "contended.handoff_p50_ms vs peer",
      `${fmt(waiting.handoff_p50_ms, 2)} vs ${fmt(peer.contended.handoff_p50_ms, 2)}`,
      "lower than peer",
      status("contended.handoff_p50_ms < peer"),
    );
    row(
      "  client-to-client hand-offs only",
      `${fmt(waiting.handoff_to_other_client_ms.p50, 2)} vs ${fmt(peer.contended.handoff_to_other_client_ms.p50, 2)}`,
      "(reported)",
    );
  } else {
    row("peer", "null", peerReason ?? "", "");
  }

  const widths = [0, 1, 2, 3].map((i) =>
    Math.max(...rows.map((r) => r[i]?.length ?? 0), ["figure", "value", "goal", "status"][i]?.length ?? 0),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const m = results.machine;
  return [
    "",
    `edge-gcl bench (${results.quick ? "quick: 3 s" : "full: 10 s"} per contended run) — ${m.cores} cores (${m.cpu_model}), Node ${m.node}, workerd ${m.workerd}${m.redis_server ? `, redis-server ${m.redis_server}` : ""}`,
    `load average ${fmt(m.loadavg_1m_start, 2)} → ${fmt(m.loadavg_1m_end, 2)}; the load generator, workerd and redis-server share these ${m.cores} cores`,
    ...((m.loadavg_1m_start ?? 0) > m.cores * 0.4
      ? [
          `WARNING: the machine was busy before the run (load ${fmt(m.loadavg_1m_start, 2)} on ${m.cores} cores): wall-clock figures are unreliable; run again when it is quiet`,
        ]
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
