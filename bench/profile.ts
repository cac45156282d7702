/**
 * `node bench/profile.ts [uncontended|contended|floor] [seconds]`: a V8 CPU profile of the Worker
 * and its Durable Objects (one isolate under workerd) while one bench workload runs. Writes
 * `bench/results/profile-<workload>.cpuprofile` (open it in Chrome DevTools or speedscope) and
 * prints the functions with the most self time, and the share of time under each of the
 * project's files. A diagnostic, not part of `npm run bench`.
 */

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { SourceMap } from "node:module";
import { join, relative } from "node:path";
import { contended, EdgeApi } from "./lib/edge.ts";
import { post } from "./lib/http.ts";
import { benchDir, rootDir, startWorker } from "./lib/worker-host.ts";

/** `rpc`: the caller Worker's isolate while it loops `createClient({ binding })` acquire + release. */
type Workload = "uncontended" | "contended" | "floor" | "rpc";
const workload = (process.argv[2] ?? "uncontended") as Workload;
const seconds = Number(process.argv[3] ?? 5);
if (!["uncontended", "contended", "floor", "rpc"].includes(workload) || !(seconds > 0 && seconds <= 60)) {
  console.error("usage: node bench/profile.ts [uncontended|contended|floor|rpc] [seconds ≤ 60]");
  process.exit(2);
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A minimal Chrome DevTools Protocol session over the inspector's WebSocket. */
async function connect(
  url: string,
): Promise<{ send(method: string, params?: object): Promise<unknown>; close(): void }> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (waiter && message.id !== undefined) {
      pending.delete(message.id);
      if (message.error) {
        waiter.reject(new Error(message.error.message));
      } else {
        waiter.resolve(message.result);
      }
    }
  });
  return {
    send(method, params = {}) {
      const id = nextId++;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    },
    close: () => socket.close(),
  };
}

let runs = 0;

async function drive(api: EdgeApi, durationMs: number, callerUrl: string): Promise<string> {
  runs += 1;
  if (workload === "rpc") {
    const name = `profile-rpc-${runs}`;
    await api.createLimit({ name, limit: 8 });
    const answer = await post(`${callerUrl}/loop?kind=rpc_client&ms=${durationMs}&name=${name}`, undefined);
    return `rpc: ${JSON.stringify(answer.body)}`;
  }
  if (workload === "contended") {
    const result = await contended(
      api,
      "waiting",
      { clients: 64, limit: 8, holdMs: 20, durationMs },
      `profile-${runs}`,
    );
    return `contended: utilization ${result.utilization.toFixed(3)}, hand-off p50 ${result.handoff_p50_ms?.toFixed(2)} ms, ${result.grants} grants`;
  }
  if (workload === "floor") {
    let count = 0;
    const end = performance.now() + durationMs;
    for (; count < 1_000_000 && performance.now() < end; count++) {
      await api.floor();
    }
    return `floor: ${count} requests`;
  }
  const name = `profile-uncontended-${runs}`;
  await api.createLimit({ name, limit: 8 });
  let pairs = 0;
  const end = performance.now() + durationMs;
  for (; pairs < 1_000_000 && performance.now() < end; pairs++) {
    const outcome = await api.acquire(name, 5);
    if ("leaseId" in outcome) {
      await api.release(outcome.leaseId);
    }
  }
  return `uncontended: ${pairs} pairs`;
}

/**
 * Self time and total time (self plus callees) per function, located in the project's sources
 * through the bundle's source map, and self time per source file.
 */
function summarize(profile: Profile, map: SourceMap | null): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parent.set(child, node.id);
    }
  }
  const where = (frame: ProfileNode["callFrame"]): { fn: string; file: string; line: number } => {
    const name = frame.functionName || "(anonymous)";
    if ((frame.url.endsWith("worker.js") || frame.url.endsWith("caller.js")) && map) {
      const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
        originalSource?: string;
        originalLine?: number;
      };
      if (entry.originalSource) {
        const file = relative(rootDir, entry.originalSource.replace(/^file:\/\//, "")).replace(/^(\.\.\/)+/, "");
        return { fn: name, file, line: (entry.originalLine ?? 0) + 1 };
      }
    }
    return {
      fn: name,
      file: frame.url === "" ? "(native)" : frame.url.replace(/^.*\//, ""),
      line: frame.lineNumber + 1,
    };
  };
  const keyOf = (node: ProfileNode) => {
    const at = where(node.callFrame);
    return { fn: `${at.fn}  ${at.file}:${at.line}`, file: at.file };
  };
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) {
      continue;
    }
    const key = keyOf(node);
    self.set(key.fn, (self.get(key.fn) ?? 0) + us);
    byFile.set(key.file, (byFile.get(key.file) ?? 0) + us);
    // Each function on the sampled stack counts once, however deep it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (!frame) {
        break;
      }
      const fn = keyOf(frame).fn;
      if (!seen.has(fn)) {
        seen.add(fn);
        inclusive.set(fn, (inclusive.get(fn) ?? 0) + us);
      }
    }
  }
  const top = (table: Map<string, number>, n: number) =>
    [...table.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, us]) => `${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}`)
      .join("\n");
  return [
    `sampled ${(total / 1e6).toFixed(2)} s of the Worker's isolate`,
    `\nself time by function:\n${top(self, 25)}`,
    `\ntotal time (self + callees) by function:\n${top(inclusive, 40)}`,
    `\nself time by file:\n${top(byFile, 25)}`,
  ].join("\n");
}

async function main(): Promise<void> {
  const host = await startWorker({ inspectorPort: 0 });
  try {
    const api = new EdgeApi(host.url);
    // Warm up before the profile, so start-up and JIT are not what it shows.
    await drive(api, 1000, host.callerUrl);
    const targets = (await (
      await fetch(`${host.inspectorUrl?.replace(/^ws/, "http").replace(/\/$/, "")}/json/list`)
    ).json()) as {
      id: string;
      webSocketDebuggerUrl: string;
    }[];
    // Two Workers run: the bench Worker, and the caller whose isolate the `rpc` workload profiles.
    const isolate = workload === "rpc" ? "core:user:edge-gcl-bench-caller" : "core:user:edge-gcl-bench";
    const target =
      targets.find((t) => t.id === isolate) ?? targets.find((t) => t.id.startsWith("core:user:")) ?? targets[0];
    if (!target) {
      throw new Error("no inspector target");
    }
    const session = await connect(target.webSocketDebuggerUrl);
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 100 });
    await session.send("Profiler.start");
    const said = await drive(api, seconds * 1000, host.callerUrl);
    const { profile } = (await session.send("Profiler.stop")) as { profile: Profile };
    session.close();
    const mapFile =
      workload === "rpc" ? join(host.callerBundleDir, "caller.js.map") : join(host.bundleDir, "worker.js.map");
    const map = new SourceMap(
      JSON.parse(await readFile(mapFile, "utf8")) as ConstructorParameters<typeof SourceMap>[0],
    );
    const out = join(benchDir, "results", `profile-${workload}.cpuprofile`);
    await mkdir(join(benchDir, "results"), { recursive: true });
    await writeFile(out, JSON.stringify(profile));
    console.log(said);
    console.log(summarize(profile, map));
    console.log(`\nwritten: ${out}`);
  } finally {
    await host.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
