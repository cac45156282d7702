/**
 * The `gcl` command line against the real Worker on a loopback port: every command is called
 * in process through its core, `run(argv, io)`, with in-memory output, and checked for success,
 * a missing limit, a usage error and its `--json` shape. `gcl run` starts real child processes
 * (`node -e …`) to show exit codes passed through, slots released however the child ends, and
 * signals forwarded. Waits are bounded by `vi.waitFor` as liveness limits, never timed.
 */

import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, it, vi } from "vitest";
import { createClient, type GclClient, type LimitRecord } from "../../src/client";
import { run } from "../../src/cli/run";
import { type LocalWorker, startLocalWorker } from "../helpers/local-worker";
import { firstLine, type MemoryIo, memoryIo, type MemoryIoOptions } from "../helpers/memory-io";

const ADMIN_TOKEN = "cli-test-admin-token";
const CLIENT_TOKEN = "cli-test-client-token";
/** The keys of a limit record, as the API returns it. */
const RECORD_KEYS = [
  "active",
  "active_slots",
  "avg_slot_occupancy_seconds",
  "created",
  "denied_slots",
  "id",
  "limit",
  "location_hint",
  "name",
  "slot_decay_per_second",
  "updated",
];
/** A child that says "ready", then waits until its stdin closes and exits with its first argument. */
const WAIT_FOR_STDIN = `process.stdout.write("ready\\n"); process.stdin.resume(); process.stdin.on("end", () => process.exit(Number(process.argv[1] ?? 0)));`;
/** A child that says "ready", then runs until a signal kills it. */
const RUN_FOREVER = `process.stdout.write("ready\\n"); setInterval(() => {}, 1000);`;
/** Liveness bound for waits on another process. */
const WAIT = { timeout: 15_000, interval: 20 };

let worker: LocalWorker;
let secured: LocalWorker;
let client: GclClient;

beforeAll(async () => {
  [worker, secured] = await Promise.all([
    startLocalWorker(),
    startLocalWorker({ GCL_ADMIN_TOKEN: ADMIN_TOKEN, GCL_CLIENT_TOKEN: CLIENT_TOKEN }),
  ]);
  client = createClient({ url: worker.url });
}, 60_000);

afterAll(async () => {
  await Promise.all([worker?.stop(), secured?.stop()]);
});

/** A limit name no other test uses. */
function unique(label: string): string {
  return `cli-${label}-${randomUUID().slice(0, 8)}`;
}

/** `gcl <argv>` against the test Worker (through GCL_URL); resolves with the exit code and output. */
async function gcl(argv: string[], options: MemoryIoOptions = {}): Promise<{ code: number; out: string; err: string; io: MemoryIo }> {
  const io = memoryIo({ ...options, env: { GCL_URL: worker.url, ...options.env } });
  const code = await run(argv, io);
  return { code, out: io.stdout.text, err: io.stderr.text, io };
}

/** Starts `gcl <argv>` without waiting for it; for `run` while the test watches its child. */
function start(argv: string[], options: MemoryIoOptions = {}): { io: MemoryIo; done: Promise<number> } {
  const io = memoryIo({ ...options, env: { GCL_URL: worker.url, ...options.env } });
  return { io, done: run(argv, io) };
}

async function record(name: string): Promise<LimitRecord> {
  return client.limits.get(name);
}

// ── The program ──

describe("gcl", () => {
  it("prints its usage, every command and the connection settings for --help, and exits 0", async ({ expect }) => {
    const { code, out } = await gcl(["--help"]);

    expect(code).toBe(0);
    for (const command of ["ls", "inspect", "create", "update", "delete", "enable", "disable", "leases", "run", "rate-limit"]) {
      expect(out).toMatch(new RegExp(`^  ${command} `, "m"));
    }
    expect(out).toContain("GCL_URL");
    expect(out).toContain("GCL_TOKEN");
  });

  it("prints a command's help for `gcl help <command>` and `<command> --help`", async ({ expect }) => {
    const viaHelp = await gcl(["help", "run"]);
    const viaFlag = await gcl(["run", "--help"]);

    expect(viaHelp.code).toBe(0);
    expect(viaFlag.code).toBe(0);
    expect(viaHelp.out).toContain("--lease-duration");
    expect(viaFlag.out).toBe(viaHelp.out);
  });

  it.for([
    { argv: [], says: "Usage: gcl" },
    { argv: ["frobnicate"], says: "unknown command 'frobnicate'" },
    { argv: ["ls", "--bogus"], says: "unknown option '--bogus'" },
    { argv: ["ls", "extra"], says: "too many arguments" },
    { argv: ["ls", "-o", "yaml"], says: "Allowed choices are json" },
  ])("exits 2 with a usage message for `gcl $argv`", async ({ argv, says }, { expect }) => {
    const { code, out, err } = await gcl(argv);

    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain(says);
  });

  it("says how to fix an unreachable Worker, naming --url and GCL_URL, and exits 1", async ({ expect }) => {
    const { code, err } = await gcl(["ls", "--url", "http://127.0.0.1:1"]);

    expect(code).toBe(1);
    expect(err).toContain("Could not reach the edge-gcl Worker at http://127.0.0.1:1");
    expect(err).toContain("--url or GCL_URL");
  });

  it("takes --url over GCL_URL, anywhere before `--`", async ({ expect }) => {
    const name = unique("url");
    await client.limits.create({ name, limit: 1 });

    const before = await gcl(["--url", worker.url, "inspect", name], { env: { GCL_URL: "http://127.0.0.1:1" } });
    const after = await gcl(["inspect", name, "--url", worker.url], { env: { GCL_URL: "http://127.0.0.1:1" } });

    expect(before.code).toBe(0);
    expect(after.code).toBe(0);
  });

  it("refuses a --url that is not an absolute http(s) URL with a usage error", async ({ expect }) => {
    const { code, err } = await gcl(["ls", "--url", "localhost:8787"]);

    expect(code).toBe(2);
    expect(err).toContain("--url must be an absolute http(s) URL, got 'localhost:8787'");
  });
});

// ── Managing limits ──

describe("gcl ls", () => {
  it("lists limits in an aligned table with relative update times", async ({ expect }) => {
    const name = unique("ls");
    await client.limits.create({ name, limit: 7, slot_decay_per_second: 2.5 });

    const { code, out } = await gcl(["ls"]);

    expect(code).toBe(0);
    const [header, ...rows] = out.trimEnd().split("\n");
    expect(header).toMatch(/^NAME +ACTIVE +LIMIT +ACTIVE SLOTS +DECAY\/S +UPDATED$/);
    const row = rows.find((line) => line.startsWith(`${name} `));
    expect(row).toMatch(/ yes +7 +0 +2\.5 +(now|\d+ s ago)$/);
    // Aligned: every row's LIMIT column ends where the header's does.
    const limitEnd = (header ?? "").indexOf("LIMIT") + "LIMIT".length;
    expect(row?.slice(limitEnd - 1, limitEnd)).toBe("7");
  });

  it("prints every limit as the API's records for --json and -o json", async ({ expect }) => {
    const name = unique("ls-json");
    await client.limits.create({ name, limit: 3 });

    const json = await gcl(["ls", "--json"]);
    const prefect = await gcl(["ls", "-o", "json"]);

    expect(json.code).toBe(0);
    const records = JSON.parse(json.out) as LimitRecord[];
    expect(Array.isArray(records)).toBe(true);
    const mine = records.find((entry) => entry.name === name);
    expect(Object.keys(mine ?? {}).sort()).toEqual(RECORD_KEYS);
    expect(mine).toMatchObject({ name, limit: 3, active: true, active_slots: 0 });
    expect((JSON.parse(prefect.out) as LimitRecord[]).map((entry) => entry.name)).toContain(name);
  });

  it("pages through the API: lists more limits than one page holds", async ({ expect }) => {
    const prefix = unique("page");
    const names = Array.from({ length: 205 }, (_, index) => `${prefix}-${String(index).padStart(3, "0")}`);
    for (let index = 0; index < names.length; index += 25) {
      await Promise.all(names.slice(index, index + 25).map((name) => client.limits.create({ name, limit: 1 })));
    }

    const { code, out } = await gcl(["ls", "--json"]);

    expect(code).toBe(0);
    const listed = (JSON.parse(out) as LimitRecord[]).map((entry) => entry.name).filter((name) => name.startsWith(prefix));
    expect(listed).toEqual(names);
  });
});

describe("gcl inspect", () => {
  it("shows one limit's settings and state", async ({ expect }) => {
    const name = unique("inspect");
    const created = await client.limits.create({ name, limit: 4, slot_decay_per_second: 0.5 });

    const { code, out } = await gcl(["inspect", name]);

    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^name +${name}$`, "m"));
    expect(out).toMatch(new RegExp(`^id +${created.id}$`, "m"));
    expect(out).toMatch(/^limit +4$/m);
    expect(out).toMatch(/^slot decay +0\.5 per second \(a rate limit\)$/m);
    expect(out).toMatch(/^created +\S+ \((now|\d+ s ago)\)$/m);
  });

  it("prints the API's record for --json", async ({ expect }) => {
    const name = unique("inspect-json");
    await client.limits.create({ name, limit: 2 });

    const { code, out } = await gcl(["inspect", name, "--json"]);

    expect(code).toBe(0);
    const printed = JSON.parse(out) as LimitRecord;
    expect(Object.keys(printed).sort()).toEqual(RECORD_KEYS);
    expect(printed).toEqual(await record(name));
  });

  it("says a missing limit is not found and how to create it, and exits 1", async ({ expect }) => {
    const name = unique("missing");

    const { code, out, err } = await gcl(["inspect", name]);

    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toBe(
      `Error: Global concurrency limit '${name}' not found.\n  Create it with \`gcl create ${name} --limit N\`, or list the limits with \`gcl ls\`.\n`,
    );
  });

  it.for([
    { argv: ["inspect"], says: "missing required argument 'name'" },
    { argv: ["inspect", "a/b"], says: "none of / % & > <" },
  ])("exits 2 for `gcl $argv`", async ({ argv, says }, { expect }) => {
    const { code, err } = await gcl(argv);

    expect(code).toBe(2);
    expect(err).toContain(says);
  });
});

describe("gcl create", () => {
  it("creates a limit and says so in Prefect's words", async ({ expect }) => {
    const name = unique("create");

    const { code, out } = await gcl(["create", name, "--limit", "5"]);

    expect(code).toBe(0);
    const created = await record(name);
    expect(out).toBe(
      `Created global concurrency limit with name '${name}' and ID '${created.id}'. Run \`gcl inspect ${name}\` to view details.\n`,
    );
    expect(created).toMatchObject({ limit: 5, active: true, slot_decay_per_second: 0 });
  });

  it("creates a disabled rate limit with -l, --slot-decay-per-second and --disable", async ({ expect }) => {
    const name = unique("create-rate");

    const { code } = await gcl(["create", name, "-l", "10", "--slot-decay-per-second", "2.5", "--disable"]);

    expect(code).toBe(0);
    expect(await record(name)).toMatchObject({ limit: 10, slot_decay_per_second: 2.5, active: false });
  });

  it("refuses a name that is taken, says how to change it instead, and exits 1", async ({ expect }) => {
    const name = unique("taken");
    await client.limits.create({ name, limit: 1 });

    const { code, err } = await gcl(["create", name, "--limit", "2"]);

    expect(code).toBe(1);
    expect(err).toContain(`Global concurrency limit '${name}' already exists. Please try creating with a different name.`);
    expect(err).toContain(`gcl update ${name} --limit N`);
    expect((await record(name)).limit).toBe(1);
  });

  it.for([
    { argv: ["create", "x"], says: "required option '-l, --limit <n>' not specified" },
    { argv: ["create", "x", "--limit", "abc"], says: "Expected a whole number" },
    { argv: ["create", "x", "--limit", "-1"], says: "Expected a whole number" },
    { argv: ["create", "x", "--limit", "1.5"], says: "Expected a whole number" },
    { argv: ["create", "x", "--limit", "1", "--slot-decay-per-second", "fast"], says: "Expected a number >= 0" },
  ])("exits 2 without creating anything for `gcl $argv`", async ({ argv, says }, { expect }) => {
    const { code, err } = await gcl(argv);

    expect(code).toBe(2);
    expect(err).toContain(says);
  });
});

describe("gcl update", () => {
  it("changes the limit, decay and slots given, and nothing else", async ({ expect }) => {
    const name = unique("update");
    await client.limits.create({ name, limit: 2, slot_decay_per_second: 1 });

    const { code, out } = await gcl(["update", name, "--limit", "9", "--active-slots", "3"]);

    expect(code).toBe(0);
    expect(out).toBe(`Updated global concurrency limit with name '${name}'.\n`);
    expect(await record(name)).toMatchObject({ limit: 9, slot_decay_per_second: 1, active: true });
    expect((await record(name)).active_slots).toBeGreaterThan(0);
  });

  it("disables with --disable and enables with --enable", async ({ expect }) => {
    const name = unique("update-active");
    await client.limits.create({ name, limit: 2 });

    await gcl(["update", name, "--disable"]);
    const disabled = (await record(name)).active;
    await gcl(["update", name, "--enable", "--slot-decay-per-second", "0.25"]);

    expect(disabled).toBe(false);
    expect(await record(name)).toMatchObject({ active: true, slot_decay_per_second: 0.25 });
  });

  it("lists the fields the Worker refused, one a line, and exits 1", async ({ expect }) => {
    const name = unique("update-refused");
    await client.limits.create({ name, limit: 2 });

    const { code, err } = await gcl(["update", name, "--slot-decay-per-second", "1e12"]);

    expect(code).toBe(1);
    expect(err).toMatch(/^Error: The server refused the request \(invalid_request\):\n {4}slot_decay_per_second: .+\n {2}Check the values given/);
    expect((await record(name)).slot_decay_per_second).toBe(0);
  });

  it("says a missing limit is not found, and exits 1", async ({ expect }) => {
    const name = unique("update-missing");

    const { code, err } = await gcl(["update", name, "--limit", "1"]);

    expect(code).toBe(1);
    expect(err).toContain(`Global concurrency limit '${name}' not found.`);
  });

  it.for([
    { argv: ["update", "x"], says: "nothing to update" },
    { argv: ["update", "x", "--enable", "--disable"], says: "option '--enable' cannot be used with option '--disable'" },
    { argv: ["update", "--limit", "1"], says: "missing required argument 'name'" },
  ])("exits 2 without sending anything for `gcl $argv`", async ({ argv, says }, { expect }) => {
    const { code, err } = await gcl(argv, { env: { GCL_URL: "http://127.0.0.1:1" } });

    expect(code).toBe(2);
    expect(err).toContain(says);
  });
});

describe("gcl delete", () => {
  it("deletes without asking with --yes", async ({ expect }) => {
    const name = unique("delete");
    await client.limits.create({ name, limit: 1 });

    const { code, out, io } = await gcl(["delete", name, "--yes"]);

    expect(code).toBe(0);
    expect(out).toBe(`Deleted global concurrency limit with name '${name}'.\n`);
    expect(io.questions).toEqual([]);
    expect((await gcl(["inspect", name])).code).toBe(1);
  });

  it("refuses without --yes when stdin is not a terminal, says how to confirm, and keeps the limit", async ({ expect }) => {
    const name = unique("delete-refused");
    await client.limits.create({ name, limit: 1 });

    const { code, err, io } = await gcl(["delete", name], { interactive: false });

    expect(code).toBe(1);
    expect(err).toContain(`Refusing to delete global concurrency limit '${name}' without confirmation`);
    expect(err).toContain(`gcl delete ${name} --yes`);
    expect(io.questions).toEqual([]);
    expect((await record(name)).name).toBe(name);
  });

  it("asks on a terminal, and deletes only when the answer is yes", async ({ expect }) => {
    const name = unique("delete-asked");
    await client.limits.create({ name, limit: 1 });

    const declined = await gcl(["delete", name], { interactive: true, answers: [""] });
    const stillThere = (await record(name)).name;
    const accepted = await gcl(["delete", name], { interactive: true, answers: ["y"] });

    expect(declined.io.questions).toEqual([`Are you sure you want to delete global concurrency limit '${name}'? [y/N] `]);
    expect(declined.code).toBe(1);
    expect(declined.err).toContain("Deletion aborted.");
    expect(stillThere).toBe(name);
    expect(accepted.code).toBe(0);
    expect((await gcl(["inspect", name])).code).toBe(1);
  });

  it("says a missing limit is not found before asking anything, and exits 1", async ({ expect }) => {
    const name = unique("delete-missing");

    const { code, err, io } = await gcl(["delete", name], { interactive: true, answers: ["y"] });

    expect(code).toBe(1);
    expect(err).toContain(`Global concurrency limit '${name}' not found.`);
    expect(io.questions).toEqual([]);
  });

  it("exits 2 without a name", async ({ expect }) => {
    expect((await gcl(["delete", "--yes"])).code).toBe(2);
  });
});

describe("gcl enable and gcl disable", () => {
  it("switch a limit off and on, and refuse to repeat a switch as Prefect does", async ({ expect }) => {
    const name = unique("toggle");
    await client.limits.create({ name, limit: 1 });

    const enabledAlready = await gcl(["enable", name]);
    const disable = await gcl(["disable", name]);
    const disabledAlready = await gcl(["disable", name]);
    const enable = await gcl(["enable", name]);

    expect(enabledAlready).toMatchObject({ code: 1, err: `Error: Global concurrency limit '${name}' is already enabled.\n` });
    expect(disable).toMatchObject({ code: 0, out: `Disabled global concurrency limit with name '${name}'.\n` });
    expect(disabledAlready).toMatchObject({ code: 1, err: `Error: Global concurrency limit '${name}' is already disabled.\n` });
    expect(enable).toMatchObject({ code: 0, out: `Enabled global concurrency limit with name '${name}'.\n` });
    expect((await record(name)).active).toBe(true);
  });

  it.for(["enable", "disable"])("`gcl %s` says a missing limit is not found, and exits 1", async (command, { expect }) => {
    const name = unique(command);

    const { code, err } = await gcl([command, name]);

    expect(code).toBe(1);
    expect(err).toContain(`Global concurrency limit '${name}' not found.`);
  });

  it.for(["enable", "disable"])("`gcl %s` without a name exits 2", async (command, { expect }) => {
    expect((await gcl([command])).code).toBe(2);
  });
});

describe("gcl leases", () => {
  it("shows each holder's slots and times, and how many wait", async ({ expect }) => {
    const name = unique("leases");
    await client.limits.create({ name, limit: 3 });
    const held = await client.acquire(name, { occupy: 2, holder: { type: "job", id: "nightly-report" } });
    try {
      const { code, out } = await gcl(["leases", name]);

      expect(code).toBe(0);
      const [header, row, waiting] = out.trimEnd().split("\n");
      expect(header).toMatch(/^HOLDER +SLOTS +ACQUIRED +EXPIRES$/);
      expect(row).toMatch(/^job nightly-report +2 +(now|\d+ s ago) +in \d+ s$/);
      expect(waiting).toBe("Nobody is waiting.");
    } finally {
      await held.release();
    }
  });

  it("prints the API's leases and waiting count for --json", async ({ expect }) => {
    const name = unique("leases-json");
    await client.limits.create({ name, limit: 1 });
    const held = await client.acquire(name, { holder: { type: "job", id: "a" } });
    try {
      const { code, out } = await gcl(["leases", name, "--json"]);

      expect(code).toBe(0);
      const printed = JSON.parse(out) as { leases: Record<string, unknown>[]; waiting: number };
      expect(Object.keys(printed).sort()).toEqual(["leases", "waiters", "waiting"]);
      expect(printed.waiting).toBe(0);
      expect(printed.leases).toHaveLength(1);
      expect(Object.keys(printed.leases[0] ?? {}).sort()).toEqual(["acquired_at", "expires_at", "holder", "lease_id", "slots"]);
      expect(printed.leases[0]).toMatchObject({ lease_id: held.leaseId, slots: 1, holder: { type: "job", id: "a" } });
    } finally {
      await held.release();
    }
  });

  it("says when nobody holds the limit", async ({ expect }) => {
    const name = unique("leases-empty");
    await client.limits.create({ name, limit: 1 });

    const { code, out } = await gcl(["leases", name]);

    expect(code).toBe(0);
    expect(out).toBe(`No leases on global concurrency limit '${name}'. Nobody is waiting.\n`);
  });

  it("says a missing limit is not found, and exits 1", async ({ expect }) => {
    const name = unique("leases-missing");

    const { code, err } = await gcl(["leases", name]);

    expect(code).toBe(1);
    expect(err).toContain(`Global concurrency limit '${name}' not found.`);
  });

  it("exits 2 without a name", async ({ expect }) => {
    expect((await gcl(["leases"])).code).toBe(2);
  });
});

// ── Using limits from a shell ──

describe("gcl run", () => {
  it("runs the command with the slots held and exits 0 when it does", async ({ expect }) => {
    const name = unique("run");
    await client.limits.create({ name, limit: 1 });
    const { io, done } = start(["run", name, "--", process.execPath, "-e", WAIT_FOR_STDIN]);
    const child = await io.nextChild();
    await firstLine(child);

    const whileRunning = await gcl(["leases", name, "--json"]);
    child.stdin?.end();

    expect(await done).toBe(0);
    const leases = (JSON.parse(whileRunning.out) as { leases: { slots: number; holder: { type: string; id: string } }[] }).leases;
    expect(leases).toHaveLength(1);
    expect(leases[0]?.slots).toBe(1);
    expect(leases[0]?.holder.type).toBe("gcl-run");
    expect(leases[0]?.holder.id).toContain(`test-host:1 ${process.execPath} -e`);
    expect(await client.limits.leases(name)).toEqual({ leases: [], waiting: 0, waiters: [] });
  });

  it("exits with the command's exit code and releases the slots when it fails", async ({ expect }) => {
    const name = unique("run-fails");
    await client.limits.create({ name, limit: 2 });

    const { code } = await gcl(["run", name, "--occupy", "2", "--", process.execPath, "-e", "process.exit(3)"]);

    expect(code).toBe(3);
    expect(await client.limits.leases(name)).toEqual({ leases: [], waiting: 0, waiters: [] });
    expect((await record(name)).active_slots).toBe(0);
  });

  it("holds every comma-separated limit, and gives each back", async ({ expect }) => {
    const names = [unique("run-a"), unique("run-b")];
    await Promise.all(names.map((name) => client.limits.create({ name, limit: 1 })));
    const { io, done } = start(["run", names.join(","), "--", process.execPath, "-e", WAIT_FOR_STDIN, "5"]);
    const child = await io.nextChild();
    await firstLine(child);

    const held = await Promise.all(names.map(async (name) => (await record(name)).active_slots));
    child.stdin?.end();

    expect(await done).toBe(5);
    expect(held).toEqual([1, 1]);
    expect(await Promise.all(names.map(async (name) => (await record(name)).active_slots))).toEqual([0, 0]);
  });

  it("passes SIGTERM on to the command, exits 128 + 15 when it dies of it, and releases", async ({ expect }) => {
    const name = unique("run-signal");
    await client.limits.create({ name, limit: 1 });
    const { io, done } = start(["run", name, "--", process.execPath, "-e", RUN_FOREVER]);
    const child = await io.nextChild();
    await firstLine(child);

    io.signals.emit("SIGTERM");

    expect(await done).toBe(143);
    expect(child.signalCode).toBe("SIGTERM");
    expect((await record(name)).active_slots).toBe(0);
  });

  it("lets a command that handles SIGINT choose its own exit code", async ({ expect }) => {
    const name = unique("run-sigint");
    await client.limits.create({ name, limit: 1 });
    const script = `process.on("SIGINT", () => process.exit(42)); ${RUN_FOREVER}`;
    const { io, done } = start(["run", name, "--", process.execPath, "-e", script]);
    const child = await io.nextChild();
    await firstLine(child);

    io.signals.emit("SIGINT");

    expect(await done).toBe(42);
    expect((await record(name)).active_slots).toBe(0);
  });

  it("gives up after --timeout without starting the command, says who to ask, and exits 1", async ({ expect }) => {
    const name = unique("run-timeout");
    await client.limits.create({ name, limit: 1 });
    const held = await client.acquire(name);
    try {
      const { code, err, io } = await gcl(["run", name, "--timeout", "0.3", "--", process.execPath, "-e", "process.exit(0)"]);

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
    const name = unique("run-wait");
    await client.limits.create({ name, limit: 1 });
    const held = await client.acquire(name);
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
      await vi.waitFor(async () => expect((await client.limits.leases(name)).waiting).toBe(0), WAIT);
      await held.release();
      expect((await client.limits.get(name)).active_slots).toBe(0);
    } finally {
      await held.release();
    }
  });

  it("draws no spinner when stderr is not a terminal (a plain line comes only every 5 s)", async ({ expect }) => {
    const name = unique("run-quiet");
    await client.limits.create({ name, limit: 1 });
    const held = await client.acquire(name);
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
    const name = unique("run-enoent");
    await client.limits.create({ name, limit: 1 });

    const { code, err } = await gcl(["run", name, "--", "gcl-test-no-such-command"]);

    expect(code).toBe(127);
    expect(err).toContain("Could not start `gcl-test-no-such-command`: command not found.");
    expect((await record(name)).active_slots).toBe(0);
  });

  it("refuses a limit that does not exist, without starting the command, says how to create it, and exits 1", async ({ expect }) => {
    const name = unique("run-missing");
    const other = unique("run-present");
    await client.limits.create({ name: other, limit: 1 });

    const { code, err, io } = await gcl(["run", `${other},${name}`, "--", process.execPath, "-e", "0"]);

    expect(code).toBe(1);
    expect(io.children).toEqual([]);
    expect(err).toContain(`Error: Global concurrency limit '${name}' does not exist, so \`${process.execPath}\` was not started.`);
    expect(err).toContain(`gcl create ${name} --limit N`);
    expect(err).toContain("--allow-missing");
    // What was taken on the limit that exists was given back.
    expect((await record(other)).active_slots).toBe(0);
  });

  it("runs the command with a warning for a missing limit with --allow-missing, as Prefect does", async ({ expect }) => {
    const name = unique("run-allow-missing");

    const { code, err } = await gcl(["run", name, "--allow-missing", "--", process.execPath, "-e", "process.exit(4)"]);

    expect(code).toBe(4);
    expect(err).toContain(`Warning: Concurrency limits ['${name}'] do not exist - skipping acquisition.`);
  });

  it("refuses --occupy above the limit, says how to fix it, and exits 1", async ({ expect }) => {
    const name = unique("run-occupy");
    await client.limits.create({ name, limit: 2 });

    const { code, err, io } = await gcl(["run", name, "--occupy", "3", "--", process.execPath, "-e", "0"]);

    expect(code).toBe(1);
    expect(io.children).toEqual([]);
    expect(err).toContain(`Cannot take 3 slot(s) on '${name}'`);
    expect(err).toContain("Lower --occupy");
  });

  it("stops the command with SIGTERM when --strict and the lease is lost", async ({ expect }) => {
    const name = unique("run-lost-strict");
    await client.limits.create({ name, limit: 1 });
    const { io, done } = start(["run", name, "--strict", "--lease-duration", "1", "--", process.execPath, "-e", RUN_FOREVER]);
    await firstLine(await io.nextChild());

    // Deleting the limit revokes the lease: the next renewal (after 0.75 s) is refused.
    await client.limits.delete(name);

    expect(await done).toBe(143);
    expect(io.stderr.text).toContain("Stopping `");
    expect(io.stderr.text).toContain("with SIGTERM: it no longer holds its slots (--strict)");
  });

  it("keeps the command running with a warning when the lease is lost without --strict", async ({ expect }) => {
    const name = unique("run-lost");
    await client.limits.create({ name, limit: 1 });
    const { io, done } = start(["run", name, "--lease-duration", "1", "--", process.execPath, "-e", WAIT_FOR_STDIN, "6"]);
    const child = await io.nextChild();
    await firstLine(child);

    await client.limits.delete(name);
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
    { argv: ["run", "db", "--strict", "--allow-missing", "--", "true"], says: "cannot be used with option '--allow-missing'" },
  ])("exits 2 without starting anything for `gcl $argv`", async ({ argv, says }, { expect }) => {
    const { code, err, io } = await gcl(argv);

    expect(code).toBe(2);
    expect(io.children).toEqual([]);
    expect(err).toContain(says);
  });

  it("hands options after `--` to the command, not to gcl", async ({ expect }) => {
    const name = unique("run-args");
    await client.limits.create({ name, limit: 1 });
    const script = `process.exit(process.argv.slice(1).join(" ") === "--url x --occupy 9 --" ? 0 : 9)`;

    // Node's own `--` ends its options; the rest reaches the script untouched.
    const { code } = await gcl(["run", name, "--", process.execPath, "-e", script, "--", "--url", "x", "--occupy", "9", "--"]);

    expect(code).toBe(0);
  });
});

describe("gcl rate-limit", () => {
  it("returns 0 once admitted, prints nothing, and takes a slot that decay frees", async ({ expect }) => {
    const name = unique("rate");
    await client.limits.create({ name, limit: 5, slot_decay_per_second: 0.01 });

    const { code, out, err } = await gcl(["rate-limit", name, "--occupy", "2"]);

    expect(code).toBe(0);
    expect(out).toBe("");
    expect(err).toBe("");
    expect((await record(name)).active_slots).toBe(2);
  });

  it("gives up after --timeout when the rate is used up, and exits 1", async ({ expect }) => {
    const name = unique("rate-timeout");
    await client.limits.create({ name, limit: 1, slot_decay_per_second: 0.01 });
    await gcl(["rate-limit", name]);

    const { code, err } = await gcl(["rate-limit", name, "--timeout", "0.2"]);

    expect(code).toBe(1);
    expect(err).toContain(`Timed out after 0.2 s waiting for the rate limit on '${name}'.`);
    expect(err).toContain("--slot-decay-per-second");
  });

  it("explains that a limit without decay is not a rate limit, and exits 1", async ({ expect }) => {
    const name = unique("rate-nodecay");
    await client.limits.create({ name, limit: 1 });

    const { code, err } = await gcl(["rate-limit", name]);

    expect(code).toBe(1);
    expect(err).toContain("Only concurrency limits with slot decay can be used for rate limiting");
    expect(err).toContain(`gcl update ${name} --slot-decay-per-second 1`);
  });

  it("refuses a missing limit, and skips it with a warning with --allow-missing", async ({ expect }) => {
    const name = unique("rate-missing");

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

// ── Tokens ──

describe("gcl against a Worker with tokens", () => {
  const url = (): string => secured.url;

  it("says when there are no limits, with the admin token from GCL_TOKEN", async ({ expect }) => {
    const table = await gcl(["ls"], { env: { GCL_URL: url(), GCL_TOKEN: ADMIN_TOKEN } });
    const json = await gcl(["ls", "--json"], { env: { GCL_URL: url(), GCL_TOKEN: ADMIN_TOKEN } });

    expect(table).toMatchObject({ code: 0, out: "No global concurrency limits found.\n" });
    expect(json).toMatchObject({ code: 0, out: "[]\n" });
  });

  it("says how to pass a token when none is given, and exits 1", async ({ expect }) => {
    const { code, err } = await gcl(["ls"], { env: { GCL_URL: url() } });

    expect(code).toBe(1);
    expect(err).toContain(`The Worker at ${url()} refused the token`);
    expect(err).toContain("--token or GCL_TOKEN");
  });

  it("takes --token over GCL_TOKEN", async ({ expect }) => {
    const name = unique("token");

    const { code } = await gcl(["create", name, "--limit", "1", "--token", ADMIN_TOKEN], {
      env: { GCL_URL: url(), GCL_TOKEN: "wrong" },
    });

    expect(code).toBe(0);
  });

  it("says the client token may take slots but not manage limits", async ({ expect }) => {
    const name = unique("client-token");
    await gcl(["create", name, "--limit", "1"], { env: { GCL_URL: url(), GCL_TOKEN: ADMIN_TOKEN } });

    const create = await gcl(["create", unique("client-token"), "--limit", "1"], { env: { GCL_URL: url(), GCL_TOKEN: CLIENT_TOKEN } });
    const runs = await gcl(["run", name, "--", process.execPath, "-e", "process.exit(0)"], {
      env: { GCL_URL: url(), GCL_TOKEN: CLIENT_TOKEN },
    });

    expect(create.code).toBe(1);
    expect(create.err).toContain("This token may take slots but not manage limits");
    expect(create.err).toContain("admin token (GCL_ADMIN_TOKEN)");
    expect(runs.code).toBe(0);
  });
});
