/**
 * `gcl run` against the real Worker on a loopback port, called in process through `run(argv, io)`:
 * it starts real child processes (`node -e …`) to show exit codes passed through, slots released
 * however the child ends, signals forwarded, waits reported and stopped, and lost leases handled.
 * Waits are bounded by `vi.waitFor` as liveness limits, never timed. The same logic against a
 * canned `fetch` is in test/cli/run.test.ts.
 */

import { describe, it, vi } from "vitest";
import { useCliWorker } from "../helpers/cli-worker";
import { uniqueName } from "../helpers/common";
import { CHILD, firstLine } from "../helpers/memory-io";

/** Liveness bound for waits on another process. */
const WAIT = { timeout: 15_000, interval: 20 };

const worker = useCliWorker();
const { gcl, start, record } = worker;

// ── Using limits from a shell ──

describe("gcl run", () => {
  it("runs the command with the slots held and exits 0 when it does", async ({ expect }) => {
    const name = uniqueName("run");
    await worker.client.limits.create({ name, limit: 1 });
    const { io, done } = start(["run", name, "--", process.execPath, "-e", CHILD.waitForStdin]);
    const child = await io.nextChild();
    await firstLine(child);

    const whileRunning = await gcl(["leases", name, "--json"]);
    child.stdin?.end();

    expect(await done).toBe(0);
    const leases = (
      JSON.parse(whileRunning.out) as { leases: { slots: number; holder: { type: string; id: string } }[] }
    ).leases;
    expect(leases).toHaveLength(1);
    expect(leases[0]?.slots).toBe(1);
    expect(leases[0]?.holder.type).toBe("gcl-run");
    expect(leases[0]?.holder.id).toContain(`test-host:1 ${process.execPath} -e`);
    expect(await worker.client.limits.leases(name)).toEqual({ leases: [], waiting: 0, waiters: [] });
  });

  it("exits with the command's exit code and releases the slots when it fails", async ({ expect }) => {
    const name = uniqueName("run-fails");
    await worker.client.limits.create({ name, limit: 2 });

    const { code } = await gcl(["run", name, "--occupy", "2", "--", process.execPath, "-e", "process.exit(3)"]);

    expect(code).toBe(3);
    expect(await worker.client.limits.leases(name)).toEqual({ leases: [], waiting: 0, waiters: [] });
    expect((await record(name)).active_slots).toBe(0);
  });

  it("holds every comma-separated limit, and gives each back", async ({ expect }) => {
    const names = [uniqueName("run-a"), uniqueName("run-b")];
    await Promise.all(names.map((name) => worker.client.limits.create({ name, limit: 1 })));
    const { io, done } = start(["run", names.join(","), "--", process.execPath, "-e", CHILD.waitForStdin, "5"]);
    const child = await io.nextChild();
    await firstLine(child);

    const held = await Promise.all(names.map(async (name) => (await record(name)).active_slots));
    child.stdin?.end();

    expect(await done).toBe(5);
    expect(held).toEqual([1, 1]);
    expect(await Promise.all(names.map(async (name) => (await record(name)).active_slots))).toEqual([0, 0]);
  });

  it("passes SIGTERM on to the command, exits 128 + 15 when it dies of it, and releases", async ({ expect }) => {
    const name = uniqueName("run-signal");
    await worker.client.limits.create({ name, limit: 1 });
    const { io, done } = start(["run", name, "--", process.execPath, "-e", CHILD.runForever]);
    const child = await io.nextChild();
    await firstLine(child);

    io.signals.emit("SIGTERM");

    expect(await done).toBe(143);
    expect(child.signalCode).toBe("SIGTERM");
    expect((await record(name)).active_slots).toBe(0);
  });

  it("lets a command that handles SIGINT choose its own exit code", async ({ expect }) => {
    const name = uniqueName("run-sigint");
    await worker.client.limits.create({ name, limit: 1 });
    const script = `process.on("SIGINT", () => process.exit(42)); ${CHILD.runForever}`;
    const { io, done } = start(["run", name, "--", process.execPath, "-e", script]);
    const child = await io.nextChild();
    await firstLine(child);

    io.signals.emit("SIGINT");

    expect(await done).toBe(42);
    expect((await record(name)).active_slots).toBe(0);
  });

  it("gives up after --timeout without starting the command, says who to ask, and exits 1", async ({ expect }) => {
    const name = uniqueName("run-timeout");
    await worker.client.limits.create({ name, limit: 1 });
    const held = await worker.client.acquire(name);
    try {
      const { code, err, io } = await gcl([
        "run",
        name,
        "--timeout",
        "0.3",
        "--",
        process.execPath,
        "-e",
        "process.exit(0)",
      ]);

      expect(code).toBe(1);
      expect(io.children).toEqual([]);
      expect(err).toContain(`Timed out after 0.3 s waiting for slots on '${name}'.`);
      expect(err).toContain("was not started.");
      expect(err).toContain(`gcl leases ${name}`);
    } finally {
      await held.release();
    }
  });

  it("shows a progress line on a terminal while it waits, and stops waiting on SIGINT without starting the command", async ({
    expect,
  }) => {
    const name = uniqueName("run-wait");
    await worker.client.limits.create({ name, limit: 1 });
    const held = await worker.client.acquire(name);
    try {
      const { io, done } = start(["run", name, "--", process.execPath, "-e", "process.exit(0)"], {
        stderrIsTTY: true,
        env: { NO_COLOR: "1" },
      });
      await vi.waitFor(() => expect(io.stderr.text).toContain(`waiting for 1 slot on '${name}'…`), WAIT);

      io.signals.emit("SIGINT");

      expect(await done).toBe(130);
      expect(io.children).toEqual([]);
      expect(io.stderr.text).toContain("Stopped by SIGINT while waiting for slots");
      // The local dev server does not see the dropped connection; the client withdraws the wait.
      await vi.waitFor(async () => expect((await worker.client.limits.leases(name)).waiting).toBe(0), WAIT);
      await held.release();
      expect((await worker.client.limits.get(name)).active_slots).toBe(0);
    } finally {
      await held.release();
    }
  });

  it("draws no spinner when stderr is not a terminal (a plain line comes only every 5 s)", async ({ expect }) => {
    const name = uniqueName("run-quiet");
    await worker.client.limits.create({ name, limit: 1 });
    const held = await worker.client.acquire(name);
    try {
      const { code, err } = await gcl(["run", name, "--timeout", "1", "--", process.execPath, "-e", "0"]);

      expect(code).toBe(1);
      expect(err).not.toContain("…");
      expect(err).not.toContain("\r");
    } finally {
      await held.release();
    }
  });

  it("exits 127 for a command that does not exist, and releases the slots", async ({ expect }) => {
    const name = uniqueName("run-enoent");
    await worker.client.limits.create({ name, limit: 1 });

    const { code, err } = await gcl(["run", name, "--", "gcl-test-no-such-command"]);

    expect(code).toBe(127);
    expect(err).toContain("Could not start `gcl-test-no-such-command`: command not found.");
    expect((await record(name)).active_slots).toBe(0);
  });

  it("refuses a limit that does not exist, without starting the command, says how to create it, and exits 1", async ({
    expect,
  }) => {
    const name = uniqueName("run-missing");
    const other = uniqueName("run-present");
    await worker.client.limits.create({ name: other, limit: 1 });

    const { code, err, io } = await gcl(["run", `${other},${name}`, "--", process.execPath, "-e", "0"]);

    expect(code).toBe(1);
    expect(io.children).toEqual([]);
    expect(err).toContain(
      `Error: Global concurrency limit '${name}' does not exist, so \`${process.execPath}\` was not started.`,
    );
    expect(err).toContain(`gcl create ${name} --limit N`);
    expect(err).toContain("--allow-missing");
    // What was taken on the limit that exists was given back.
    expect((await record(other)).active_slots).toBe(0);
  });

  it("runs the command with a warning for a missing limit with --allow-missing, as Prefect does", async ({
    expect,
  }) => {
    const name = uniqueName("run-allow-missing");

    const { code, err } = await gcl(["run", name, "--allow-missing", "--", process.execPath, "-e", "process.exit(4)"]);

    expect(code).toBe(4);
    expect(err).toContain(`Warning: Concurrency limits ['${name}'] do not exist - skipping acquisition.`);
  });

  it("refuses --occupy above the limit, says how to fix it, and exits 1", async ({ expect }) => {
    const name = uniqueName("run-occupy");
    await worker.client.limits.create({ name, limit: 2 });

    const { code, err, io } = await gcl(["run", name, "--occupy", "3", "--", process.execPath, "-e", "0"]);

    expect(code).toBe(1);
    expect(io.children).toEqual([]);
    expect(err).toContain(`Cannot take 3 slot(s) on '${name}'`);
    expect(err).toContain("Lower --occupy");
  });

  it("stops the command with SIGTERM when --strict and the lease is lost", async ({ expect }) => {
    const name = uniqueName("run-lost-strict");
    await worker.client.limits.create({ name, limit: 1 });
    const { io, done } = start([
      "run",
      name,
      "--strict",
      "--lease-duration",
      "1",
      "--",
      process.execPath,
      "-e",
      CHILD.runForever,
    ]);
    await firstLine(await io.nextChild());

    // Deleting the limit revokes the lease: the next renewal (after 0.75 s) is refused.
    await worker.client.limits.delete(name);

    expect(await done).toBe(143);
    expect(io.stderr.text).toContain("Stopping `");
    expect(io.stderr.text).toContain("with SIGTERM: it no longer holds its slots (--strict)");
  });

  it("keeps the command running with a warning when the lease is lost without --strict", async ({ expect }) => {
    const name = uniqueName("run-lost");
    await worker.client.limits.create({ name, limit: 1 });
    const { io, done } = start([
      "run",
      name,
      "--lease-duration",
      "1",
      "--",
      process.execPath,
      "-e",
      CHILD.waitForStdin,
      "6",
    ]);
    const child = await io.nextChild();
    await firstLine(child);

    await worker.client.limits.delete(name);
    await vi.waitFor(() => expect(io.stderr.text).toContain("Lost the lease"), WAIT);
    child.stdin?.end();

    expect(await done).toBe(6);
    expect(io.stderr.text).toContain("continuing without the slots");
  });

  it.for([
    { argv: ["run", "db", "node", "-v"], says: "put `--` before the command" },
    { argv: ["run", "db", "node", "x.js"], says: "put `--` before the command" },
    { argv: ["run", "db", "--bogus", "--", "true"], says: "unknown option '--bogus'" },
    { argv: ["run", "--bogus", "db", "--", "true"], says: "unknown option '--bogus'" },
    { argv: ["run", "db", "node", "--", "x.js"], says: "put `--` before the command" },
    { argv: ["run", "db", "--"], says: "missing required argument 'command'" },
    { argv: ["run", "db"], says: "missing required argument 'command'" },
    { argv: ["run", "db", "--occupy", "0", "--", "true"], says: "Expected a whole number from 1" },
    { argv: ["run", "db", "--lease-duration", "0.5", "--", "true"], says: "Expected a number from 1 to 86400" },
    { argv: ["run", "db", "--timeout", "soon", "--", "true"], says: "Expected a number >= 0" },
    { argv: ["run", "db,,api", "--", "true"], says: "separated by commas" },
    {
      argv: ["run", "db", "--strict", "--allow-missing", "--", "true"],
      says: "cannot be used with option '--allow-missing'",
    },
  ])("exits 2 without starting anything for `gcl $argv`", async ({ argv, says }, { expect }) => {
    const { code, err, io } = await gcl(argv);

    expect(code).toBe(2);
    expect(io.children).toEqual([]);
    expect(err).toContain(says);
  });

  it("hands options after `--` to the command, not to gcl", async ({ expect }) => {
    const name = uniqueName("run-args");
    await worker.client.limits.create({ name, limit: 1 });
    const script = `process.exit(process.argv.slice(1).join(" ") === "--url x --occupy 9 --" ? 0 : 9)`;

    // Node's own `--` ends its options; the rest reaches the script untouched.
    const { code } = await gcl([
      "run",
      name,
      "--",
      process.execPath,
      "-e",
      script,
      "--",
      "--url",
      "x",
      "--occupy",
      "9",
      "--",
    ]);

    expect(code).toBe(0);
  });
});
