/**
 * The error contract shared by the Worker, the client and the CLI: stable `code` strings, the HTTP
 * status each one maps to, and the one error class that carries them. Runtime-neutral: imports
 * nothing but the protocol's constants.
 */

import { MAX_WAITERS, OVERLOADED_RETRY_AFTER_SECONDS } from "./constants";

/** Every error `code` the API can answer with. These strings are API: they never change meaning. */
export const STATUS_BY_CODE = {
  invalid_request: 422,
  invalid_json: 422,
  slots_exceed_limit: 422,
  rate_limit_without_decay: 422,
  rename_not_supported: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  already_exists: 409,
  request_id_in_use: 409,
  lease_not_found: 410,
  payload_too_large: 413,
  upgrade_required: 426,
  locked: 423,
  queue_full: 423,
  auth_not_configured: 503,
  unavailable: 503,
  overloaded: 503,
  internal: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof STATUS_BY_CODE;

/**
 * The rules a request can break whatever a limit's occupancy, in the order they are reported (a
 * request id in use first, then Prefect's order). The engine, the coordinator and the operations
 * speak of refusals in these codes.
 */
export const RULE_CODES = [
  "request_id_in_use",
  "slots_exceed_limit",
  "rate_limit_without_decay",
] as const satisfies readonly ErrorCode[];

/** A rule a request broke: one of `RULE_CODES`. */
export type RuleCode = (typeof RULE_CODES)[number];

/** Prefect's `detail` texts, kept word for word where Prefect has one. */
export const DETAIL = {
  notFound: "Concurrency Limit not found",
  locked: "Locked",
  slotsExceedLimit: "Slots requested is greater than the limit",
  leaseNotFound: "Lease not found - it may have expired or been revoked",
  overloaded: `a limit object is overloaded (more requests than it can take); come back after Retry-After (${OVERLOADED_RETRY_AFTER_SECONDS} s or more), not at once`,
  queueFull: (name: string) =>
    `Locked: the line of '${name}' is full (${MAX_WAITERS} requests already wait); come back after Retry-After`,
  alreadyExists:
    "Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.",
  rateLimitWithoutDecay: (names: readonly string[]) =>
    `Only concurrency limits with slot decay can be used for rate limiting. The following limits do not have a decay configured: '${names.join(",")}'`,
} as const;

/** One field-level problem in a 422 answer. */
export interface FieldError {
  /** Dotted path of the offending field, `""` for the body itself. */
  path: string;
  message: string;
}

/** One problem as Prefect's server reports it (pydantic's shape), so Prefect's CLI can print it. */
export interface PrefectErrorDetail {
  /** Where: `["body", "names", 0]`; `["body"]` for the body as a whole. */
  loc: (string | number)[];
  msg: string;
  /** This service's error `code` (Prefect puts pydantic's error type here). */
  type: string;
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  detail: string;
  code: ErrorCode;
  errors?: FieldError[];
  /** On every 422, beside the above: Prefect's `"Invalid request received."`. */
  exception_message?: string;
  /** On every 422: one entry per problem, Prefect's shape (its CLI prints `exception_detail[0].msg`). */
  exception_detail?: PrefectErrorDetail[];
}

/** Prefect's `exception_message` for a request that failed validation. */
export const PREFECT_EXCEPTION_MESSAGE = "Invalid request received.";

function prefectLoc(path: string): (string | number)[] {
  const parts = path === "" ? [] : path.split(".").map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  return ["body", ...parts];
}

/** The one error class of the project: a stable `code`, a human `detail`, and the HTTP status. */
export class GclError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  /** Seconds to wait before trying again (423, and 503 `overloaded`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    detail: string,
    options: { errors?: FieldError[]; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = "GclError";
    this.code = code;
    this.status = STATUS_BY_CODE[code];
    this.errors = options.errors;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = this.errors
      ? { detail: this.message, code: this.code, errors: this.errors }
      : { detail: this.message, code: this.code };
    if (this.status === 422) {
      // Prefect's clients read these fields (DESIGN §7.5); a 422 without field errors is about the body.
      const problems = this.errors?.length ? this.errors : [{ path: "", message: this.message }];
      body.exception_message = PREFECT_EXCEPTION_MESSAGE;
      body.exception_detail = problems.map(({ path, message }) => ({
        loc: prefectLoc(path),
        msg: message,
        type: this.code,
      }));
    }
    return body;
  }
}

/** Whether `code` is one this version knows (a newer server may send others). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(STATUS_BY_CODE, code);
}
