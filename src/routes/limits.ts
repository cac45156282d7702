/**
 * Limit administration routes: create, read, list, update, delete and the lease listing. Thin:
 * each parses its request, calls the operation in `../operations/limits` and renders the answer.
 */

import { createLimit, deleteLimit, limitLeases, listLimits, readLimit, updateLimit } from "../operations/limits";
import {
  CreateLimitSchema,
  FilterSchema,
  LimitLeasesSchema,
  LimitRecordSchema,
  LimitRecordsSchema,
  UpdateLimitSchema,
} from "../protocol/schemas";
import { type App, type AppContext, defineRoute } from "./define";

function idOrName(c: AppContext): string {
  return c.req.param("id_or_name") ?? "";
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
    async (c, body) => c.json(await createLimit(c.env, body), 201),
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
      success: { status: 200, description: "A page of limits", schema: LimitRecordsSchema },
    },
    async (c, body) => c.json(await listLimits(c.env, body)),
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
    async (c) => c.json(await readLimit(c.env, idOrName(c))),
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
      await updateLimit(c.env, idOrName(c), body);
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
      await deleteLimit(c.env, idOrName(c));
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
    async (c) => c.json(await limitLeases(c.env, idOrName(c))),
  );
}
