/**
 * An in-memory `CliIo` for calling the `gcl` core (`run(argv, io)`) in a test: output collected
 * in strings, a chosen environment and terminal, canned answers to questions, signals sent by
 * emitting on an `EventEmitter`, and real child processes with piped stdio that the test can
 * read from and write to; `fetch` may be a canned one (canned-worker.ts). Node-side only.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import type { CliIo, Output } from "../../src/cli/io";
import { run } from "../../src/cli/run";
import type { FetchLike } from "../../src/client";

/** Commands for `gcl run` to start: `node -e` scripts that say "ready" on stdout once running. */
export const CHILD = {
  /** Waits until its stdin closes, then exits with its first argument (0 without one). */
  waitForStdin: `process.stdout.write("ready\\n"); process.stdin.resume(); process.stdin.on("end", () => process.exit(Number(process.argv[1] ?? 0)));`,
  /** Runs until a signal kills it. */
  runForever: `process.stdout.write("ready\\n"); setInterval(() => {}, 1000);`,
};

export interface MemoryOutput extends Output {
  /** Everything written so far. */
  readonly text: string;
}

export interface MemoryIoOptions {
  env?: Record<string, string | undefined>;
  /** stdin is a terminal. @default false */
  interactive?: boolean;
  /** Answers to the questions asked, in order; "" once they run out. */
  answers?: string[];
  /** stderr is a terminal (progress lines, colors unless NO_COLOR). @default false */
  stderrIsTTY?: boolean;
  /** Replaces the global `fetch`. */
  fetch?: FetchLike;
}

export interface MemoryIo extends CliIo {
  readonly stdout: MemoryOutput;
  readonly stderr: MemoryOutput;
  readonly signals: EventEmitter;
  /** The questions asked, in order. */
  readonly questions: string[];
  /** Every child `gcl run` started. */
  readonly children: ChildProcess[];
  /** Resolves with the next child `gcl run` starts. */
  nextChild(): Promise<ChildProcess>;
}

function memoryOutput(isTTY: boolean): MemoryOutput & { write(text: string): boolean } {
  let text = "";
  return {
    isTTY,
    columns: 100,
    get text() {
      return text;
    },
    write(chunk: string) {
      text += chunk;
      return true;
    },
  };
}

export function memoryIo(options: MemoryIoOptions = {}): MemoryIo {
  const answers = [...(options.answers ?? [])];
  const questions: string[] = [];
  const children: ChildProcess[] = [];
  let waiters: ((child: ChildProcess) => void)[] = [];
  return {
    stdout: memoryOutput(false),
    stderr: memoryOutput(options.stderrIsTTY ?? false),
    env: options.env ?? {},
    interactive: options.interactive ?? false,
    async ask(question) {
      questions.push(question);
      return answers.shift() ?? "";
    },
    spawn(command, args) {
      const child = spawn(command, args, { stdio: "pipe" });
      children.push(child);
      const ready = waiters;
      waiters = [];
      for (const resolve of ready) {
        resolve(child);
      }
      return child;
    },
    signals: new EventEmitter(),
    processId: "test-host:1",
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    questions,
    children,
    nextChild() {
      return new Promise((resolve) => {
        waiters.push(resolve);
      });
    },
  };
}

/** Resolves with the first line a child writes to stdout. */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const stdout = child.stdout;
    if (stdout === null) {
      reject(new Error("the child's stdout is not piped"));
      return;
    }
    stdout.setEncoding("utf8");
    const onData = (chunk: string): void => {
      buffer += chunk;
      const end = buffer.indexOf("\n");
      if (end !== -1) {
        stdout.off("data", onData);
        resolve(buffer.slice(0, end));
      }
    };
    stdout.on("data", onData);
    child.once("exit", () =>
      reject(new Error(`the child exited before writing a line (got ${JSON.stringify(buffer)})`)),
    );
  });
}

export interface GclOutcome {
  code: number;
  out: string;
  err: string;
  io: MemoryIo;
}

/** Starts `gcl <argv>` in process, through its core `run(argv, io)`; `done` resolves with the exit code. */
export function startGcl(argv: string[], options: MemoryIoOptions = {}): { io: MemoryIo; done: Promise<number> } {
  const io = memoryIo(options);
  return { io, done: run(argv, io) };
}

/** `gcl <argv>` in process: the exit code, and what it wrote. */
export async function runGcl(argv: string[], options: MemoryIoOptions = {}): Promise<GclOutcome> {
  const { io, done } = startGcl(argv, options);
  const code = await done;
  return { code, out: io.stdout.text, err: io.stderr.text, io };
}
