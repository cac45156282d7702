// What UUID lease ids cost Prefect's client: acquire → renew → release cycles against a running
// Worker, with and without Prefect's headers, alternating per cycle so machine load hits both
// alike. Prints the median milliseconds of each step. Not part of `npm test` (timings only).
// Usage: node test/prefect/lease-cost.mjs http://127.0.0.1:8787 [cycles per kind, default 300]

const url = `${process.argv[2] ?? "http://127.0.0.1:8787"}/api/v2/concurrency_limits`;
const cycles = Number(process.argv[3] ?? 300);
const warmup = 50;
const prefect = { "user-agent": "prefect/3.4.0 (API 0.8.4)", "x-prefect-api-version": "0.8.4" };
const post = (path, body, headers = {}) =>
  fetch(url + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const name = `lease-cost-${crypto.randomUUID().slice(0, 8)}`;
await post("/", { name, limit: 1000 });
const runs = { native: { acquire: [], renew: [], release: [] }, prefect: { acquire: [], renew: [], release: [] } };
for (let i = 0; i < 2 * cycles + warmup; i++) {
  const kind = i % 2 === 0 ? "native" : "prefect";
  const headers = kind === "prefect" ? prefect : {};
  let start = performance.now();
  const { lease_id } = await (
    await post("/increment-with-lease", { names: [name], slots: 1, lease_duration: 300 }, headers)
  ).json();
  const acquire = performance.now() - start;
  start = performance.now();
  await (await post(`/leases/${lease_id}/renew`, { lease_duration: 300 }, headers)).arrayBuffer();
  const renew = performance.now() - start;
  start = performance.now();
  await (await post("/decrement-with-lease", { lease_id }, headers)).arrayBuffer();
  const release = performance.now() - start;
  if (i >= warmup) {
    runs[kind].acquire.push(acquire);
    runs[kind].renew.push(renew);
    runs[kind].release.push(release);
  }
}
await fetch(`${url}/${name}`, { method: "DELETE" });
for (const [kind, steps] of Object.entries(runs)) {
  const medians = Object.entries(steps).map(([step, values]) => `${step} ${median(values).toFixed(1)} ms`);
  console.log(`${kind.padEnd(8)} ${medians.join(", ")} (n=${steps.acquire.length})`);
}
