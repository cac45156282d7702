/**
 * How `gcl` reports a failure: what happened, then how to fix it, and an exit code (1 for
 * anything the user can act on). `explain()` turns the client's errors (`GclError` with the
 * server's stable `code`, `ConcurrencySlotAcquisitionError`, `AcquireTimeoutError`) into that
 * shape, naming the limits and the commands that would help.
 */

import {
  AcquireTimeoutError,
  ConcurrencySlotAcquisitionError,
  type ErrorCode,
  GclError,
  UnreachableError,
} from "../client/index";
import { DEFAULT_URL } from "../protocol/constants";

/** Exit codes. `gcl run` adds its command's own (and 126, 127, 128 + signal), see docs/cli.md. */
export const EXIT = {
  ok: 0,
  /** Not found, already exists, timed out, refused: the message says how to fix it. */
  failure: 1,
  /** The command line itself is wrong. */
  usage: 2,
} as const;

/** A failure to report without a stack trace. */
export class CliError extends Error {
  /** How to fix it: a command to run or an option to set. */
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "CliError";
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT.failure;
  }
}

/** What a failed command was about, so messages can name it. */
export interface Subject {
  /** The limit names of the command (one for the admin commands). */
  readonly names: readonly string[];
  /** The Worker's base URL. */
  readonly url: string;
  /** Slots asked for on each limit (`run`, `rate-limit`). */
  readonly occupy?: number;
  /** What was being waited for: slots (the default), or a rate limit. */
  readonly waitingFor?: "slots" | typeof RATE_LIMIT;
}

export const RATE_LIMIT = "the rate limit";

/** `'db'`, or `'db', 'api'`. */
export function quoteNames(names: readonly string[]): string {
  return names.map((name) => `'${name}'`).join(", ");
}

/** The first name, or a placeholder for hints. */
function nameFor(subject: Subject): string {
  return subject.names[0] ?? "NAME";
}

/**
 * Whether `error` says the Worker could not be reached at all (as opposed to answering 503): an
 * admin call's `unavailable` caused by an `UnreachableError`, or an acquisition that failed so.
 */
function isUnreachable(error: Error): boolean {
  if (error instanceof ConcurrencySlotAcquisitionError) {
    return error.reason === "unreachable";
  }
  return error instanceof UnreachableError || error.cause instanceof UnreachableError;
}

function unreachable(error: Error, subject: Subject): CliError {
  const cause = error.cause instanceof UnreachableError ? error.cause : error;
  return new CliError(`Could not reach the edge-gcl Worker at ${subject.url} (${cause.message}).`, {
    hint: `Is it running (\`npm run dev\` serves ${DEFAULT_URL})? Point gcl at it with --url or GCL_URL.`,
    cause: error,
  });
}

/** Messages for the server's codes that mean the same whatever the command. */
function forCode(code: ErrorCode, detail: string, subject: Subject, error: Error): CliError | undefined {
  const name = nameFor(subject);
  switch (code) {
    case "not_found":
      return new CliError(`Global concurrency limit '${name}' not found.`, {
        hint: `Create it with \`gcl create ${name} --limit N\`, or list the limits with \`gcl ls\`.`,
        cause: error,
      });
    case "already_exists":
      return new CliError(
        `Global concurrency limit '${name}' already exists. Please try creating with a different name.`,
        {
          hint: `To change it instead: \`gcl update ${name} --limit N\`; to create it only when missing: \`gcl ensure ${name} --limit N\`.`,
          cause: error,
        },
      );
    case "unauthorized":
      return new CliError(`The Worker at ${subject.url} refused the token: ${detail}.`, {
        hint: "Pass the Worker's token with --token or GCL_TOKEN (GCL_ADMIN_TOKEN to manage limits, GCL_CLIENT_TOKEN to take slots).",
        cause: error,
      });
    case "forbidden":
      return new CliError(`This token may take slots but not manage limits or list leases: ${detail}.`, {
        hint: "Use the Worker's admin token (GCL_ADMIN_TOKEN) with --token or GCL_TOKEN.",
        cause: error,
      });
    case "auth_not_configured":
      return new CliError(`The Worker at ${subject.url} has no tokens configured, so it refuses every call.`, {
        hint: "Set one with `npx wrangler secret put GCL_ADMIN_TOKEN` (`npm run dev` allows anonymous access instead).",
        cause: error,
      });
    case "unavailable":
      return isUnreachable(error)
        ? unreachable(error, subject)
        : new CliError(`The Worker at ${subject.url} is briefly unavailable: ${detail}.`, {
            hint: "Try again in a moment.",
            cause: error,
          });
    case "overloaded":
      return new CliError(
        `The limit object of ${quoteNames(subject.names)} at ${subject.url} is overloaded: ${detail}.`,
        {
          hint: "Try again in a few seconds; spread a hot limit's callers over time (or over more limits).",
          cause: error,
        },
      );
    case "route_not_found":
    case "method_not_allowed":
      return new CliError(`${subject.url} does not look like an edge-gcl Worker: ${detail}.`, {
        hint: "Check --url or GCL_URL.",
        cause: error,
      });
    case "slots_exceed_limit":
      return new CliError(
        `Cannot take ${subject.occupy ?? "that many"} slot(s) on ${quoteNames(subject.names)}: ${detail}.`,
        {
          hint: `Lower --occupy, or raise the limit: \`gcl update ${name} --limit N\`.`,
          cause: error,
        },
      );
    case "rate_limit_without_decay":
      return new CliError(`${detail}.`, {
        hint: `Give it a decay rate (\`gcl update ${name} --slot-decay-per-second 1\`), or hold slots with \`gcl run\` instead.`,
        cause: error,
      });
    default:
      return undefined;
  }
}

/** Turns any error a command threw into what happened, how to fix it, and an exit code. */
export function explain(error: unknown, subject: Subject): CliError {
  if (error instanceof CliError) {
    return error;
  }
  if (error instanceof GclError) {
    const known = forCode(error.code, error.message, subject, error);
    if (known) {
      return known;
    }
    // A 422's `detail` repeats its field errors: list those instead, one a line.
    const fields = (error.errors ?? []).map(
      (field) => `\n    ${field.path === "" ? "body" : field.path}: ${field.message}`,
    );
    const what =
      fields.length > 0
        ? `The server refused the request (${error.code}):${fields.join("")}`
        : `The server refused: ${error.message} (${error.code}).`;
    return new CliError(what, {
      hint: error.status === 422 ? "Check the values given; `gcl help <command>` lists the accepted ones." : undefined,
      cause: error,
    });
  }
  if (error instanceof AcquireTimeoutError) {
    const name = nameFor(subject);
    const rate = subject.waitingFor === RATE_LIMIT;
    return new CliError(
      `Timed out after ${error.timeoutSeconds} s waiting for ${rate ? RATE_LIMIT : "slots"} on ${quoteNames(error.names)}.`,
      {
        hint: rate
          ? `Wait longer with --timeout, or admit more per second: \`gcl update ${name} --slot-decay-per-second F\`.`
          : `See who holds the slots with \`gcl leases ${name}\`, or wait longer with --timeout.`,
        cause: error,
      },
    );
  }
  if (error instanceof ConcurrencySlotAcquisitionError) {
    const known =
      error.code === undefined ? undefined : forCode(error.code, error.detail ?? error.message, subject, error);
    if (known) {
      return known;
    }
    if (isUnreachable(error)) {
      return unreachable(error, subject);
    }
    return new CliError(`${error.message}.`, {
      hint:
        error.reason === "missing"
          ? "Create it with `gcl create NAME --limit N` (see `gcl ls`), or pass --allow-missing to skip it."
          : undefined,
      cause: error,
    });
  }
  if (error instanceof TypeError || error instanceof RangeError) {
    // The client checks every option before sending; the parsers should have caught it first.
    return new CliError(error.message, { exitCode: EXIT.usage, cause: error });
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return new CliError(`Unexpected error: ${text}`, {
    hint: "This is a bug in gcl: please report it with the command you ran.",
    cause: error,
  });
}
