// The examples of docs/async.md (also the @example blocks in src/async), compiled and run so the
// documentation cannot drift from the API. Keep the snippets identical to the docs.
import { describe, it, vi } from "vitest";
import { BackgroundTasks, concurrent, gather, TaskGroup } from "../../src/async";
import { MemorySlots } from "./helpers";

interface Item {
  readonly id: number;
}

// ── Stand-ins for the names the snippets use ──
const ids = [1, 2, 3];
const id = 7;
const event = { type: "login" };
const client = new MemorySlots(2);
const ctx = { waitUntil: (_promise: Promise<unknown>): void => undefined };
async function loadItem(itemId: number, signal: AbortSignal): Promise<Item> {
  signal.throwIfAborted();
  return { id: itemId };
}
async function getUser(userId: number, _signal: AbortSignal): Promise<{ name: string; id: number }> {
  return { name: "Ada", id: userId };
}
async function getOrders(_userId: number, _signal: AbortSignal): Promise<number[]> {
  return [1, 2];
}
async function recordAudit(_event: { type: string }, _signal: AbortSignal): Promise<void> {}

describe("docs/async.md examples", () => {
  it("runs the concurrent examples", async ({ expect }) => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);

    const jobs = ids.map((id) => (signal: AbortSignal) => loadItem(id, signal));
    for await (const item of concurrent(jobs, { limit: 6 })) {
      console.log(item.id);
    }

    for await (const item of concurrent(jobs, { limit: 8, slots: { client, names: "upstream-api" } })) {
      console.log(item.id);
    }

    expect(log).toHaveBeenCalledTimes(6);
    expect(client.maxHeld).toBe(2);
  });

  it("runs the gather and TaskGroup examples", async ({ expect }) => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);

    const [user, orders] = await gather([(signal) => getUser(id, signal), (signal) => getOrders(id, signal)]);

    const group = new TaskGroup<Item>();
    const first = group.spawn((signal) => loadItem(1, signal));
    group.spawn((signal) => loadItem(2, signal));
    const items = await group.wait();
    console.log(items.length, group.getResult(first).id);

    expect([user.name, orders.length]).toEqual(["Ada", 2]);
    expect(log).toHaveBeenCalledWith(2, 1);
  });

  it("runs the BackgroundTasks example", async ({ expect }) => {
    const waitUntil = vi.spyOn(ctx, "waitUntil");

    const background = new BackgroundTasks({ waitUntil: (promise) => ctx.waitUntil(promise) });
    background.run((signal) => recordAudit(event, signal));
    await background.settled(); // only in tests and shutdown code

    expect(waitUntil).toHaveBeenCalledOnce();
    expect(background.size).toBe(0);
  });
});
