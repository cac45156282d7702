/**
 * Taking slots on one or several limits, all or nothing (DESIGN §3.5). One name is one call to
 * its limit object. Several names are reserved one by one in sorted order (so two requests with
 * overlapping names can never deadlock), then committed; a refusal cancels what was reserved
 * before it, and a Worker that dies mid-way leaves only reservations that expire on their own.
 */

import { encodeLeaseId } from "../core/lease-id";
import type { AcquireMode } from "../core/limit";
import type { Holder } from "../core/state";
import type { AcquireCall, AcquireOutcome } from "../objects/limit-object";
import type { MinimalLimit } from "../protocol/types";

/** How long a multi-name reservation survives if its commit never comes. */
const PENDING_RESERVATION_MS = 10_000;

export interface SlotRequest {
  names: readonly string[];
  slots: number;
  mode: AcquireMode;
  /** `lease` for `/increment-with-lease`, `increment` for `/increment`. */
  kind: "lease" | "increment";
  leaseMs: number;
  holder: Holder | null;
}

export type SlotResult =
  | {
      status: "granted";
      limits: { limit: MinimalLimit; fencingToken: number | null }[];
      missing: string[];
      leaseId: string;
      expiresAt: number;
    }
  | { status: "locked"; retryAfterSeconds: number }
  | { status: "invalid"; code: "slots_exceed_limit" | "rate_limit_without_decay"; name: string };

type Refusal = Extract<AcquireOutcome, { status: "locked" | "invalid" }>;

function refused(outcome: Refusal, name: string): SlotResult {
  return outcome.status === "locked" ? outcome : { status: "invalid", code: outcome.code, name };
}

/** Sorted, de-duplicated names: the order every multi-name request takes its limits in. */
export function normalizeNames(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

export async function acquireSlots(env: Env, request: SlotRequest): Promise<SlotResult> {
  const names = normalizeNames(request.names);
  const nonce = crypto.randomUUID();
  const call: Omit<AcquireCall, "id"> = {
    kind: request.kind,
    slots: request.slots,
    mode: request.mode,
    leaseMs: request.leaseMs,
    holder: request.holder,
  };
  const [only] = names;
  if (names.length === 1 && only !== undefined) {
    return acquireOne(env, only, { ...call, id: encodeLeaseId(nonce, [only]) }, nonce);
  }

  const reserved: { name: string; limit: MinimalLimit }[] = [];
  const missing: string[] = [];
  const cancelReserved = () => Promise.all(reserved.map(({ name }) => env.LIMITS.getByName(name).cancel(nonce)));
  const pendingUntil = Date.now() + PENDING_RESERVATION_MS;
  for (const name of names) {
    const outcome = await env.LIMITS.getByName(name).reserve({ ...call, id: nonce, pendingUntil });
    if (outcome.status === "reserved") {
      reserved.push({ name, limit: outcome.limit });
    } else if (outcome.status === "missing") {
      missing.push(name);
    } else if (outcome.status === "locked" || outcome.status === "invalid") {
      await cancelReserved();
      return refused(outcome, name);
    }
  }

  const leaseId = encodeLeaseId(
    nonce,
    reserved.map(({ name }) => name),
  );
  const commits = await Promise.all(
    reserved.map(({ name }) => env.LIMITS.getByName(name).commit(nonce, request.leaseMs, leaseId)),
  );
  if (commits.some((commit) => commit.status === "gone")) {
    // A reservation outlived its pending expiry (or its limit was deleted) before the commit:
    // undo every part so no partial holding remains, and let the client try again at once.
    await Promise.all(
      reserved.map(({ name }) => Promise.all([env.LIMITS.getByName(name).cancel(nonce), env.LIMITS.getByName(name).release(leaseId)])),
    );
    return { status: "locked", retryAfterSeconds: 0.001 };
  }
  const expiries = commits.flatMap((commit) => (commit.status === "granted" && commit.expiresAt !== null ? [commit.expiresAt] : []));
  return {
    status: "granted",
    limits: reserved.map(({ limit }, index) => {
      const commit = commits[index];
      return { limit, fencingToken: commit?.status === "granted" ? commit.fencingToken : null };
    }),
    missing,
    leaseId,
    expiresAt: expiries.length > 0 ? Math.min(...expiries) : Date.now() + request.leaseMs,
  };
}

async function acquireOne(env: Env, name: string, call: AcquireCall, nonce: string): Promise<SlotResult> {
  const outcome = await env.LIMITS.getByName(name).acquire(call);
  switch (outcome.status) {
    case "granted":
      return {
        status: "granted",
        limits: [{ limit: outcome.limit, fencingToken: outcome.fencingToken }],
        missing: [],
        leaseId: call.id,
        expiresAt: outcome.expiresAt ?? Date.now() + call.leaseMs,
      };
    case "missing":
      return {
        status: "granted",
        limits: [],
        missing: [name],
        leaseId: encodeLeaseId(nonce, []),
        expiresAt: Date.now() + call.leaseMs,
      };
    case "reserved":
      throw new Error("acquire never answers with a reservation");
    default:
      return refused(outcome, name);
  }
}
