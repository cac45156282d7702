/**
 * The commands that use a limit from a shell: `gcl run` holds slots while a command runs (the
 * lease renewed in the background, released however the command ends, signals passed on to it)
 * and `gcl rate-limit` returns once a rate limit admits the caller. Both refuse a limit that does
 * not exist unless `--allow-missing`, report a wait on stderr (a spinner on a terminal, a plain
 * line every few seconds elsewhere), and stop waiting on SIGINT, SIGTERM or SIGHUP without
 * running anything.
 */

import type { ChildProcess } from "node:child_process";
import { constants } from "node:os";
import type { Slots } from "../client/index";
import { MAX_NAME_LENGTH } from "../protocol/constants";
import type { Context } from "./context";
import { CliError, EXIT, explain, quoteNames, type Subject } from "./errors";
import { FORWARDED_SIGNALS, type ForwardedSignal, type SignalSource } from "./io";
import { missingLimitError } from "./missing";
import { startProgress } from "./progress";

/** The holder type `gcl run` leases carry, shown by `gcl leases`. */
export const RUN_HOLDER_TYPE = "gcl-run";
/** Exit codes of a command that could not be started, as shells use them. */
const NOT_FOUND_EXIT = 127;
const NOT_EXECUTABLE_EXIT = 126;

/** Shells report a process killed by signal N as 128 + N (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** Calls `listener` for each forwarded signal until the returned function is called. */
function watchSignals(source: SignalSource, listener: (signal: ForwardedSignal) => void): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => [signal, () => listener(signal)] as const);
  for (const [signal, handler] of handlers) {
    source.on(signal, handler);
  }
  return () => {
    for (const [signal, handler] of handlers) {
      source.off(signal, handler);
    }
  };
}

/** Runs `wait` while reporting it on stderr (see progress.ts). */
async function withProgress<T>(context: Context, what: string, wait: () => Promise<T>): Promise<T> {
  const progress = startProgress(context.io.stderr, what);
  context.progress = progress;
  try {
    return await wait();
  } finally {
    progress.stop();
    context.progress = undefined;
  }
}

function slotsLabel(names: readonly string[], occupy: number): string {
  return `${occupy} ${occupy === 1 ? "slot" : "slots"} on ${quoteNames(names)}`;
}

export interface RunOptions {
  occupy: number;
  timeout?: number;
  leaseDuration: number;
  /** Stop COMMAND with SIGTERM if the lease is lost (otherwise: a warning). */
  strict?: boolean;
  /** Skip limits that do not exist, with a warning (Prefect's default), instead of failing. */
  allowMissing?: boolean;
}

/** How the command ended: by itself, by a signal, or it never started. */
type Ending =
  | { kind: "exited"; code: number }
  | { kind: "signaled"; signal: NodeJS.Signals }
  | { kind: "failed"; error: NodeJS.ErrnoException };

function ending(child: ChildProcess): Promise<Ending> {
  return new Promise((resolve) => {
    let started = false;
    child.once("spawn", () => {
      started = true;
    });
    // After the start, "error" only reports a signal that could not be delivered: the child
    // still runs and "exit" still comes. A listener must stay, or the event would throw.
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (!started) {
        resolve({ kind: "failed", error });
      }
    });
    child.once("exit", (code, signal) => {
      resolve(signal === null ? { kind: "exited", code: code ?? 0 } : { kind: "signaled", signal });
    });
  });
}

/**
 * `gcl run NAMES -- COMMAND ARGS…`: takes the slots (waiting up to `timeout`), runs COMMAND while
 * holding them and resolves with its exit code. The slots are released however COMMAND ends.
 * SIGINT, SIGTERM and SIGHUP go to COMMAND once it runs; before that they stop the wait and
 * COMMAND never starts. A missing limit fails (COMMAND never starts) unless `allowMissing`, which
 * skips it with a warning. With `strict`, a lost lease stops COMMAND with SIGTERM instead of a warning.
 */
export async function runHolding(
  context: Context,
  names: readonly string[],
  commandLine: readonly [string, ...string[]],
  options: RunOptions,
  subject: Subject,
): Promise<number> {
  const { io } = context;
  const [command, ...args] = commandLine;
  const waiting = new AbortController();
  let received: ForwardedSignal | undefined;
  let child: ChildProcess | undefined;
  let childEnded = false;
  const unwatch = watchSignals(io.signals, (signal) => {
    if (child === undefined) {
      received ??= signal;
      waiting.abort(new Error(`stopped by ${signal}`));
    } else if (!childEnded) {
      child.kill(signal);
    }
  });
  try {
    let slots: Slots;
    try {
      slots = await withProgress(context, slotsLabel(names, options.occupy), () =>
        context.client.acquire(names, {
          occupy: options.occupy,
          leaseDuration: options.leaseDuration,
          strict: options.allowMissing !== true,
          // Prefect's default: a lost lease is a warning unless strict, which stops the work.
          onLeaseLost: options.strict ? "abort" : "continue",
          holder: holderOf(io.processId, commandLine),
          signal: waiting.signal,
          ...(options.timeout === undefined ? {} : { timeoutSeconds: options.timeout }),
        }),
      );
    } catch (error) {
      if (received !== undefined) {
        context.note(`Stopped by ${received} while waiting for slots; \`${command}\` was not started.`);
        return signalExitCode(received);
      }
      const missing = missingLimitError(error, `\`${command}\` was not started.`);
      if (missing !== undefined) {
        throw missing;
      }
      const explained = explain(error, subject);
      throw new CliError(`${explained.message} \`${command}\` was not started.`, {
        hint: explained.hint,
        exitCode: explained.exitCode,
        cause: error,
      });
    }
    try {
      if (received !== undefined) {
        // The signal came with the grant: give the slots back rather than start the command.
        context.note(`Stopped by ${received} while waiting for slots; \`${command}\` was not started.`);
        return signalExitCode(received);
      }
      const started = startChild(context, command, args);
      if (started.kind === "failed") {
        return notStarted(context, command, started.error);
      }
      child = started.child;
      const running = child;
      const onLost = (): void => {
        if (!childEnded) {
          context.note(`Stopping \`${command}\` with SIGTERM: it no longer holds its slots (--strict).`);
          running.kill("SIGTERM");
        }
      };
      const end = ending(running);
      slots.signal.addEventListener("abort", onLost, { once: true });
      if (slots.signal.aborted) {
        onLost();
      }
      const ended = await end;
      childEnded = true;
      slots.signal.removeEventListener("abort", onLost);
      if (ended.kind === "failed") {
        return notStarted(context, command, ended.error);
      }
      return ended.kind === "exited" ? ended.code : signalExitCode(ended.signal);
    } finally {
      await release(context, slots, options.leaseDuration);
    }
  } finally {
    unwatch();
  }
}

/** Starts the command; a synchronous failure (a malformed command) counts as "could not start". */
function startChild(
  context: Context,
  command: string,
  args: readonly string[],
): { kind: "started"; child: ChildProcess } | { kind: "failed"; error: NodeJS.ErrnoException } {
  try {
    return { kind: "started", child: context.io.spawn(command, args) };
  } catch (error) {
    return { kind: "failed", error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/** Reports a command that could not be started, with the shell's exit codes (127, 126). */
function notStarted(context: Context, command: string, error: NodeJS.ErrnoException): number {
  const notFound = error.code === "ENOENT";
  context.note(
    `${context.err.red("Error:")} Could not start \`${command}\`: ${notFound ? "command not found" : error.message}.\n` +
      (notFound ? "  Check its spelling and PATH, or give its full path." : "  Check that it is an executable file."),
  );
  return notFound ? NOT_FOUND_EXIT : NOT_EXECUTABLE_EXIT;
}

/** Who holds the lease, for `gcl leases`: this host and pid, and the command line, cut to fit. */
function holderOf(processId: string, commandLine: readonly string[]): { type: string; id: string } {
  const id = `${processId} ${commandLine.join(" ")}`;
  return {
    type: RUN_HOLDER_TYPE,
    id: id.length <= MAX_NAME_LENGTH ? id : `${id.slice(0, MAX_NAME_LENGTH - 1)}…`,
  };
}

/** Gives the slots back; a failure is a warning, not a change of exit code: the lease expires anyway. */
async function release(context: Context, slots: Slots, leaseDuration: number): Promise<void> {
  try {
    await slots.release();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    context.warn(
      `Could not release the slots on ${quoteNames(slots.names)} (${message}); they come back by themselves when the lease expires, within ${leaseDuration} s.`,
    );
  }
}

export interface RateLimitOptions {
  occupy: number;
  timeout?: number;
  allowMissing?: boolean;
  json?: boolean;
}

/**
 * `gcl rate-limit NAMES`: waits until the rate limits admit `occupy` more slots, takes them, and
 * resolves with 0 (printing `{limits, missing}` with `json`). Nothing to release: the limits'
 * decay gives the slots back. A missing limit fails unless `allowMissing`.
 */
export async function rateLimit(
  context: Context,
  names: readonly string[],
  options: RateLimitOptions,
): Promise<number> {
  const waiting = new AbortController();
  let received: ForwardedSignal | undefined;
  const unwatch = watchSignals(context.io.signals, (signal) => {
    received ??= signal;
    waiting.abort(new Error(`stopped by ${signal}`));
  });
  try {
    const result = await withProgress(context, `the rate limit on ${quoteNames(names)}`, () =>
      context.client.rateLimit(names, {
        occupy: options.occupy,
        strict: options.allowMissing !== true,
        signal: waiting.signal,
        ...(options.timeout === undefined ? {} : { timeoutSeconds: options.timeout }),
      }),
    );
    if (options.json) {
      context.json(result);
    }
    return EXIT.ok;
  } catch (error) {
    if (received !== undefined) {
      context.note(`Stopped by ${received} while waiting for the rate limit.`);
      return signalExitCode(received);
    }
    throw missingLimitError(error, "nothing was admitted.") ?? error;
  } finally {
    unwatch();
  }
}
