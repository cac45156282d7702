/**
 * The commands that manage limits, as `prefect gcl` has them: `ls`, `inspect`, `create`,
 * `update`, `delete`, `enable`, `disable`, plus `ensure` (create if missing) and `leases`. Each
 * resolves with an exit code and throws what `explain()` can turn into a message. Messages keep
 * Prefect's wording where it has one; with `json`, every command prints the limit's record (as it
 * is after the change, or as it was when deleted) instead, so scripts need no second call.
 */

import type { CreateLimitBody, LimitRecord, UpdateLimitBody } from "../client/index";
import { listAllLimits } from "../client/limits";
import type { Context } from "./context";
import { CliError, EXIT } from "./errors";
import { leasesTable, limitDetails, limitsTable } from "./format";

export interface OutputOptions {
  json?: boolean;
}

export async function listLimits(context: Context, options: OutputOptions): Promise<number> {
  const records = await listAllLimits(context.client.limits);
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

export interface CreateOptions extends OutputOptions {
  limit: number;
  slotDecayPerSecond?: number;
  activeSlots?: number;
  disable?: boolean;
}

function createBody(name: string, options: CreateOptions): CreateLimitBody {
  return {
    name,
    limit: options.limit,
    active: options.disable !== true,
    ...(options.slotDecayPerSecond === undefined ? {} : { slot_decay_per_second: options.slotDecayPerSecond }),
    ...(options.activeSlots === undefined ? {} : { active_slots: options.activeSlots }),
  };
}

export async function createLimit(context: Context, name: string, options: CreateOptions): Promise<number> {
  const record = await context.client.limits.create(createBody(name, options));
  if (options.json) {
    context.json(record);
  } else {
    context.success(
      `Created global concurrency limit with name '${record.name}' and ID '${record.id}'. Run \`gcl inspect ${record.name}\` to view details.`,
    );
  }
  return EXIT.ok;
}

/** The `gcl update` flags that would turn `record` into what `body` asks for; empty when it matches. */
export function differences(body: CreateLimitBody, record: LimitRecord): string[] {
  const flags: string[] = [];
  if (record.limit !== body.limit) {
    flags.push(`--limit ${body.limit}`);
  }
  const decay = body.slot_decay_per_second ?? 0;
  if (record.slot_decay_per_second !== decay) {
    flags.push(`--slot-decay-per-second ${decay}`);
  }
  if (body.active !== undefined && record.active !== body.active) {
    flags.push(body.active ? "--enable" : "--disable");
  }
  return flags;
}

/**
 * `gcl ensure`: creates the limit unless one of that name exists, which is left as it is (its
 * slots may be in use); a warning names the settings that differ and the update that would match.
 */
export async function ensureLimit(context: Context, name: string, options: CreateOptions): Promise<number> {
  const body = createBody(name, options);
  const record = await context.client.limits.ensure(body);
  const differ = differences(body, record);
  if (differ.length > 0) {
    context.warn(
      `Global concurrency limit '${name}' exists with other settings (limit ${record.limit}, slot decay ${record.slot_decay_per_second}/s, ${record.active ? "active" : "inactive"}); left unchanged. ` +
        `To change it: \`gcl update ${name} ${differ.join(" ")}\`.`,
    );
  }
  if (options.json) {
    context.json(record);
  } else {
    context.success(
      `Global concurrency limit with name '${record.name}' and ID '${record.id}' is in place (limit ${record.limit}).`,
    );
  }
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

export async function updateLimit(
  context: Context,
  name: string,
  patch: UpdateLimitBody,
  options: OutputOptions = {},
): Promise<number> {
  await context.client.limits.update(name, patch);
  await report(context, name, `Updated global concurrency limit with name '${name}'.`, options);
  return EXIT.ok;
}

/** After a change: the message, or with `json` the limit's record as it is now. */
async function report(context: Context, name: string, message: string, options: OutputOptions): Promise<void> {
  if (options.json) {
    context.json(await context.client.limits.get(name));
  } else {
    context.success(message);
  }
}

export interface DeleteOptions extends OutputOptions {
  yes?: boolean;
}

/** Reads the limit first (a missing one fails before any question), then confirms, then deletes. */
export async function deleteLimit(context: Context, name: string, options: DeleteOptions): Promise<number> {
  const { io } = context;
  const record = await context.client.limits.get(name);
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
  if (options.json) {
    context.json(record);
  } else {
    context.success(`Deleted global concurrency limit with name '${name}'.`);
  }
  return EXIT.ok;
}

/** `gcl enable` / `gcl disable`: an error if the limit is already in that state, as in Prefect. */
export async function setActive(
  context: Context,
  name: string,
  active: boolean,
  options: OutputOptions = {},
): Promise<number> {
  const record = await context.client.limits.get(name);
  const state = active ? "enabled" : "disabled";
  if (record.active === active) {
    throw new CliError(`Global concurrency limit '${name}' is already ${state}.`);
  }
  await context.client.limits.update(name, { active });
  await report(
    context,
    name,
    `${active ? "Enabled" : "Disabled"} global concurrency limit with name '${name}'.`,
    options,
  );
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
