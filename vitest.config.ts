import { execFileSync } from "node:child_process";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The Worker inlines the dashboard's bundle (src/dashboard/generated/, git-ignored): build it from
// the current sources before any test, as wrangler's [build] does before `dev` and `deploy`.
execFileSync(process.execPath, ["scripts/build-dashboard.mjs"], { stdio: "ignore" });

export default defineConfig({
  test: {
    retry: 0,
    restoreMocks: true,
    projects: [
      {
        test: {
          name: "unit",
          environment: "node",
          include: ["test/core/**/*.test.ts", "test/coordinator/**/*.test.ts", "test/protocol/**/*.test.ts", "test/async/**/*.test.ts", "test/cli/**/*.test.ts", "test/client/**/*.test.ts", "test/docs/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "chaos",
          environment: "node",
          include: ["test/chaos/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: { GCL_ALLOW_ANONYMOUS: "true" } },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/worker/**/*.test.ts"],
        },
      },
      {
        // The event sinks as the local runtime provides them: a Queue producer and an Analytics
        // Engine dataset, bound as wrangler.toml's commented example would bind them.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { GCL_ALLOW_ANONYMOUS: "true" },
              queueProducers: { GCL_EVENTS_QUEUE: { queueName: "gcl-events" } },
              analyticsEngineDatasets: { GCL_EVENTS_ANALYTICS: { dataset: "gcl_events" } },
            },
          }),
        ],
        test: {
          name: "sinks",
          include: ["test/sinks/**/*.test.ts"],
        },
      },
    ],
  },
});
