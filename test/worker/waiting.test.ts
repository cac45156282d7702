import { exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import {
  API,
  activeSlots,
  api,
  createLimit,
  eventually,
  sleep,
  takeLease,
  uniqueName,
  waitingOn,
} from "../helpers/api";

const release = (leaseId: string) => api("POST", "/decrement-with-lease", { lease_id: leaseId });
/**
 * Starts a waiting request and returns once the limit object has it in line. The pending response
 * is wrapped so that awaiting this function does not also await the response.
 */
async function joinLine(name: string, body: Record<string, unknown>) {
  const before = await waitingOn(name);
  const response = api("POST", "/increment-with-lease", body);
  await eventually(async () => (await waitingOn(name)) > before);
  return { response };
}

describe("waiting in line (wait_seconds)", () => {
  it("hands a released slot to the first waiter at once, then to the next", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const a = await takeLease([name], 1, { holder: { type: "t", id: "A" } });
    const { response: b } = await joinLine(name, {
      names: [name],
      slots: 1,
      wait_seconds: 5,
      holder: { type: "t", id: "B" },
    });
    const { response: c } = await joinLine(name, {
      names: [name],
      slots: 1,
      wait_seconds: 5,
      holder: { type: "t", id: "C" },
    });
    let cSettled = false;
    void c.then(() => {
      cSettled = true;
    });

    await release(a.body.lease_id);
    const bGranted = await b;
    expect(bGranted.status).toBe(200);
    const holders = (await api("GET", `/${name}/leases`)).body;
    expect(holders.leases.map((l: { holder: { id: string } }) => l.holder.id)).toEqual(["B"]);
    expect(holders.waiting).toBe(1);
    expect(cSettled).toBe(false);

    await release(bGranted.body.lease_id);
    const cGranted = await c;
    expect(cGranted.status).toBe(200);
    expect(cGranted.body.limits[0].fencing_token).toBeGreaterThan(bGranted.body.limits[0].fencing_token);
    expect(await waitingOn(name)).toBe(0);
  });

  it("answers 423 with Retry-After at the deadline and leaves the line", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);
    const { response: waiter } = await joinLine(name, { names: [name], slots: 1, wait_seconds: 0.3 });
    const response = await waiter;
    expect(response.status).toBe(423);
    expect(Number(response.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await waitingOn(name)).toBe(0);
  });

  it("never lets a later request overtake a waiter, and never starves a large one", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 3);
    const a = await takeLease([name], 2);
    const { response: w } = await joinLine(name, { names: [name], slots: 3, wait_seconds: 5 });
    // One slot is free, but W is first in line.
    const small = await takeLease([name], 1, { wait_seconds: 0 });
    expect(small.status).toBe(423);
    expect(await activeSlots(name)).toBe(2);

    await release(a.body.lease_id);
    const granted = await w;
    expect(granted.status).toBe(200);
    expect(await activeSlots(name)).toBe(3);
  });

  it("completes overlapping multi-name requests without deadlock or over-admission", async ({ expect }) => {
    const limits = { a: 1, b: 2, c: 1 } as const;
    const names = Object.fromEntries(Object.keys(limits).map((key) => [key, uniqueName(key)])) as Record<
      keyof typeof limits,
      string
    >;
    for (const key of Object.keys(limits) as (keyof typeof limits)[]) {
      await createLimit(names[key], limits[key]);
    }
    const holding: Record<string, number> = {};
    let maxOver = 0;
    const sets = [
      [names.a, names.b],
      [names.b, names.a],
      [names.b, names.c],
      [names.c, names.a, names.b],
    ];
    const run = async (set: string[]) => {
      const response = await takeLease(set, 1, { wait_seconds: 30 });
      if (response.status !== 200) {
        return response.status;
      }
      for (const name of set) {
        holding[name] = (holding[name] ?? 0) + 1;
        const key = (Object.keys(names) as (keyof typeof limits)[]).find((k) => names[k] === name);
        maxOver = Math.max(maxOver, (holding[name] ?? 0) - (key ? limits[key] : 0));
      }
      await sleep(5);
      for (const name of set) {
        holding[name] = (holding[name] ?? 0) - 1;
      }
      await release(response.body.lease_id);
      return response.status;
    };
    const statuses = await Promise.all(Array.from({ length: 24 }, (_, i) => run(sets[i % sets.length] as string[])));
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(maxOver).toBe(0);
    for (const name of Object.values(names)) {
      expect(await activeSlots(name)).toBe(0);
      expect(await waitingOn(name)).toBe(0);
    }
  });

  it("releases earlier reservations when a later name times out", async ({ expect }) => {
    const a = uniqueName("a");
    const b = uniqueName("b");
    await createLimit(a, 1);
    await createLimit(b, 1);
    await takeLease([b]);
    const response = await takeLease([a, b], 1, { wait_seconds: 0.3 });
    expect(response.status).toBe(423);
    expect(await activeSlots(a)).toBe(0);
    expect((await takeLease([a])).status).toBe(200);
  });

  it("paces waiting rate-limit requests at the decay rate, in arrival order", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 5, { slot_decay_per_second: 5 });
    const start = Date.now();
    const order: number[] = [];
    const grantedAfterMs: number[] = [];
    const requests: Promise<void>[] = [];
    for (let i = 0; i < 15; i++) {
      const before = await waitingOn(name);
      const request = api("POST", "/increment", { names: [name], slots: 1, mode: "rate_limit", wait_seconds: 30 }).then(
        (response) => {
          expect(response.status).toBe(200);
          order.push(i);
          grantedAfterMs.push(Date.now() - start);
        },
      );
      requests.push(request);
      // The first five are admitted at once; each later one is in line before the next is sent.
      await eventually(async () => order.includes(i) || (await waitingOn(name)) > before);
    }
    await Promise.all(requests);
    expect(order).toEqual([...Array(15).keys()]);
    // Safety of the rate: the k-th grant beyond the burst cannot come before k slots leaked at 5/s.
    grantedAfterMs.forEach((elapsed, k) => {
      expect(elapsed).toBeGreaterThanOrEqual(Math.max(0, k - 4) * 200 - 1);
    });
  });

  it("wakes waiters when their limit is deleted; they then see it missing", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);
    const { response: waiter } = await joinLine(name, { names: [name], slots: 1, wait_seconds: 5 });
    expect((await api("DELETE", `/${name}`)).status).toBe(204);
    const response = await waiter;
    expect(response.status).toBe(200);
    expect(response.body.limits).toEqual([]);
    expect(response.body.missing).toEqual([name]);
  });

  it("serves waiters when a PATCH raises the limit", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);
    const { response: waiter } = await joinLine(name, { names: [name], slots: 1, wait_seconds: 5 });
    await api("PATCH", `/${name}`, { limit: 2 });
    expect((await waiter).status).toBe(200);
    expect(await activeSlots(name)).toBe(2);
  });

  it("gives back the place of a waiting client that disconnects: no grant is left behind", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    const holder = await takeLease([name]);
    const controller = new AbortController();
    const abandoned = exports.default
      .fetch(`${API}/increment-with-lease`, {
        method: "POST",
        body: JSON.stringify({ names: [name], slots: 1, wait_seconds: 10 }),
        signal: controller.signal,
      })
      .catch((error: unknown) => error);
    await eventually(async () => (await waitingOn(name)) === 1);
    controller.abort();
    await abandoned;
    await eventually(async () => (await waitingOn(name)) === 0);
    await release(holder.body.lease_id);
    expect(await activeSlots(name)).toBe(0);
    expect((await takeLease([name])).status).toBe(200);
  });
});

describe("withdrawing a request (POST /cancel)", () => {
  it("takes a waiting request out of line by its request_id; it is answered 423", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 1);
    await takeLease([name]);
    const { response: waiter } = await joinLine(name, {
      names: [name],
      slots: 1,
      wait_seconds: 30,
      request_id: "wait-1",
    });
    expect((await api("POST", "/cancel", { names: [name], request_id: "wait-1" })).status).toBe(204);
    expect((await waiter).status).toBe(423);
    expect(await waitingOn(name)).toBe(0);
  });

  it("releases a grant whose client never received it, on every limit it names", async ({ expect }) => {
    const a = uniqueName("a");
    const b = uniqueName("b");
    await createLimit(a, 1);
    await createLimit(b, 1);
    expect((await takeLease([a, b], 1, { request_id: "multi-1" })).status).toBe(200);
    expect((await takeLease([a], 1, { request_id: "single-1" })).status).toBe(423);
    await api("POST", "/cancel", { names: [a, b], request_id: "multi-1" });
    expect([await activeSlots(a), await activeSlots(b)]).toEqual([0, 0]);
    // Cancelling what is already gone, or was never there, is a no-op.
    expect((await api("POST", "/cancel", { names: [a, b, uniqueName()], request_id: "multi-1" })).status).toBe(204);
  });

  it("refuses a request_id still in use on a limit (409), and malformed ones (422)", async ({ expect }) => {
    const name = uniqueName();
    await createLimit(name, 5);
    expect((await takeLease([name], 1, { request_id: "same" })).status).toBe(200);
    const again = await takeLease([name], 1, { request_id: "same" });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("request_id_in_use");
    expect(await activeSlots(name)).toBe(1);
    for (const requestId of ["has.dot", "", "x".repeat(65), "spa ce"]) {
      expect((await takeLease([name], 1, { request_id: requestId })).status).toBe(422);
    }
  });
});
