/**
 * An in-memory `CliIo` for calling the `gcl` core (`run(argv, io)`) in a test: output collected
 * in strings, a chosen environment and terminal, canned answers to questions, signals sent by
 * emitting on an `EventEmitter`, and real child processes with piped stdio that the test can
 * read from and write to. Node-side only.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import type { CliIo, Output } from "../../src/cli/io";

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
    child.once("exit", () => reject(new Error(`the child exited before writing a line (got ${JSON.stringify(buffer)})`)));
  });
}
