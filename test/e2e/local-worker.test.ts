import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../helpers/local-worker";

let worker: LocalWorker;
beforeAll(async () => {
  worker = await startLocalWorker();
}, 60_000);
afterAll(() => worker?.stop());

describe("the Worker on a real loopback port", () => {
  it("answers real HTTP", async ({ expect }) => {
    const response = await fetch(`${worker.url}/healthz`);
    expect(await response.json()).toEqual({ ok: true });
  });
});
