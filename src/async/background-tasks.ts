// `BackgroundTasks`: fire-and-forget work that is never lost and never becomes an unhandled
// rejection. Tracks each job until it settles, reports failures to `onError`, can hand each
// job to a Worker's `ctx.waitUntil`, and lets shutdown code or tests await `settled()`.
// The counterpart of Prefect's `create_task`. Public through `./index`; standard JS only.

import { got, isAbortSignal } from "../protocol/arguments";
import { isJob, startJob, type Job } from "./job";

/** Options of {@link BackgroundTasks}. */
export interface BackgroundTasksOptions {
  /**
   * Called with the error of every job that fails, even if the caller also awaits the promise
   * returned by `run()`. If it throws, that error is logged with `console.error`.
   * @default logs with `console.error`
   */
  readonly onError?: (error: unknown) => void;
  /**
   * Called once per job with a promise that settles (never rejects) when the job does, e.g.
   * `(promise) => ctx.waitUntil(promise)` in a Worker, so the runtime does not cancel work
   * still pending after the response. Pass a bound function: `ctx.waitUntil` alone loses its `this`.
   * @default undefined
   */
  readonly waitUntil?: (promise: Promise<unknown>) => void;
  /**
   * The signal job functions receive, e.g. to stop them on shutdown.
   * @default a signal that never aborts
   */
  readonly signal?: AbortSignal;
}

function logError(error: unknown): void {
  console.error("A background task failed:", error);
}

/**
 * A registry of background jobs for one request, Durable Object or process.
 * In a Worker, create one per request (module scope is shared between requests) and pass
 * `waitUntil`.
 * @example
 * ```ts
 * const background = new BackgroundTasks({ waitUntil: (promise) => ctx.waitUntil(promise) });
 * background.run((signal) => recordAudit(event, signal));
 * ```
 */
export class BackgroundTasks {
  readonly #pending = new Set<Promise<void>>();
  readonly #onError: (error: unknown) => void;
  readonly #waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  readonly #signal: AbortSignal;

  /** @throws TypeError naming the first invalid option. */
  constructor(options: BackgroundTasksOptions = {}) {
    const { onError = logError, waitUntil, signal = new AbortController().signal } = options;
    if (typeof onError !== "function") {
      throw new TypeError(`Expected \`onError\` to be a function, got ${got(onError)}`);
    }
    if (waitUntil !== undefined && typeof waitUntil !== "function") {
      throw new TypeError(`Expected \`waitUntil\` to be a function, got ${got(waitUntil)}`);
    }
    if (!isAbortSignal(signal)) {
      throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${got(signal)}`);
    }
    this.#onError = onError;
    this.#waitUntil = waitUntil;
    this.#signal = signal;
  }

  /** How many jobs are still running. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Starts `job` (or adopts a running promise) and tracks it until it settles. Returns its
   * outcome; the returned promise is already handled, so ignoring it is safe, and awaiting it
   * still gives the result or the error.
   * @throws TypeError for a non-job, or whatever `waitUntil` throws (the job is then not started).
   */
  run<T>(job: Job<T>): Promise<T> {
    if (!isJob(job)) {
      throw new TypeError(`Expected \`job\` to be a function or a promise, got ${got(job)}`);
    }
    let finish: () => void = () => undefined;
    const tracked = new Promise<void>((resolve) => {
      finish = resolve;
    });
    // Registered before the job starts, so a throwing waitUntil (e.g. outside a request) leaves nothing running.
    this.#waitUntil?.(tracked);
    this.#pending.add(tracked);
    const outcome = startJob(job, this.#signal);
    outcome.then(
      () => this.#done(tracked, finish),
      (error: unknown) => {
        this.#report(error);
        this.#done(tracked, finish);
      },
    );
    return outcome;
  }

  /** Resolves once no job is running, including jobs started while waiting. Never rejects. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) {
      await Promise.all(this.#pending);
    }
  }

  #done(tracked: Promise<void>, finish: () => void): void {
    this.#pending.delete(tracked);
    finish();
  }

  #report(error: unknown): void {
    try {
      this.#onError(error);
    } catch (hookError) {
      // The hook is the last line of defence; its own failure must not become an unhandled rejection.
      console.error("BackgroundTasks onError hook threw:", hookError, "while reporting:", error);
    }
  }
}
