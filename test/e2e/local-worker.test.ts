import { describe, it } from "vitest";
import { useLocalWorker } from "../helpers/local-worker";

const worker = useLocalWorker();

describe("the Worker on a real loopback port", () => {
  it("answers real HTTP", async ({ expect }) => {
    const response = await fetch(`${worker.url}/healthz`);
    expect(await response.json()).toEqual({ ok: true });
  });
});
