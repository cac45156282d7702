/**
 * `gcl rate-limit` against the real Worker on a loopback port, called in process through
 * `run(argv, io)`: admission, a timeout when the rate is used up, a limit without decay, and a
 * missing limit (refused, or skipped with --allow-missing).
 */

import { describe, it } from "vitest";
import { useCliWorker } from "../helpers/cli-worker";
import { uniqueName } from "../helpers/common";

const worker = useCliWorker();
const { gcl, record } = worker;

describe("gcl rate-limit", () => {
  it("returns 0 once admitted, prints nothing, and takes a slot that decay frees", async ({ expect }) => {
    const name = uniqueName("rate");
    await worker.client.limits.create({ name, limit: 5, slot_decay_per_second: 0.01 });

    const { code, out, err } = await gcl(["rate-limit", name, "--occupy", "2"]);

    expect(code).toBe(0);
    expect(out).toBe("");
    expect(err).toBe("");
    expect((await record(name)).active_slots).toBe(2);
  });

  it("gives up after --timeout when the rate is used up, and exits 1", async ({ expect }) => {
    const name = uniqueName("rate-timeout");
    await worker.client.limits.create({ name, limit: 1, slot_decay_per_second: 0.01 });
    await gcl(["rate-limit", name]);

    const { code, err } = await gcl(["rate-limit", name, "--timeout", "0.2"]);

    expect(code).toBe(1);
    expect(err).toContain(`Timed out after 0.2 s waiting for the rate limit on '${name}'.`);
    expect(err).toContain("--slot-decay-per-second");
  });

  it("explains that a limit without decay is not a rate limit, and exits 1", async ({ expect }) => {
    const name = uniqueName("rate-nodecay");
    await worker.client.limits.create({ name, limit: 1 });

    const { code, err } = await gcl(["rate-limit", name]);

    expect(code).toBe(1);
    expect(err).toContain("Only concurrency limits with slot decay can be used for rate limiting");
    expect(err).toContain(`gcl update ${name} --slot-decay-per-second 1`);
  });

  it("refuses a missing limit, and skips it with a warning with --allow-missing", async ({ expect }) => {
    const name = uniqueName("rate-missing");

    const strict = await gcl(["rate-limit", name]);
    const lenient = await gcl(["rate-limit", name, "--allow-missing"]);

    expect(strict.code).toBe(1);
    expect(strict.err).toContain(`Global concurrency limit '${name}' does not exist, so nothing was admitted.`);
    expect(strict.err).toContain(`gcl create ${name} --limit N`);
    expect(lenient.code).toBe(0);
    expect(lenient.err).toContain(`Concurrency limits ['${name}'] do not exist`);
  });

  it.for([
    { argv: ["rate-limit"], says: "missing required argument 'names'" },
    { argv: ["rate-limit", "a,"], says: "separated by commas" },
    { argv: ["rate-limit", "a", "--occupy", "x"], says: "Expected a whole number" },
  ])("exits 2 for `gcl $argv`", async ({ argv, says }, { expect }) => {
    const { code, err } = await gcl(argv);

    expect(code).toBe(2);
    expect(err).toContain(says);
  });
});
