/**
 * The errors the client throws while taking and holding slots. Plain `Error` subclasses, so
 * callers branch with `instanceof`; failures of the administration calls (`limits.*`) are the
 * protocol's `GclError` instead. Imports only the protocol's types.
 */

import type { ErrorCode } from "../protocol/errors";

/** Renders names the way Prefect's messages do: `['a', 'b']`. */
export function formatNames(names: readonly string[]): string {
  return `[${names.map((name) => `'${name}'`).join(", ")}]`;
}

/** What the server said when it refused, kept on the error for callers to branch on. */
export interface ServerRefusal {
  /** The HTTP status of the answer. */
  status: number;
  /** The server's stable error code, e.g. `slots_exceed_limit`. */
  code: ErrorCode | undefined;
  /** The server's human message. */
  detail: string;
}

/**
 * Why slots could not be taken, for callers to switch on (the message is for people):
 * - `refused`: the server answered with an error (`code`, `detail` and `status` say which);
 * - `missing`: a `strict` request named limits that do not exist (`missing` lists them);
 * - `unreachable`: the service could not be reached, or did not answer in time, on every try;
 * - `max_retries`: `maxRetries` ran out while the limits stayed full;
 * - `timeout`: `timeoutSeconds` passed (the error is then an `AcquireTimeoutError`);
 * - `unexpected_answer`: the answer was not one an edge-gcl Worker gives (a wrong `url`?).
 */
export type AcquisitionFailureReason =
  | "refused"
  | "missing"
  | "unreachable"
  | "max_retries"
  | "timeout"
  | "unexpected_answer";

export interface ConcurrencySlotAcquisitionErrorOptions {
  /** Why the slots could not be taken. */
  reason: AcquisitionFailureReason;
  /** The limit names of the request, de-duplicated and sorted. */
  names: readonly string[];
  /** The server's answer, when the server refused. */
  refusal?: ServerRefusal;
  /** The names that have no limit (reason `missing`). */
  missing?: readonly string[];
  cause?: unknown;
}

/**
 * Slots could not be taken; `reason` says why: the server refused (the `code`, `detail` and
 * `status` say how), a `strict` request named a limit that does not exist, `maxRetries` ran out,
 * `timeoutSeconds` passed, or the service could not be reached.
 */
export class ConcurrencySlotAcquisitionError extends Error {
  /** Why the slots could not be taken. */
  readonly reason: AcquisitionFailureReason;
  /** The limit names of the request, de-duplicated and sorted. */
  readonly names: readonly string[];
  /** The names that have no limit (reason `missing`); empty otherwise. */
  readonly missing: readonly string[];
  /** The server's error code, when the server refused. */
  readonly code: ErrorCode | undefined;
  /** The server's message, when the server refused. */
  readonly detail: string | undefined;
  /** The HTTP status, when the server refused. */
  readonly status: number | undefined;

  constructor(message: string, options: ConcurrencySlotAcquisitionErrorOptions) {
    super(message, { cause: options.cause });
    this.name = "ConcurrencySlotAcquisitionError";
    this.reason = options.reason;
    this.names = options.names;
    this.missing = options.missing ?? [];
    this.code = options.refusal?.code;
    this.detail = options.refusal?.detail;
    this.status = options.refusal?.status;
  }
}

/** `timeoutSeconds` passed before the slots were granted. */
export class AcquireTimeoutError extends ConcurrencySlotAcquisitionError {
  /** The `timeoutSeconds` that ran out. */
  readonly timeoutSeconds: number;

  constructor(options: { names: readonly string[]; timeoutSeconds: number; cause?: unknown }) {
    // Prefect's wording, plus the names, so a log line says which limits were full.
    super(
      `Attempt to acquire concurrency slots on ${formatNames(options.names)} timed out after ${options.timeoutSeconds} second(s)`,
      { ...options, reason: "timeout" },
    );
    this.name = "AcquireTimeoutError";
    this.timeoutSeconds = options.timeoutSeconds;
  }
}

/**
 * A held lease could not be renewed: it expired, was released or revoked (its limit deleted), or
 * the service stayed unreachable for every renewal attempt. Its slots may be given to others. The
 * holder's `signal` aborts with this error as its reason (unless `onLeaseLost` is `"continue"`).
 */
export class LeaseLostError extends Error {
  readonly leaseId: string;
  readonly names: readonly string[];

  constructor(options: { leaseId: string; names: readonly string[]; reason: string; cause?: unknown }) {
    super(`Lost the lease on concurrency slots ${formatNames(options.names)}: ${options.reason}`, {
      cause: options.cause,
    });
    this.name = "LeaseLostError";
    this.leaseId = options.leaseId;
    this.names = options.names;
  }
}
