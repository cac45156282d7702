/**
 * `gcl ls`, `gcl inspect`, `gcl create` and `gcl update` against the real Worker on a loopback
 * port, called in process through `run(argv, io)`: each checked for success, a missing limit, a
 * usage error and its `--json` shape.
 */

import { describe, it } from "vitest";
import type { LimitRecord } from "../../src/client";
import { useCliWorker } from "../helpers/cli-worker";
import { uniqueName } from "../helpers/common";

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

const worker = useCliWorker();
const { gcl, record } = worker;

// ── Managing limits ──

describe("gcl ls", () => {
  it("lists limits in an aligned table with relative update times", async ({ expect }) => {
    const name = uniqueName("ls");
    await worker.client.limits.create({ name, limit: 7, slot_decay_per_second: 2.5 });

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
    const name = uniqueName("ls-json");
    await worker.client.limits.create({ name, limit: 3 });

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
    const prefix = uniqueName("page");
    const names = Array.from({ length: 205 }, (_, index) => `${prefix}-${String(index).padStart(3, "0")}`);
    for (let index = 0; index < names.length; index += 25) {
      await Promise.all(names.slice(index, index + 25).map((name) => worker.client.limits.create({ name, limit: 1 })));
    }

    const { code, out } = await gcl(["ls", "--json"]);

    expect(code).toBe(0);
    const listed = (JSON.parse(out) as LimitRecord[])
      .map((entry) => entry.name)
      .filter((name) => name.startsWith(prefix));
    expect(listed).toEqual(names);
  });
});

describe("gcl inspect", () => {
  it("shows one limit's settings and state", async ({ expect }) => {
    const name = uniqueName("inspect");
    const created = await worker.client.limits.create({ name, limit: 4, slot_decay_per_second: 0.5 });

    const { code, out } = await gcl(["inspect", name]);

    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^name +${name}$`, "m"));
    expect(out).toMatch(new RegExp(`^id +${created.id}$`, "m"));
    expect(out).toMatch(/^limit +4$/m);
    expect(out).toMatch(/^slot decay +0\.5 per second \(a rate limit\)$/m);
    expect(out).toMatch(/^created +\S+ \((now|\d+ s ago)\)$/m);
  });

  it("prints the API's record for --json", async ({ expect }) => {
    const name = uniqueName("inspect-json");
    await worker.client.limits.create({ name, limit: 2 });

    const { code, out } = await gcl(["inspect", name, "--json"]);

    expect(code).toBe(0);
    const printed = JSON.parse(out) as LimitRecord;
    expect(Object.keys(printed).sort()).toEqual(RECORD_KEYS);
    expect(printed).toEqual(await record(name));
  });

  it("says a missing limit is not found and how to create it, and exits 1", async ({ expect }) => {
    const name = uniqueName("missing");

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
    const name = uniqueName("create");

    const { code, out } = await gcl(["create", name, "--limit", "5"]);

    expect(code).toBe(0);
    const created = await record(name);
    expect(out).toBe(
      `Created global concurrency limit with name '${name}' and ID '${created.id}'. Run \`gcl inspect ${name}\` to view details.\n`,
    );
    expect(created).toMatchObject({ limit: 5, active: true, slot_decay_per_second: 0 });
  });

  it("creates a disabled rate limit with -l, --slot-decay-per-second and --disable", async ({ expect }) => {
    const name = uniqueName("create-rate");

    const { code } = await gcl(["create", name, "-l", "10", "--slot-decay-per-second", "2.5", "--disable"]);

    expect(code).toBe(0);
    expect(await record(name)).toMatchObject({ limit: 10, slot_decay_per_second: 2.5, active: false });
  });

  it("refuses a name that is taken, says how to change it instead, and exits 1", async ({ expect }) => {
    const name = uniqueName("taken");
    await worker.client.limits.create({ name, limit: 1 });

    const { code, err } = await gcl(["create", name, "--limit", "2"]);

    expect(code).toBe(1);
    expect(err).toContain(
      `Global concurrency limit '${name}' already exists. Please try creating with a different name.`,
    );
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
    const name = uniqueName("update");
    await worker.client.limits.create({ name, limit: 2, slot_decay_per_second: 1 });

    const { code, out } = await gcl(["update", name, "--limit", "9", "--active-slots", "3"]);

    expect(code).toBe(0);
    expect(out).toBe(`Updated global concurrency limit with name '${name}'.\n`);
    expect(await record(name)).toMatchObject({ limit: 9, slot_decay_per_second: 1, active: true });
    expect((await record(name)).active_slots).toBeGreaterThan(0);
  });

  it("disables with --disable and enables with --enable", async ({ expect }) => {
    const name = uniqueName("update-active");
    await worker.client.limits.create({ name, limit: 2 });

    await gcl(["update", name, "--disable"]);
    const disabled = (await record(name)).active;
    await gcl(["update", name, "--enable", "--slot-decay-per-second", "0.25"]);

    expect(disabled).toBe(false);
    expect(await record(name)).toMatchObject({ active: true, slot_decay_per_second: 0.25 });
  });

  it("lists the fields the Worker refused, one a line, and exits 1", async ({ expect }) => {
    const name = uniqueName("update-refused");
    await worker.client.limits.create({ name, limit: 2 });

    const { code, err } = await gcl(["update", name, "--slot-decay-per-second", "1e12"]);

    expect(code).toBe(1);
    expect(err).toMatch(
      /^Error: The server refused the request \(invalid_request\):\n {4}slot_decay_per_second: .+\n {2}Check the values given/,
    );
    expect((await record(name)).slot_decay_per_second).toBe(0);
  });

  it("says a missing limit is not found, and exits 1", async ({ expect }) => {
    const name = uniqueName("update-missing");

    const { code, err } = await gcl(["update", name, "--limit", "1"]);

    expect(code).toBe(1);
    expect(err).toContain(`Global concurrency limit '${name}' not found.`);
  });

  it.for([
    { argv: ["update", "x"], says: "nothing to update" },
    {
      argv: ["update", "x", "--enable", "--disable"],
      says: "option '--enable' cannot be used with option '--disable'",
    },
    { argv: ["update", "--limit", "1"], says: "missing required argument 'name'" },
  ])("exits 2 without sending anything for `gcl $argv`", async ({ argv, says }, { expect }) => {
    const { code, err } = await gcl(argv, { env: { GCL_URL: "http://127.0.0.1:1" } });

    expect(code).toBe(2);
    expect(err).toContain(says);
  });
});
