import { describe, it } from "vitest";
import { api, createLimit, eventually, takeLease, uniqueName, waitingOn } from "../helpers/api";

const WAITERS = 1_000;

describe("a thousand waiters on one limit", () => {
  it("serves all of them, first come first served, with no error", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const first = await takeLease([name]);

    const grantOrder: number[] = [];
    const statuses: number[] = [];
    const done: Promise<void>[] = [];
    for (let i = 0; i < WAITERS; i++) {
      const request = api("POST", "/increment-with-lease", {
        names: [name],
        slots: 1,
        wait_seconds: 60,
        holder: { type: "waiter", id: String(i) },
      }).then(async (response) => {
        statuses.push(response.status);
        if (response.status === 200) {
          grantOrder.push(i);
          await api("POST", "/decrement-with-lease", { lease_id: response.body.lease_id });
        }
      });
      done.push(request);
      // Arrival order is defined by the limit object: wait until this request is in line.
      await eventually(async () => (await waitingOn(name)) === i + 1, { timeoutMs: 10_000 });
    }

    await api("POST", "/decrement-with-lease", { lease_id: first.body.lease_id });
    await Promise.all(done);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(grantOrder).toEqual([...Array(WAITERS).keys()]);
    expect(await waitingOn(name)).toBe(0);
    expect((await takeLease([name])).status).toBe(200);
  }, 120_000);
});
