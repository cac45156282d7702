/**
 * `gcl --json` on every verb, `gcl ensure` (create if missing) and `gcl --version`, in process
 * through `run(argv, io)` against the real Worker on a loopback port. Each `--json` answer must be
 * the limit's record as the API has it after the command (as it was, for `delete`), so a script
 * needs no second call; the human messages stay on the non-JSON path.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "vitest";
import type { LimitRecord } from "../../src/client";
import { useCliWorker } from "../helpers/cli-worker";
import { uniqueName } from "../helpers/common";

const worker = useCliWorker({ env: { NO_COLOR: "1" } });
const { gcl } = worker;

/** stdout parsed as one JSON value; fails the test if it is anything else. */
function json(out: string): LimitRecord {
  return JSON.parse(out) as LimitRecord;
}

describe("gcl --version", () => {
  it("prints the package's version and exits 0", async ({ expect }) => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8")) as {
      version: string;
    };

    for (const flag of ["--version", "-V"]) {
      expect(await gcl([flag])).toMatchObject({ code: 0, out: `${version}\n`, err: "" });
    }
  });
});

describe("--json on every verb", () => {
  it("create prints the new record", async ({ expect }) => {
    const name = uniqueName("create");

    const { code, out } = await gcl(["create", name, "--limit", "3", "--json"]);

    expect(code).toBe(0);
    expect(json(out)).toMatchObject({ id: (await worker.client.limits.get(name)).id, name, limit: 3, active: true });
  });

  it("update, disable and enable print the record after the change; -o json is the same", async ({ expect }) => {
    const name = uniqueName("update");
    await worker.client.limits.create({ name, limit: 1 });

    const updated = await gcl(["update", name, "--limit", "7", "--json"]);
    const disabled = await gcl(["disable", name, "-o", "json"]);
    const enabled = await gcl(["enable", name, "--json"]);

    expect([updated.code, disabled.code, enabled.code]).toEqual([0, 0, 0]);
    expect(json(updated.out)).toMatchObject({ name, limit: 7, active: true });
    expect(json(disabled.out)).toMatchObject({ name, limit: 7, active: false });
    expect(json(enabled.out)).toMatchObject({ name, limit: 7, active: true });
  });

  it("delete prints the record as it was, and the limit is gone", async ({ expect }) => {
    const name = uniqueName("delete");
    const created = await worker.client.limits.create({ name, limit: 2 });

    const { code, out } = await gcl(["delete", name, "--yes", "--json"]);

    expect(code).toBe(0);
    expect(json(out)).toMatchObject({ id: created.id, name, limit: 2 });
    await expect(worker.client.limits.get(name)).rejects.toMatchObject({ code: "not_found" });
  });

  it("rate-limit prints the limits that admitted the caller", async ({ expect }) => {
    const name = uniqueName("rate");
    await worker.client.limits.create({ name, limit: 5, slot_decay_per_second: 5 });

    const { code, out } = await gcl(["rate-limit", name, "--json"]);

    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ limits: [expect.objectContaining({ name, limit: 5 })], missing: [] });
  });

  it("errors stay on stderr with the exit code, and stdout stays empty", async ({ expect }) => {
    const name = uniqueName("missing");

    const { code, out, err } = await gcl(["disable", name, "--json"]);

    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toContain(`Global concurrency limit '${name}' not found.`);
  });
});

describe("gcl ensure", () => {
  it("creates a missing limit, then finds it: the same record, exit 0 both times", async ({ expect }) => {
    const name = uniqueName("ensure");

    const first = await gcl(["ensure", name, "--limit", "4", "--json"]);
    const second = await gcl(["ensure", name, "--limit", "4"]);

    expect(first.code).toBe(0);
    const record = json(first.out);
    expect(record).toMatchObject({ name, limit: 4 });
    expect(second).toMatchObject({
      code: 0,
      out: `Global concurrency limit with name '${name}' and ID '${record.id}' is in place (limit 4).\n`,
      err: "",
    });
  });

  it("leaves an existing limit with other settings alone, and says which update would match", async ({ expect }) => {
    const name = uniqueName("ensure-differs");
    await worker.client.limits.create({ name, limit: 2 });

    const { code, out, err } = await gcl(["ensure", name, "--limit", "5", "--slot-decay-per-second", "1", "--json"]);

    expect(code).toBe(0);
    expect(json(out)).toMatchObject({ name, limit: 2, slot_decay_per_second: 0 });
    expect(err).toContain(`Warning: Global concurrency limit '${name}' exists with other settings`);
    expect(err).toContain(`gcl update ${name} --limit 5 --slot-decay-per-second 1`);
    expect((await worker.client.limits.get(name)).limit).toBe(2);
  });

  it("refuses what create refuses: exit 2 without --limit", async ({ expect }) => {
    const { code, err } = await gcl(["ensure", uniqueName("no-limit")]);

    expect(code).toBe(2);
    expect(err).toContain("required option '-l, --limit <n>' not specified");
  });
});

describe("gcl create on a taken name", () => {
  it("points to update and to ensure", async ({ expect }) => {
    const name = uniqueName("taken");
    await worker.client.limits.create({ name, limit: 1 });

    const { code, err } = await gcl(["create", name, "--limit", "1"]);

    expect(code).toBe(1);
    expect(err).toContain(`gcl ensure ${name} --limit N`);
  });
});
