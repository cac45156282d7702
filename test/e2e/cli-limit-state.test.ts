/**
 * `gcl delete` (with and without confirmation), `gcl enable`, `gcl disable` and `gcl leases`
 * against the real Worker on a loopback port, called in process through `run(argv, io)`.
 */

import { describe, it } from "vitest";
import { useCliWorker } from "../helpers/cli-worker";
import { uniqueName } from "../helpers/common";

const worker = useCliWorker();
const { gcl, record } = worker;

describe("gcl delete", () => {
  it("deletes without asking with --yes", async ({ expect }) => {
    const name = uniqueName("delete");
    await worker.client.limits.create({ name, limit: 1 });

    const { code, out, io } = await gcl(["delete", name, "--yes"]);

    expect(code).toBe(0);
    expect(out).toBe(`Deleted global concurrency limit with name '${name}'.\n`);
    expect(io.questions).toEqual([]);
    expect((await gcl(["inspect", name])).code).toBe(1);
  });

  it("refuses without --yes when stdin is not a terminal, says how to confirm, and keeps the limit", async ({
    expect,
  }) => {
    const name = uniqueName("delete-refused");
    await worker.client.limits.create({ name, limit: 1 });

    const { code, err, io } = await gcl(["delete", name], { interactive: false });

    expect(code).toBe(1);
    expect(err).toContain(`Refusing to delete global concurrency limit '${name}' without confirmation`);
    expect(err).toContain(`gcl delete ${name} --yes`);
    expect(io.questions).toEqual([]);
    expect((await record(name)).name).toBe(name);
  });

  it("asks on a terminal, and deletes only when the answer is yes", async ({ expect }) => {
    const name = uniqueName("delete-asked");
    await worker.client.limits.create({ name, limit: 1 });

    const declined = await gcl(["delete", name], { interactive: true, answers: [""] });
    const stillThere = (await record(name)).name;
    const accepted = await gcl(["delete", name], { interactive: true, answers: ["y"] });

    expect(declined.io.questions).toEqual([
      `Are you sure you want to delete global concurrency limit '${name}'? [y/N] `,
    ]);
    expect(declined.code).toBe(1);
    expect(declined.err).toContain("Deletion aborted.");
    expect(stillThere).toBe(name);
    expect(accepted.code).toBe(0);
    expect((await gcl(["inspect", name])).code).toBe(1);
  });

  it("says a missing limit is not found before asking anything, and exits 1", async ({ expect }) => {
    const name = uniqueName("delete-missing");

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
    const name = uniqueName("toggle");
    await worker.client.limits.create({ name, limit: 1 });

    const enabledAlready = await gcl(["enable", name]);
    const disable = await gcl(["disable", name]);
    const disabledAlready = await gcl(["disable", name]);
    const enable = await gcl(["enable", name]);

    expect(enabledAlready).toMatchObject({
      code: 1,
      err: `Error: Global concurrency limit '${name}' is already enabled.\n`,
    });
    expect(disable).toMatchObject({ code: 0, out: `Disabled global concurrency limit with name '${name}'.\n` });
    expect(disabledAlready).toMatchObject({
      code: 1,
      err: `Error: Global concurrency limit '${name}' is already disabled.\n`,
    });
    expect(enable).toMatchObject({ code: 0, out: `Enabled global concurrency limit with name '${name}'.\n` });
    expect((await record(name)).active).toBe(true);
  });

  it.for(["enable", "disable"])(
    "`gcl %s` says a missing limit is not found, and exits 1",
    async (command, { expect }) => {
      const name = uniqueName(command);

      const { code, err } = await gcl([command, name]);

      expect(code).toBe(1);
      expect(err).toContain(`Global concurrency limit '${name}' not found.`);
    },
  );

  it.for(["enable", "disable"])("`gcl %s` without a name exits 2", async (command, { expect }) => {
    expect((await gcl([command])).code).toBe(2);
  });
});

describe("gcl leases", () => {
  it("shows each holder's slots and times, and how many wait", async ({ expect }) => {
    const name = uniqueName("leases");
    await worker.client.limits.create({ name, limit: 3 });
    const held = await worker.client.acquire(name, { occupy: 2, holder: { type: "job", id: "nightly-report" } });
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
    const name = uniqueName("leases-json");
    await worker.client.limits.create({ name, limit: 1 });
    const held = await worker.client.acquire(name, { holder: { type: "job", id: "a" } });
    try {
      const { code, out } = await gcl(["leases", name, "--json"]);

      expect(code).toBe(0);
      const printed = JSON.parse(out) as { leases: Record<string, unknown>[]; waiting: number };
      expect(Object.keys(printed).sort()).toEqual(["leases", "waiters", "waiting"]);
      expect(printed.waiting).toBe(0);
      expect(printed.leases).toHaveLength(1);
      expect(Object.keys(printed.leases[0] ?? {}).sort()).toEqual([
        "acquired_at",
        "expires_at",
        "holder",
        "lease_id",
        "slots",
      ]);
      expect(printed.leases[0]).toMatchObject({ lease_id: held.leaseId, slots: 1, holder: { type: "job", id: "a" } });
    } finally {
      await held.release();
    }
  });

  it("says when nobody holds the limit", async ({ expect }) => {
    const name = uniqueName("leases-empty");
    await worker.client.limits.create({ name, limit: 1 });

    const { code, out } = await gcl(["leases", name]);

    expect(code).toBe(0);
    expect(out).toBe(`No leases on global concurrency limit '${name}'. Nobody is waiting.\n`);
  });

  it("says a missing limit is not found, and exits 1", async ({ expect }) => {
    const name = uniqueName("leases-missing");

    const { code, err } = await gcl(["leases", name]);

    expect(code).toBe(1);
    expect(err).toContain(`Global concurrency limit '${name}' not found.`);
  });

  it("exits 2 without a name", async ({ expect }) => {
    expect((await gcl(["leases"])).code).toBe(2);
  });
});
