import { describe, it } from "vitest";
import { createClient, type FetchLike } from "../../src/client";
import { api, createLimit, eventually, takeLease, uniqueName, waitingOn } from "../helpers/api";
import { recordingLogger, workerFetch } from "../helpers/client";

/**
 * A fetch through a proxy that does not pass a client's disconnect on (as `wrangler dev` does):
 * the caller's promise rejects on abort, but the Worker never sees the request end.
 */
const deafProxy: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const signal = init?.signal;
    signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    const { signal: _dropped, ...rest } = init ?? {};
    workerFetch(url, rest).then(resolve, reject);
  });

describe("a caller that gives up while waiting", () => {
  it("is taken out of line by the client itself when the Worker cannot see the disconnect", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const holder = await takeLease([name]);
    const gcl = createClient({ fetch: deafProxy, logger: recordingLogger() });
    const controller = new AbortController();
    const waiting = gcl.acquire(name, { signal: controller.signal }).catch((error: unknown) => error);
    await eventually(async () => (await waitingOn(name)) === 1);

    controller.abort(new Error("caller gave up"));
    expect(await waiting).toMatchObject({ message: "caller gave up" });
    await eventually(async () => (await waitingOn(name)) === 0);

    // The slot released now goes to nobody: it is free, not held by the abandoned request.
    await api("POST", "/decrement-with-lease", { lease_id: holder.body.lease_id });
    expect((await api("GET", `/${name}`)).body.active_slots).toBe(0);
  });
});
