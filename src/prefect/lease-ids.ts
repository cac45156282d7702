/**
 * UUID lease ids for Prefect's client (DESIGN §7.5). Prefect 3 parses `lease_id` as a UUID; this
 * service's own ids carry the names they cover (`<nonce>.<base64url names>`) so its own client
 * renews and releases with no lookup. So: a caller that identifies as Prefect's client gets a
 * fresh UUID, recorded in the sharded `LeaseDirectory` beside the native id, and a renew or
 * release that brings a UUID resolves through it. Cost: +1 Durable Object call per Prefect
 * acquire, renew and release; none for anyone else.
 *
 * Unknown ids behave as Prefect's server: renew answers 410, release 204, whether the id is an
 * unknown UUID or a string this service never issued.
 */

import { decodeLeaseId } from "../core/lease-id";
import { DEFAULT_LEASE_SECONDS } from "../protocol/constants";
import { DETAIL, GclError } from "../protocol/errors";
import { UUID_PATTERN } from "../protocol/names";
import type { LeaseGrant } from "../protocol/types";

/** Prefect's client names itself in every request (`client/base.py`, `client/orchestration`). */
export function isPrefectClient(headers: Headers): boolean {
  return (headers.get("user-agent") ?? "").startsWith("prefect/") || headers.has("x-prefect-api-version");
}

/** The directory shard that holds `uuid`: one per first two hex digits, 256 in all. */
function shard(env: Env, uuid: string) {
  return env.LEASE_DIRECTORY.getByName(uuid.slice(0, 2));
}

function notFound(): GclError {
  return new GclError("lease_not_found", DETAIL.leaseNotFound);
}

/** A directory call; its failure is a 503 the client may retry, never a 500. */
async function reach<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw new GclError("unavailable", "the lease directory is briefly unavailable; try again", { cause: error });
  }
}

/**
 * The grant as the caller should see it: unchanged for everyone but Prefect's client, which gets
 * a UUID. If the directory cannot record it, the grant is undone (`undo`, a withdrawal) and the
 * answer is 503, so a failed answer never leaves a slot held.
 */
export async function grantForCaller(
  env: Env,
  headers: Headers,
  grant: LeaseGrant,
  undo: (leaseId: string) => Promise<void>,
): Promise<LeaseGrant> {
  if (!isPrefectClient(headers)) {
    return grant;
  }
  const uuid = crypto.randomUUID();
  try {
    await shard(env, uuid).put(uuid, grant.lease_id, Date.parse(grant.expires_at));
  } catch (error) {
    // If this fails too, the lease still ends on its own at expires_at.
    await undo(grant.lease_id).catch(() => undefined);
    throw new GclError(
      "unavailable",
      "the lease directory is briefly unavailable; the slots were given back, try again",
      {
        cause: error,
      },
    );
  }
  return { ...grant, lease_id: uuid };
}

/**
 * Renews the lease `leaseId` names (a UUID or a native id) for `leaseSeconds` with `renew`, which
 * takes the native id and throws 410 when the lease is gone. An id that names no lease of ours → 410.
 */
export async function renewAnyLeaseId(
  env: Env,
  leaseId: string,
  leaseSeconds: number | undefined,
  renew: (nativeId: string) => Promise<void>,
): Promise<void> {
  if (!UUID_PATTERN.test(leaseId)) {
    if (decodeLeaseId(leaseId) === null) {
      throw notFound();
    }
    return renew(leaseId);
  }
  const uuid = leaseId.toLowerCase();
  const directory = shard(env, uuid);
  const nativeId = await reach(directory.renew(uuid, Date.now() + (leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000));
  if (nativeId === null) {
    throw notFound();
  }
  try {
    await renew(nativeId);
  } catch (error) {
    if (error instanceof GclError && error.code === "lease_not_found") {
      // The lease is gone on its limits: its row goes too (best effort; the alarm reclaims it anyway).
      await directory.take(uuid).catch(() => undefined);
    }
    throw error;
  }
}

/**
 * Releases the lease `leaseId` names (a UUID or a native id) with `release`, which takes the
 * native id. An id that names no lease of ours is already released: nothing to do (204).
 */
export async function releaseAnyLeaseId(
  env: Env,
  leaseId: string,
  release: (nativeId: string) => Promise<void>,
): Promise<void> {
  if (!UUID_PATTERN.test(leaseId)) {
    return decodeLeaseId(leaseId) === null ? undefined : release(leaseId);
  }
  const uuid = leaseId.toLowerCase();
  const directory = shard(env, uuid);
  const row = await reach(directory.take(uuid));
  if (row === null) {
    return;
  }
  try {
    await release(row.leaseId);
  } catch (error) {
    // Put the row back so a retried release still finds the lease.
    await directory.put(uuid, row.leaseId, row.expiresAt).catch(() => undefined);
    throw error;
  }
}
