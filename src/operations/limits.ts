/**
 * Limit administration as transport-neutral operations: create, read, list, update, delete and
 * the lease listing. Each takes the Worker's env and an already validated body, and returns the
 * answer or throws a GclError; the HTTP routes and the RPC entrypoint are thin wrappers over
 * these. Every operation addresses one limit object by name; ids (UUIDs, for Prefect parity)
 * resolve through the catalog (reference A-0: a UUID-shaped path segment is an id).
 */

import { CATALOG_NAME } from "../objects/catalog-object";
import { DETAIL, GclError } from "../protocol/errors";
import { UUID_PATTERN, unaddressableName } from "../protocol/names";
import type { CreateLimitBody, FilterBody, LimitLeases, LimitRecord, UpdateLimitBody } from "../protocol/types";

function catalog(env: Env) {
  return env.CATALOG.getByName(CATALOG_NAME);
}

/** The limit name an id or a name means, or a 404. */
export async function resolveName(env: Env, idOrName: string): Promise<string> {
  if (!UUID_PATTERN.test(idOrName)) {
    return idOrName;
  }
  const name = await catalog(env).resolve(idOrName.toLowerCase());
  if (name === null) {
    throw new GclError("not_found", DETAIL.notFound);
  }
  return name;
}

export async function createLimit(env: Env, body: CreateLimitBody): Promise<LimitRecord> {
  const problem = unaddressableName(body.name);
  if (problem !== null) {
    throw new GclError("invalid_request", `name: ${problem}`, { errors: [{ path: "name", message: problem }] });
  }
  // The limit object decides (it is single-threaded); the catalog then indexes what it decided,
  // and is repaired here if an earlier create died between the two writes. A region hint counts
  // only on the object's first use, so it goes on this `getByName`.
  const limits = env.LIMITS.getByName(
    body.name,
    body.location_hint === undefined ? undefined : { locationHint: body.location_hint },
  );
  const outcome = await limits.create({
    id: crypto.randomUUID(),
    name: body.name,
    limit: body.limit,
    active: body.active ?? true,
    slotDecayPerSecond: body.slot_decay_per_second ?? 0,
    activeSlots: body.active_slots ?? 0,
    deniedSlots: body.denied_slots ?? 0,
    locationHint: body.location_hint ?? null,
  });
  await catalog(env).put(body.name, outcome.record.id, outcome.generation);
  if (outcome.status === "exists") {
    throw new GclError("already_exists", DETAIL.alreadyExists);
  }
  return outcome.record;
}

/** A page of limits, sorted by name. */
export async function listLimits(env: Env, body: FilterBody): Promise<LimitRecord[]> {
  const names = await catalog(env).list(body.offset ?? 0, body.limit ?? 200);
  const records = await Promise.all(names.map((name) => env.LIMITS.getByName(name).describe()));
  return records.filter((record) => record !== null);
}

export async function readLimit(env: Env, idOrName: string): Promise<LimitRecord> {
  const record = await env.LIMITS.getByName(await resolveName(env, idOrName)).describe();
  if (record === null) {
    throw new GclError("not_found", DETAIL.notFound);
  }
  return record;
}

export async function updateLimit(env: Env, idOrName: string, body: UpdateLimitBody): Promise<void> {
  const name = await resolveName(env, idOrName);
  if (body.name !== undefined && body.name !== name) {
    throw new GclError(
      "rename_not_supported",
      `limits cannot be renamed (each name is its own object): create '${body.name}' and delete '${name}' instead`,
      { errors: [{ path: "name", message: "limits cannot be renamed" }] },
    );
  }
  const updated = await env.LIMITS.getByName(name).update({
    limit: body.limit,
    active: body.active,
    slotDecayPerSecond: body.slot_decay_per_second,
    activeSlots: body.active_slots,
    deniedSlots: body.denied_slots,
  });
  if (!updated) {
    throw new GclError("not_found", DETAIL.notFound);
  }
}

/** Deletes a limit, revoking its leases. */
export async function deleteLimit(env: Env, idOrName: string): Promise<void> {
  const name = await resolveName(env, idOrName);
  const deleted = await env.LIMITS.getByName(name).remove();
  if (deleted === null) {
    throw new GclError("not_found", DETAIL.notFound);
  }
  await catalog(env).drop(name, deleted.generation);
}

/** Who holds a limit's slots, and how many wait. */
export async function limitLeases(env: Env, idOrName: string): Promise<LimitLeases> {
  const leases = await env.LIMITS.getByName(await resolveName(env, idOrName)).leases();
  if (leases === null) {
    throw new GclError("not_found", DETAIL.notFound);
  }
  return leases;
}
