/**
 * The commands that manage limits, as `prefect gcl` has them: `ls`, `inspect`, `create`,
 * `update`, `delete`, `enable`, `disable`, plus `leases`. Each resolves with an exit code and
 * throws what `explain()` can turn into a message. Messages keep Prefect's wording where it has one.
 */

import type { LimitRecord, UpdateLimitBody } from "../client/index";
import { MAX_PAGE_SIZE } from "../protocol/constants";
import type { Context } from "./context";
import { CliError, EXIT } from "./errors";
import { leasesTable, limitDetails, limitsTable } from "./format";

export interface OutputOptions {
  json?: boolean;
}

/** Every limit, sorted by name, paging through `POST /filter` until a page comes back short. */
async function listAll(context: Context): Promise<LimitRecord[]> {
  const byId = new Map<string, LimitRecord>();
  for (let offset = 0; ; offset += MAX_PAGE_SIZE) {
    const page = await context.client.limits.list({ limit: MAX_PAGE_SIZE, offset });
    // A limit created or deleted between two pages shifts the rest: keep each one once.
    for (const record of page) {
      byId.set(record.id, record);
    }
    if (page.length < MAX_PAGE_SIZE) {
      break;
    }
  }
  // In the server's order: sorted by name.
  return [...byId.values()];
}

export async function listLimits(context: Context, options: OutputOptions): Promise<number> {
  const records = await listAll(context);
  if (options.json) {
    context.json(records);
  } else if (records.length === 0) {
    context.io.stdout.write("No global concurrency limits found.\n");
  } else {
    context.io.stdout.write(limitsTable(records, Date.now(), context.out));
  }
  return EXIT.ok;
}

export async function inspectLimit(context: Context, name: string, options: OutputOptions): Promise<number> {
  const record = await context.client.limits.get(name);
  if (options.json) {
    context.json(record);
  } else {
    context.io.stdout.write(limitDetails(record, Date.now(), context.out));
  }
  return EXIT.ok;
}

export interface CreateOptions {
  limit: number;
  slotDecayPerSecond?: number;
  activeSlots?: number;
  disable?: boolean;
}

export async function createLimit(context: Context, name: string, options: CreateOptions): Promise<number> {
  const record = await context.client.limits.create({
    name,
    limit: options.limit,
    active: options.disable !== true,
    ...(options.slotDecayPerSecond === undefined ? {} : { slot_decay_per_second: options.slotDecayPerSecond }),
    ...(options.activeSlots === undefined ? {} : { active_slots: options.activeSlots }),
  });
  context.success(
    `Created global concurrency limit with name '${record.name}' and ID '${record.id}'. Run \`gcl inspect ${record.name}\` to view details.`,
  );
  return EXIT.ok;
}

export interface UpdateOptions {
  limit?: number;
  slotDecayPerSecond?: number;
  activeSlots?: number;
  enable?: boolean;
  disable?: boolean;
}

/** The PATCH body of `gcl update`'s flags; empty when none was given. */
export function updatePatch(options: UpdateOptions): UpdateLimitBody {
  return {
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    ...(options.slotDecayPerSecond === undefined ? {} : { slot_decay_per_second: options.slotDecayPerSecond }),
    ...(options.activeSlots === undefined ? {} : { active_slots: options.activeSlots }),
    ...(options.enable ? { active: true } : {}),
    ...(options.disable ? { active: false } : {}),
  };
}

export async function updateLimit(context: Context, name: string, patch: UpdateLimitBody): Promise<number> {
  await context.client.limits.update(name, patch);
  context.success(`Updated global concurrency limit with name '${name}'.`);
  return EXIT.ok;
}

export interface DeleteOptions {
  yes?: boolean;
}

/** Reads the limit first (a missing one fails before any question), then confirms, then deletes. */
export async function deleteLimit(context: Context, name: string, options: DeleteOptions): Promise<number> {
  const { io } = context;
  await context.client.limits.get(name);
  if (!options.yes) {
    if (!io.interactive) {
      throw new CliError(
        `Refusing to delete global concurrency limit '${name}' without confirmation: stdin is not a terminal, so nobody can be asked.`,
        { hint: `Pass --yes to delete it from a script: \`gcl delete ${name} --yes\`.` },
      );
    }
    const answer = await io.ask(`Are you sure you want to delete global concurrency limit '${name}'? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) {
      throw new CliError("Deletion aborted.");
    }
  }
  await context.client.limits.delete(name);
  context.success(`Deleted global concurrency limit with name '${name}'.`);
  return EXIT.ok;
}

/** `gcl enable` / `gcl disable`: an error if the limit is already in that state, as in Prefect. */
export async function setActive(context: Context, name: string, active: boolean): Promise<number> {
  const record = await context.client.limits.get(name);
  const state = active ? "enabled" : "disabled";
  if (record.active === active) {
    throw new CliError(`Global concurrency limit '${name}' is already ${state}.`);
  }
  await context.client.limits.update(name, { active });
  context.success(`${active ? "Enabled" : "Disabled"} global concurrency limit with name '${name}'.`);
  return EXIT.ok;
}

export async function showLeases(context: Context, name: string, options: OutputOptions): Promise<number> {
  const answer = await context.client.limits.leases(name);
  if (options.json) {
    context.json(answer);
  } else {
    context.io.stdout.write(leasesTable(name, answer, Date.now(), context.out));
  }
  return EXIT.ok;
}
