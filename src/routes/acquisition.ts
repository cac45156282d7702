/**
 * Taking slots on one or several limits, all or nothing (DESIGN §3.5). One name is one call to
 * its limit object. Several names are reserved one by one in sorted order (so two requests with
 * overlapping names can never deadlock), then committed; a refusal cancels what was reserved
 * before it, and a Worker that dies mid-way leaves only reservations that expire on their own.
 */

import { encodeLeaseId } from "../core/lease-id";
import type { Holder } from "../core/state";
import type { AcquireCall, AcquireOutcome } from "../objects/limit-object";
import type { AcquireMode, MinimalLimit } from "../protocol/types";

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
  /** The client's id for this request (`request_id`), so it can withdraw it; else a random one. */
  requestId?: string | undefined;
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
  | { status: "invalid"; code: "slots_exceed_limit" | "rate_limit_without_decay" | "request_id_in_use"; name: string };

type Refusal = Extract<AcquireOutcome, { status: "locked" | "invalid" }>;

function refused(outcome: Refusal, name: string): SlotResult {
  return outcome.status === "locked" ? outcome : { status: "invalid", code: outcome.code, name };
}

/**
 * Withdraws request `nonce` from every limit it names: its places in line, its reservations and
 * any lease it was granted (`POST /cancel`, a client that went away, a commit that failed).
 */
export async function withdrawRequest(env: Env, names: readonly string[], nonce: string): Promise<void> {
  await Promise.all(normalizeNames(names).map((name) => env.LIMITS.getByName(name).cancel(nonce)));
}

/** Sorted, de-duplicated names: the order every multi-name request takes its limits in. */
export function normalizeNames(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

/** How a request may wait for its slots. */
export interface WaitOptions {
  /** How long to wait in line, in milliseconds; 0 answers at once. */
  waitMs: number;
  /** Aborted when the client goes away: whatever is waiting or reserved is given back. */
  signal?: AbortSignal | undefined;
  /** Keeps the give-back running after the response (a Worker's `ctx.waitUntil`). */
  waitUntil?: ((promise: Promise<unknown>) => void) | undefined;
}

export async function acquireSlots(env: Env, request: SlotRequest, wait: WaitOptions = { waitMs: 0 }): Promise<SlotResult> {
  const names = normalizeNames(request.names);
  const nonce = request.requestId ?? crypto.randomUUID();
  const [only] = names;
  // A single name's reservation id is its lease id, so one id undoes either.
  const id = names.length === 1 && only !== undefined ? encodeLeaseId(nonce, [only]) : nonce;
  const call: AcquireCall = {
    kind: request.kind,
    id,
    slots: request.slots,
    mode: request.mode,
    leaseMs: request.leaseMs,
    holder: request.holder,
  };
  // Everything this request holds or waits for, anywhere, is keyed by its nonce.
  const onAbort = () => {
    const undone = withdrawRequest(env, names, nonce).catch(() => undefined);
    wait.waitUntil?.(undone);
  };
  wait.signal?.addEventListener("abort", onAbort);
  try {
    return names.length === 1 && only !== undefined
      ? await acquireOne(env, only, call, nonce, wait)
      : await acquireMany(env, names, call, wait);
  } finally {
    wait.signal?.removeEventListener("abort", onAbort);
  }
}

async function acquireMany(env: Env, names: string[], call: AcquireCall, wait: WaitOptions): Promise<SlotResult> {
  const reserved: { name: string; limit: MinimalLimit }[] = [];
  const missing: string[] = [];
  const cancelReserved = () =>
    withdrawRequest(
      env,
      reserved.map(({ name }) => name),
      call.id,
    );
  const deadline = Date.now() + wait.waitMs;
  // Reservations of earlier names must outlive the wait for later ones.
  const pendingUntil = deadline + PENDING_RESERVATION_MS;
  for (const name of names) {
    const waitMs = Math.max(0, deadline - Date.now());
    const outcome = await env.LIMITS.getByName(name).reserve({ ...call, pendingUntil }, waitMs);
    if (outcome.status === "reserved") {
      reserved.push({ name, limit: outcome.limit });
    } else if (outcome.status === "missing") {
      missing.push(name);
    } else if (outcome.status === "locked" || outcome.status === "invalid") {
      await cancelReserved();
      return refused(outcome, name);
    }
  }
  if (wait.signal?.aborted) {
    await cancelReserved();
    return { status: "locked", retryAfterSeconds: 0 };
  }

  const leaseId = encodeLeaseId(
    call.id,
    reserved.map(({ name }) => name),
  );
  const commits = await Promise.all(
    reserved.map(({ name }) => env.LIMITS.getByName(name).commit(call.id, call.leaseMs, leaseId)),
  );
  if (commits.some((commit) => commit.status === "gone")) {
    // A reservation outlived its pending expiry (or its limit was deleted) before the commit:
    // undo every part so no partial holding remains, and let the client try again at once.
    await cancelReserved();
    return { status: "locked", retryAfterSeconds: 0.001 };
  }
  const expiries = commits.flatMap((commit) =>
    commit.status === "granted" && commit.expiresAt !== null ? [commit.expiresAt] : [],
  );
  return {
    status: "granted",
    limits: reserved.map(({ limit }, index) => {
      const commit = commits[index];
      return { limit, fencingToken: commit?.status === "granted" ? commit.fencingToken : null };
    }),
    missing,
    leaseId,
    expiresAt: expiries.length > 0 ? Math.min(...expiries) : Date.now() + call.leaseMs,
  };
}

async function acquireOne(
  env: Env,
  name: string,
  call: AcquireCall,
  nonce: string,
  wait: WaitOptions,
): Promise<SlotResult> {
  const stub = env.LIMITS.getByName(name);
  const outcome = await stub.acquire(call, wait.waitMs);
  if (outcome.status === "granted" && wait.signal?.aborted) {
    // Granted after the client went away: give it back rather than answer nobody.
    await stub.cancel(nonce);
    return { status: "locked", retryAfterSeconds: 0 };
  }
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
      throw new Error("acquire grants; only reserve answers with a reservation");
    default:
      return refused(outcome, name);
  }
}
