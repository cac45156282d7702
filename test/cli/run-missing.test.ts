/**
 * `gcl run` and `gcl rate-limit` against a canned `fetch` (no Worker): a limit that does not exist
 * stops them with exit 1 and a message saying how to create it, after giving back what was
 * taken; `--allow-missing` restores Prefect's warn-and-run. The requests sent are checked too.
 */

import { describe, it } from "vitest";
import { CANNED_URL, type CannedWorker, cannedWorker } from "../helpers/canned-worker";
import { runGcl } from "../helpers/memory-io";

async function gcl(argv: string[], worker: CannedWorker) {
  const { code, err, out, io } = await runGcl(argv, {
    env: { GCL_URL: CANNED_URL, NO_COLOR: "1" },
    fetch: worker.fetch,
  });
  return { code, err, out, children: io.children };
}

describe("gcl run with a limit that does not exist", () => {
  it("exits 1 without starting the command, names the limit and how to create it, and gives back the lease", async ({
    expect,
  }) => {
    const worker = cannedWorker({ db: 5 });

    const { code, err, children } = await gcl(["run", "db,dbb", "--", "my-job", "--full"], worker);

    expect(code).toBe(1);
    expect(children).toEqual([]);
    expect(err).toBe(
      "Error: Global concurrency limit 'dbb' does not exist, so `my-job` was not started.\n" +
        "  Create it with `gcl create dbb --limit N` (or `gcl ensure dbb --limit N`, which leaves an existing limit alone), " +
        "check the spelling with `gcl ls`, or pass --allow-missing to go on without it, as Prefect does.\n",
    );
    // The client's error lists the missing names: nothing more is asked of the Worker.
    expect(worker.requests).toEqual(["POST /increment-with-lease", "POST /decrement-with-lease"]);
  });

  it("names every missing limit", async ({ expect }) => {
    const { code, err } = await gcl(["run", "a,b", "--", "job"], cannedWorker({}));

    expect(code).toBe(1);
    expect(err).toContain("Global concurrency limits 'a', 'b' do not exist, so `job` was not started.");
  });

  it("with --allow-missing, warns and runs the command, as Prefect does", async ({ expect }) => {
    const worker = cannedWorker({});

    const { code, err, children } = await gcl(
      ["run", "nope", "--allow-missing", "--", process.execPath, "-e", "process.exit(3)"],
      worker,
    );

    expect(code).toBe(3);
    expect(children).toHaveLength(1);
    expect(err).toContain("Warning: Concurrency limits ['nope'] do not exist - skipping acquisition.");
  });
});

describe("gcl rate-limit with a limit that does not exist", () => {
  it("exits 1 and says so; with --allow-missing it warns and exits 0", async ({ expect }) => {
    const strict = await gcl(["rate-limit", "opneai"], cannedWorker({ openai: 5 }));
    const lenient = await gcl(["rate-limit", "opneai", "--allow-missing", "--json"], cannedWorker({ openai: 5 }));

    expect(strict.code).toBe(1);
    expect(strict.err).toContain("Error: Global concurrency limit 'opneai' does not exist, so nothing was admitted.");
    expect(lenient.code).toBe(0);
    expect(lenient.err).toContain("do not exist");
    expect(JSON.parse(lenient.out)).toEqual({ limits: [], missing: ["opneai"] });
  });
});
