/**
 * Limit administration routes: create, read, list, update, delete and the lease listing. Every
 * route here addresses one limit object by name; ids (UUIDs, for Prefect parity) resolve through
 * the catalog (reference A-0: a UUID-shaped path segment is an id).
 */

import { CATALOG_NAME } from "../objects/catalog-object";
import { DETAIL, GclError } from "../protocol/errors";
import {
  CreateLimitSchema,
  FilterSchema,
  LimitLeasesSchema,
  LimitRecordSchema,
  UpdateLimitSchema,
} from "../protocol/schemas";
import { type App, type AppContext, defineRoute } from "./define";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function catalog(env: Env) {
  return env.CATALOG.getByName(CATALOG_NAME);
}

/** The limit name a path segment means, or a 404. */
export async function resolveName(c: AppContext): Promise<string> {
  const idOrName = c.req.param("id_or_name") ?? "";
  if (!UUID_PATTERN.test(idOrName)) {
    return idOrName;
  }
  const name = await catalog(c.env).resolve(idOrName.toLowerCase());
  if (name === null) {
    throw new GclError("not_found", DETAIL.notFound);
  }
  return name;
}

export function limitRoutes(app: App): void {
  defineRoute(
    app,
    {
      method: "post",
      path: "/",
      summary: "Create a limit",
      role: "admin",
      body: CreateLimitSchema,
      success: { status: 201, description: "The new limit", schema: LimitRecordSchema },
      errors: [409],
    },
    async (c, body) => {
      const limits = c.env.LIMITS.getByName(body.name);
      let id: string = crypto.randomUUID();
      const claim = await catalog(c.env).register(body.name, id);
      if (claim.status === "exists") {
        // The catalog can hold a name whose limit object is empty, if a create died between the
        // two writes; then the name is free and its id is reused.
        if ((await limits.describe()) !== null) {
          throw new GclError("already_exists", DETAIL.alreadyExists);
        }
        id = claim.id;
      }
      const record = await limits.create({
        id,
        name: body.name,
        limit: body.limit,
        active: body.active ?? true,
        slotDecayPerSecond: body.slot_decay_per_second ?? 0,
        activeSlots: body.active_slots ?? 0,
        deniedSlots: body.denied_slots ?? 0,
      });
      if (record === null) {
        throw new GclError("already_exists", DETAIL.alreadyExists);
      }
      return c.json(record, 201);
    },
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/filter",
      summary: "List limits, sorted by name",
      role: "client",
      body: FilterSchema,
      bodyRequired: false,
      success: { status: 200, description: "A page of limits", schema: LimitRecordSchema.array() },
    },
    async (c, body) => {
      const names = await catalog(c.env).list(body.offset ?? 0, body.limit ?? 200);
      const records = await Promise.all(names.map((name) => c.env.LIMITS.getByName(name).describe()));
      return c.json(records.filter((record) => record !== null));
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/{id_or_name}",
      summary: "Read a limit",
      role: "client",
      success: { status: 200, description: "The limit", schema: LimitRecordSchema },
      errors: [404],
    },
    async (c) => {
      const record = await c.env.LIMITS.getByName(await resolveName(c)).describe();
      if (record === null) {
        throw new GclError("not_found", DETAIL.notFound);
      }
      return c.json(record);
    },
  );

  defineRoute(
    app,
    {
      method: "patch",
      path: "/{id_or_name}",
      summary: "Update a limit (limits cannot be renamed)",
      role: "admin",
      body: UpdateLimitSchema,
      success: { status: 204, description: "Updated" },
      errors: [404],
    },
    async (c, body) => {
      const name = await resolveName(c);
      if (body.name !== undefined && body.name !== name) {
        throw new GclError(
          "rename_not_supported",
          `limits cannot be renamed (each name is its own object): create '${body.name}' and delete '${name}' instead`,
          { errors: [{ path: "name", message: "limits cannot be renamed" }] },
        );
      }
      const updated = await c.env.LIMITS.getByName(name).update({
        limit: body.limit,
        active: body.active,
        slotDecayPerSecond: body.slot_decay_per_second,
        activeSlots: body.active_slots,
        deniedSlots: body.denied_slots,
      });
      if (!updated) {
        throw new GclError("not_found", DETAIL.notFound);
      }
      return c.body(null, 204);
    },
  );

  defineRoute(
    app,
    {
      method: "delete",
      path: "/{id_or_name}",
      summary: "Delete a limit, revoking its leases",
      role: "admin",
      success: { status: 204, description: "Deleted" },
      errors: [404],
    },
    async (c) => {
      const name = await resolveName(c);
      const deletedId = await c.env.LIMITS.getByName(name).remove();
      if (deletedId === null) {
        throw new GclError("not_found", DETAIL.notFound);
      }
      await catalog(c.env).unregister(name, deletedId);
      return c.body(null, 204);
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/{id_or_name}/leases",
      summary: "Who holds a limit's slots, and how many wait",
      role: "admin",
      success: { status: 200, description: "Live leases, oldest first", schema: LimitLeasesSchema },
      errors: [404],
    },
    async (c) => {
      const leases = await c.env.LIMITS.getByName(await resolveName(c)).leases();
      if (leases === null) {
        throw new GclError("not_found", DETAIL.notFound);
      }
      return c.json(leases);
    },
  );
}
