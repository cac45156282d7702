/**
 * `gcl run` against a canned `fetch` (canned-worker.ts; no Worker, no wrangler), starting real
 * child processes (`node -e …`): the slots are held while the command runs and given back however
 * it ends, its exit code is passed through, a refusal or a timeout never starts it, and a lost
 * lease stops it with --strict and only warns without. The requests sent are checked too. The
 * same command against the real Worker is test/e2e/cli-run.test.ts.
 */

import { describe, it } from "vitest";
import { CANNED_URL, type CannedWorker, cannedWorker } from "../helpers/canned-worker";
import { eventually } from "../helpers/common";
import { CHILD, firstLine, type MemoryIoOptions, runGcl, startGcl } from "../helpers/memory-io";

const NODE = process.execPath;
const env = { GCL_URL: CANNED_URL, NO_COLOR: "1" };

function gcl(worker: CannedWorker, argv: string[], options: MemoryIoOptions = {}) {
  return runGcl(argv, { ...options, env, fetch: worker.fetch });
}

function start(worker: CannedWorker, argv: string[]) {
  return startGcl(argv, { env, fetch: worker.fetch });
}

/** The requests sent, but for renewals and cancellations (timing decides how many of those there are). */
function calls(worker: CannedWorker): string[] {
  return worker.requests.filter((line) => !line.endsWith("/renew") && line !== "POST /cancel");
}

describe("gcl run with a canned Worker", () => {
  it("holds the slots under a lease while the command runs, then exits 0 and gives them back", async ({ expect }) => {
    const worker = cannedWorker({ db: 3 });
    const { io, done } = start(worker, [
      "run",
      "db",
      "--occupy",
      "2",
      "--lease-duration",
      "30",
      "--",
      NODE,
      "-e",
      CHILD.waitForStdin,
    ]);
    const child = await io.nextChild();
    await firstLine(child);

    const heldWhileRunning = worker.held("db");
    child.stdin?.end();

    expect(await done).toBe(0);
    expect(heldWhileRunning).toBe(2);
    expect(worker.held("db")).toBe(0);
    expect(calls(worker)).toEqual(["POST /increment-with-lease", "POST /decrement-with-lease"]);
    const [take, release] = worker.sent.filter((request) => !request.line.endsWith("/renew"));
    expect(take?.body).toMatchObject({
      names: ["db"],
      slots: 2,
      mode: "concurrency",
      lease_duration: 30,
      holder: { type: "gcl-run", id: expect.stringContaining(`test-host:1 ${NODE} -e `) },
    });
    expect(release?.body).toEqual({ lease_id: "lease-1" });
  });

  it.for([3, 42])("exits with the command's exit code %i and gives the slots back", async (exitCode, { expect }) => {
    const worker = cannedWorker({ db: 1 });

    const { code, err } = await gcl(worker, ["run", "db", "--", NODE, "-e", `process.exit(${exitCode})`]);

    expect(code).toBe(exitCode);
    expect(err).toBe("");
    expect(worker.held("db")).toBe(0);
    expect(calls(worker)).toEqual(["POST /increment-with-lease", "POST /decrement-with-lease"]);
  });

  it("passes SIGTERM on to the command, exits 143 when it dies of it, and gives the slots back", async ({ expect }) => {
    const worker = cannedWorker({ db: 1 });
    const { io, done } = start(worker, ["run", "db", "--", NODE, "-e", CHILD.runForever]);
    const child = await io.nextChild();
    await firstLine(child);

    io.signals.emit("SIGTERM");

    expect(await done).toBe(143);
    expect(child.signalCode).toBe("SIGTERM");
    expect(worker.held("db")).toBe(0);
  });

  it("exits 127 for a command that does not exist, and gives the slots back", async ({ expect }) => {
    const worker = cannedWorker({ db: 1 });

    const { code, err } = await gcl(worker, ["run", "db", "--", "gcl-test-no-such-command"]);

    expect(code).toBe(127);
    expect(err).toContain("Could not start `gcl-test-no-such-command`: command not found.");
    expect(worker.held("db")).toBe(0);
    expect(calls(worker)).toEqual(["POST /increment-with-lease", "POST /decrement-with-lease"]);
  });

  it("warns, and keeps the command's exit code, when the slots cannot be given back", async ({ expect }) => {
    const worker = cannedWorker({ db: 1 });
    worker.failReleases();

    const { code, err } = await gcl(worker, [
      "run",
      "db",
      "--lease-duration",
      "30",
      "--",
      NODE,
      "-e",
      "process.exit(5)",
    ]);

    expect(code).toBe(5);
    expect(err).toContain("Could not release the slots on 'db'");
    expect(err).toContain("within 30 s");
  });
});

describe("gcl run refused", () => {
  it("does not start the command when --occupy is above the limit, says how to fix it, and exits 1", async ({
    expect,
  }) => {
    const worker = cannedWorker({ db: 2 });

    const { code, err, io } = await gcl(worker, ["run", "db", "--occupy", "3", "--", NODE, "-e", "0"]);

    expect(code).toBe(1);
    expect(io.children).toEqual([]);
    expect(err).toContain("Cannot take 3 slot(s) on 'db'");
    expect(err).toContain("Lower --occupy");
    expect(err).toContain("was not started.");
    expect(calls(worker)).toEqual(["POST /increment-with-lease"]);
  });

  it("gives up after --timeout on a full limit without starting the command, and exits 1", async ({ expect }) => {
    const worker = cannedWorker({ db: 1 });
    const holder = start(worker, ["run", "db", "--", NODE, "-e", CHILD.waitForStdin]);
    const held = await holder.io.nextChild();
    await firstLine(held);

    const { code, err, io } = await gcl(worker, ["run", "db", "--timeout", "0.3", "--", NODE, "-e", "0"]);
    held.stdin?.end();

    expect(code).toBe(1);
    expect(io.children).toEqual([]);
    expect(err).toContain("Timed out after 0.3 s waiting for slots on 'db'.");
    expect(err).toContain("was not started.");
    expect(await holder.done).toBe(0);
    expect(worker.held("db")).toBe(0);
  });
});

describe("gcl run when the lease is lost", () => {
  it("stops the command with SIGTERM under --strict", async ({ expect }) => {
    const worker = cannedWorker({ db: 1 });
    const { io, done } = start(worker, [
      "run",
      "db",
      "--strict",
      "--lease-duration",
      "1",
      "--",
      NODE,
      "-e",
      CHILD.runForever,
    ]);
    await firstLine(await io.nextChild());

    // The next renewal (after 0.75 s) answers 410.
    worker.revokeLeases();

    expect(await done).toBe(143);
    expect(io.stderr.text).toContain(`Stopping \`${NODE}\` with SIGTERM: it no longer holds its slots (--strict).`);
    expect(worker.requests).toContain("POST /leases/lease-1/renew");
  });

  it("keeps the command running with a warning without --strict", async ({ expect }) => {
    const worker = cannedWorker({ db: 1 });
    const { io, done } = start(worker, [
      "run",
      "db",
      "--lease-duration",
      "1",
      "--",
      NODE,
      "-e",
      CHILD.waitForStdin,
      "6",
    ]);
    const child = await io.nextChild();
    await firstLine(child);

    worker.revokeLeases();
    await eventually(() => io.stderr.text.includes("Lost the lease"), {
      timeoutMs: 15_000,
      what: "the lost lease reported",
    });
    child.stdin?.end();

    expect(await done).toBe(6);
    expect(io.stderr.text).toContain("continuing without the slots");
    expect(child.signalCode).toBeNull();
  });
});
