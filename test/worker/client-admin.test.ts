import { describe, it } from "vitest";
import { GclError } from "../../src/client";
import { uniqueName } from "../helpers/api";
import { testClient } from "../helpers/client";

describe("limits.*", () => {
  it("creates, reads by name and id, updates, enables, disables and deletes a limit", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName("tag:admin");

    const created = await gcl.limits.create({ name, limit: 2, slot_decay_per_second: 0.5 });
    expect(created).toMatchObject({ name, limit: 2, active: true, active_slots: 0, slot_decay_per_second: 0.5 });
    expect(await gcl.limits.get(created.id)).toMatchObject({ name });

    await gcl.limits.update(name, { limit: 5 });
    await gcl.limits.disable(name);
    expect(await gcl.limits.get(name)).toMatchObject({ limit: 5, active: false });
    await gcl.limits.enable(created.id);
    expect(await gcl.limits.get(name)).toMatchObject({ active: true });

    await gcl.limits.delete(name);
    await expect(gcl.limits.get(name)).rejects.toMatchObject({ code: "not_found", status: 404 });
  });

  it("lists limits sorted by name, a page at a time", async ({ expect }) => {
    const { gcl } = testClient();
    const prefix = uniqueName("list");
    for (const suffix of ["c", "a", "b"]) {
      await gcl.limits.create({ name: `${prefix}-${suffix}`, limit: 1 });
    }

    const all = (await gcl.limits.list()).map((limit) => limit.name).filter((name) => name.startsWith(prefix));
    const page = await gcl.limits.list({ limit: 1, offset: 0 });

    expect(all).toEqual([`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]);
    expect(page).toHaveLength(1);
  });

  it("lists who holds a limit's slots", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await gcl.limits.create({ name, limit: 3 });

    await gcl.concurrency(
      name,
      async () => {
        const { leases, waiting } = await gcl.limits.leases(name);
        expect(waiting).toBe(0);
        expect(leases).toMatchObject([{ slots: 2, holder: { type: "job", id: "nightly" } }]);
      },
      { occupy: 2, holder: { type: "job", id: "nightly" } },
    );

    expect((await gcl.limits.leases(name)).leases).toEqual([]);
  });

  it("throws GclError with the server's code, detail and field errors", async ({ expect }) => {
    const { gcl } = testClient();
    const name = uniqueName();
    await gcl.limits.create({ name, limit: 1 });

    const duplicate = await gcl.limits.create({ name, limit: 1 }).catch((e: unknown) => e);
    const invalid = await gcl.limits.create({ name: uniqueName(), limit: -1 }).catch((e: unknown) => e);
    const rename = await gcl.limits.update(name, { name: "other" }).catch((e: unknown) => e);

    expect(duplicate).toBeInstanceOf(GclError);
    expect(duplicate).toMatchObject({ code: "already_exists", status: 409 });
    expect(invalid).toMatchObject({ code: "invalid_request", status: 422, errors: [{ path: "limit" }] });
    expect(rename).toMatchObject({ code: "rename_not_supported" });
  });

  it("rejects an empty name or id before sending anything", async ({ expect }) => {
    const { gcl, sent } = testClient();
    await expect(gcl.limits.get("")).rejects.toThrow("Expected `idOrName` to be a limit name or id, got `` (string)");
    expect(sent).toEqual([]);
  });
});
