/**
 * Everything the `gcl` command line takes from the outside world, as one injectable object:
 * output streams, the environment, the terminal, `fetch`, child processes and signals. `nodeIo()`
 * wires in the real process; tests pass in-memory streams, their own spawner and an event emitter
 * for signals, and call `run()` without spawning `gcl` itself.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { hostname } from "node:os";
import { createInterface } from "node:readline/promises";
import type { FetchLike } from "../client/index";

/** Where text goes: `process.stdout` and `process.stderr` fit, and so does a string buffer. */
export interface Output {
  write(text: string): unknown;
  /** Whether a person is looking: tables get colors, waits get a progress line. */
  readonly isTTY?: boolean;
  /** Terminal width, for help text. */
  readonly columns?: number;
}

/** The signals `gcl run` passes on to its command (and that stop a wait for slots). */
export const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

/** Where the signals sent to `gcl` arrive: `process`, or an `EventEmitter` in tests. */
export interface SignalSource {
  on(signal: ForwardedSignal, listener: () => void): unknown;
  off(signal: ForwardedSignal, listener: () => void): unknown;
}

export interface CliIo {
  readonly stdout: Output;
  readonly stderr: Output;
  /** Read for `GCL_URL`, `GCL_TOKEN` and `NO_COLOR`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether a person can answer a question: stdin is a terminal. `delete` asks only then. */
  readonly interactive: boolean;
  /** Asks `question` on the terminal and resolves with the line typed. Called only when `interactive`. */
  ask(question: string): Promise<string>;
  /** Replaces the global `fetch` (tests). */
  readonly fetch?: FetchLike;
  /** Starts the command of `gcl run`, its stdio connected to this process's. */
  spawn(command: string, args: readonly string[]): ChildProcess;
  /** SIGINT, SIGTERM and SIGHUP sent to `gcl`. */
  readonly signals: SignalSource;
  /** This process as a lease holder sees it, e.g. `web-1:4242` (host and pid). */
  readonly processId: string;
}

/** The real process: its streams, environment, terminal, children and signals. */
export function nodeIo(): CliIo {
  // `gcl ls | head -1` closes the pipe early: that is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") {
        throw error;
      }
    });
  }
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    interactive: process.stdin.isTTY === true,
    ask: askOnTerminal,
    spawn: (command, args) => spawn(command, args, { stdio: "inherit" }),
    signals: process,
    processId: `${hostname()}:${process.pid}`,
  };
}

/** Reads one line from the terminal; Ctrl-C or Ctrl-D answers "" (which every question takes as no). */
async function askOnTerminal(question: string): Promise<string> {
  // The question goes to stderr, so stdout carries only results.
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  const stop = new AbortController();
  // Without a listener, readline only pauses stdin on Ctrl-C and the question never resolves.
  terminal.once("SIGINT", () => stop.abort());
  terminal.once("close", () => stop.abort());
  try {
    return await terminal.question(question, { signal: stop.signal });
  } catch {
    process.stderr.write("\n");
    return "";
  } finally {
    terminal.close();
  }
}
