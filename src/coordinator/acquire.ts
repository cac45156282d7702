/**
 * The coordinator: takes slots on one or several limits, all or nothing (DESIGN §3.5, §7.1). One
 * name is one call to its limit object. Several names are first checked everywhere at once (a
 * request invalid on any name is refused before it waits on any), then reserved one by one in
 * sorted order (so overlapping requests never deadlock), then committed. Every exit that does not
 * grant — a refusal, a client gone, a thrown call — withdraws the request's ticket from every limit
 * it touched, so after an answer the request holds exactly what the answer says.
 *
 * It runs against `LimitPort`s, not Durable Object stubs, so the simulation in the tests drives it
 * with the real engine under a seeded scheduler. Imports only the core and the protocol.
 */

import type { AcquireCall, AcquireOutcome, CheckOutcome, CommitOutcome, Refusal } from "../core/outcomes";
import { UNDO_MARGIN_MS } from "../core/tickets";
import { encodeLeaseId } from "../core/lease-id";
import type { TicketKind } from "../core/state";
import { GclError, RULE_CODES } from "../protocol/errors";
import { isOverloadedError, overloadedError } from "./failures";
import type { AcquireMode, LeaseHolder, MinimalLimit } from "../protocol/types";

/** What the coordinator asks of one limit object. */
export interface LimitPort {
  acquire(call: AcquireCall): Promise<AcquireOutcome>;
  check(call: AcquireCall): Promise<CheckOutcome>;
  reserve(call: AcquireCall): Promise<AcquireOutcome>;
  commit(ticket: string, grantTo: { leaseId: string | null; leaseMs: number; undoMs: number }): Promise<CommitOutcome>;
  withdraw(ticket: string): Promise<boolean>;
  leave(ticket: string): Promise<void>;
}

/** The world the coordinator runs in: the Worker's, or the simulation's. */
export interface Coordination {
  /** A port to the limit object of `name`; one per name and request, so its calls stay ordered. */
  limit(name: string): LimitPort;
  now(): number;
  newId(): string;
  /** Keeps clean-up running after the answer (a Worker's `ctx.waitUntil`). */
  defer(task: Promise<unknown>): void;
  sleep(ms: number): Promise<void>;
}

/**
 * One request to take slots on every limit in `names`, all or nothing, as the Worker serves it
 * (the client's own `SlotRequest` is the HTTP body it sends).
 */
export interface AcquireRequest {
  names: readonly string[];
  slots: number;
  mode: AcquireMode;
  kind: TicketKind;
  leaseMs: number;
  holder: LeaseHolder | null;
  /** The client's id for this request (`request_id`), so `/cancel` can withdraw it. */
  requestId: string | null;
  /** How long to wait in line, in milliseconds; 0 answers at once. */
  waitMs: number;
}

export type InvalidResult = {
  status: "invalid";
  code: Extract<Refusal, { status: "invalid" }>["code"];
  /** Every name that breaks the rule, sorted. */
  names: string[];
};

export type SlotResult =
  | {
      status: "granted";
      limits: { limit: MinimalLimit; fencingToken: number | null }[];
      missing: string[];
      leaseId: string;
      expiresAt: number;
    }
  | { status: "locked"; retryAfterSeconds: number }
  | { status: "queue_full"; retryAfterSeconds: number; name: string }
  | InvalidResult;

/** Sorted, de-duplicated names: the order every multi-name request takes its limits in. */
export function normalizeNames(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

/**
 * Takes the slots `request` asks for. Resolves with the grant or the refusal.
 * @throws GclError `unavailable` when a limit object could not be reached (`overloaded` when it
 * said it has too many requests); nothing is then held.
 */
export async function acquireSlots(
  co: Coordination,
  request: AcquireRequest,
  signal?: AbortSignal,
): Promise<SlotResult> {
  const names = normalizeNames(request.names);
  const run = new Run(co, request, names, signal);
  const onAbort = () => co.defer(run.leaveAll());
  signal?.addEventListener("abort", onAbort);
  try {
    const result = names.length === 1 ? await run.one() : await run.many();
    if (result.status === "granted" && signal?.aborted) {
      // Granted after the client went away: give it back rather than answer nobody.
      await run.withdrawAll();
      return { status: "locked", retryAfterSeconds: 0 };
    }
    return result;
  } catch (error) {
    // Whether the failed call took effect is unknown: undo the request everywhere it went (a
    // single-name request that can come back keeps its place in line, which holds nothing).
    await (names.length === 1 ? run.leaveAll() : run.withdrawAll());
    if (isOverloadedError(error)) {
      throw overloadedError(error);
    }
    throw new GclError("unavailable", "a limit object is briefly unavailable; nothing was taken, try again", {
      cause: error,
    });
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** One request's pass through the limit objects. */
class Run {
  readonly #co: Coordination;
  readonly #request: AcquireRequest;
  readonly #names: string[];
  #ticket: string;
  readonly #ports = new Map<string, LimitPort>();
  /** Names a call that may hold something was sent to. */
  readonly #touched = new Set<string>();
  readonly #deadline: number;
  readonly #signal: AbortSignal | undefined;

  constructor(co: Coordination, request: AcquireRequest, names: string[], signal: AbortSignal | undefined) {
    this.#co = co;
    this.#signal = signal;
    this.#request = request;
    this.#names = names;
    this.#ticket = co.newId();
    this.#deadline = co.now() + request.waitMs;
  }

  #port(name: string): LimitPort {
    let port = this.#ports.get(name);
    if (!port) {
      port = this.#co.limit(name);
      this.#ports.set(name, port);
    }
    return port;
  }

  #call(leaseId: string | null): AcquireCall {
    const request = this.#request;
    return {
      ticket: this.#ticket,
      requestId: request.requestId,
      kind: request.kind,
      leaseId,
      slots: request.slots,
      mode: request.mode,
      leaseMs: request.leaseMs,
      holder: request.holder,
      waitMs: Math.max(0, this.#deadline - this.#co.now()),
    };
  }

  async one(): Promise<SlotResult> {
    const [name] = this.#names as [string];
    const leaseId = encodeLeaseId(this.#ticket, [name]);
    this.#touched.add(name);
    const outcome = await this.#port(name).acquire(this.#call(this.#request.kind === "lease" ? leaseId : null));
    if (outcome.status === "granted") {
      // The request may have come back to a ticket it had (its place in line, or an offer).
      this.#ticket = outcome.ticket;
    }
    return oneNameResult(outcome, name, this.#ticket, this.#request.leaseMs, this.#co.now());
  }

  async many(): Promise<SlotResult> {
    // Checked everywhere first: a request invalid on any name must not wait on the others.
    const call = this.#call(null);
    const checks = await Promise.all(this.#names.map((name) => this.#port(name).check(call)));
    // In RULE_CODES' order: a request id in use first, then Prefect's.
    for (const code of RULE_CODES) {
      const breaking = this.#names.filter((_, index) => {
        const check = checks[index];
        return check?.status === "invalid" && check.code === code;
      });
      if (breaking.length > 0) {
        return { status: "invalid", code, names: breaking };
      }
    }
    const reserved: { name: string; limit: MinimalLimit }[] = [];
    const missing: string[] = [];
    for (const name of this.#names) {
      this.#touched.add(name);
      const outcome = await this.#port(name).reserve(this.#call(null));
      if (outcome.status === "reserved" && outcome.ticket !== this.#ticket) {
        if (reserved.length > 0) {
          // Its earlier names hold another ticket: give up both, so the next try starts clean.
          const stale = outcome.ticket;
          await this.withdrawAll();
          this.#ticket = stale;
          await this.withdrawAll();
          return { status: "locked", retryAfterSeconds: 0.001 };
        }
        // The request came back: its first name already held its reservation (or its place).
        this.#ticket = outcome.ticket;
      }
      if (outcome.status === "reserved") {
        reserved.push({ name, limit: outcome.limit });
      } else if (outcome.status === "missing") {
        missing.push(name);
      } else if (outcome.status !== "granted") {
        // A wait that ended keeps the request's places and reservations for the grace, for its
        // next call (same request id) to come back to; any other refusal gives everything back.
        const keeps = outcome.status === "locked" && this.#request.requestId !== null && this.#request.waitMs > 0;
        await (keeps ? this.leaveAll() : this.withdrawAll());
        return refusal(outcome, [name]);
      }
      if (this.#signal?.aborted) {
        await this.withdrawAll();
        return { status: "locked", retryAfterSeconds: 0 };
      }
    }
    if (reserved.length === 0) {
      return this.#grantedNothing(missing);
    }
    return this.#commit(reserved, missing);
  }

  async #commit(reserved: { name: string; limit: MinimalLimit }[], missing: string[]): Promise<SlotResult> {
    const request = this.#request;
    const leaseId = encodeLeaseId(
      this.#ticket,
      reserved.map(({ name }) => name),
    );
    const grantTo = {
      leaseId: request.kind === "lease" ? leaseId : null,
      leaseMs: request.leaseMs,
      undoMs: Math.max(0, this.#deadline - this.#co.now()) + UNDO_MARGIN_MS,
    };
    // Settled, not raced: a withdrawal must not overtake a commit still on its way.
    const settled = await Promise.allSettled(
      reserved.map(({ name }) => this.#port(name).commit(this.#ticket, grantTo)),
    );
    const failure = settled.find((result) => result.status === "rejected");
    if (failure) {
      throw failure.reason;
    }
    const commits = settled.map((result) => (result as PromiseFulfilledResult<CommitOutcome>).value);
    if (commits.some((commit) => commit.status === "gone")) {
      // A reservation was dropped before its commit (its limit deleted, or its pending time
      // over): undo every part so no partial holding remains, and let the client come back at once.
      await this.withdrawAll();
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
      expiresAt: expiries.length > 0 ? Math.min(...expiries) : this.#co.now() + request.leaseMs,
    };
  }

  #grantedNothing(missing: string[]): SlotResult {
    return grantedNothing(missing, this.#ticket, this.#co.now() + this.#request.leaseMs);
  }

  /**
   * Withdraws this request's ticket from every limit it touched. A limit that cannot be reached
   * now is retried in the background until an increment there would have folded; a lease or
   * reservation left behind expires on its own.
   */
  async withdrawAll(): Promise<void> {
    const failed = await this.#withdraw([...this.#touched]);
    if (failed.length > 0) {
      this.#co.defer(this.#retryWithdraw(failed));
    }
  }

  /**
   * The client went away while waiting: a request that can come back keeps its places for the
   * grace; any other is withdrawn.
   */
  async leaveAll(): Promise<void> {
    if (this.#request.requestId === null) {
      return this.withdrawAll();
    }
    const names = [...this.#touched];
    const settled = await Promise.allSettled(names.map((name) => this.#port(name).leave(this.#ticket)));
    const failed = names.filter((_, index) => settled[index]?.status === "rejected");
    if (failed.length > 0) {
      this.#co.defer(this.#retryWithdraw(failed));
    }
  }

  async #withdraw(names: string[]): Promise<string[]> {
    const settled = await Promise.allSettled(names.map((name) => this.#port(name).withdraw(this.#ticket)));
    return names.filter((_, index) => settled[index]?.status === "rejected");
  }

  async #retryWithdraw(names: string[]): Promise<void> {
    const giveUpAt = this.#co.now() + UNDO_MARGIN_MS;
    let delayMs = 100;
    for (let left = names; left.length > 0 && this.#co.now() < giveUpAt; ) {
      await this.#co.sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 5_000);
      // A fresh port: the old one may be broken by the failure.
      for (const name of left) {
        this.#ports.delete(name);
      }
      left = await this.#withdraw(left);
    }
  }
}

/**
 * What one limit object's answer to a single-name request of ticket `ticket` means for the
 * request (also for a request that waited over a socket).
 */
export function oneNameResult(
  outcome: AcquireOutcome,
  name: string,
  ticket: string,
  leaseMs: number,
  now: number,
): SlotResult {
  switch (outcome.status) {
    case "granted":
      return {
        status: "granted",
        limits: [{ limit: outcome.limit, fencingToken: outcome.fencingToken }],
        missing: [],
        leaseId: outcome.leaseId ?? encodeLeaseId(outcome.ticket, [name]),
        expiresAt: outcome.expiresAt ?? now + leaseMs,
      };
    case "missing":
      return grantedNothing([name], ticket, now + leaseMs);
    case "reserved":
      throw new Error("acquire grants; only reserve answers with a reservation");
    default:
      return refusal(outcome, [name]);
  }
}

/** A request whose names all matched nothing: an empty lease, as Prefect answers it. */
function grantedNothing(missing: string[], ticket: string, expiresAt: number): SlotResult {
  return { status: "granted", limits: [], missing, leaseId: encodeLeaseId(ticket, []), expiresAt };
}

function refusal(outcome: Refusal | { status: "missing" }, names: string[]): SlotResult {
  switch (outcome.status) {
    case "invalid":
      return { status: "invalid", code: outcome.code, names };
    case "queue_full":
      return { status: "queue_full", retryAfterSeconds: outcome.retryAfterSeconds, name: names[0] ?? "" };
    case "locked":
      return outcome;
    default:
      return { status: "locked", retryAfterSeconds: 0.001 };
  }
}
