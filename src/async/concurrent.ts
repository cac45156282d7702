// `concurrent()`: run jobs from a sync or async iterable with at most `limit` in flight and
// yield their results in completion order. The TypeScript take on aio.tasks `concurrent`,
// minus its leaks: stopping early or aborting aborts running jobs and starts no new ones.
// Public through `./index`; standard JS only (AbortController, Promise).

import {
  resolveConcurrentOptions,
  UNBOUNDED,
  type ConcurrentOptions,
  type ResolvedConcurrentOptions,
} from "./concurrent-options";
import { ConcurrentError, ConcurrentExecutionError, ConcurrentIteratorError } from "./errors";
import { got } from "../protocol/arguments";
import { isIterable, isPromiseLike, startJob, type Job, type LazyJob } from "./job";
import { withSlots } from "./slots";

/** Where `concurrent()` takes its jobs from. Pulled lazily, one item per free slot. */
export type JobSource<T> = Iterable<Job<T>> | AsyncIterable<Job<T>>;

/**
 * Runs the jobs of `source` with at most `limit` in flight and yields each result as soon as
 * it is ready (completion order, not input order).
 *
 * - The source is read only when a slot is free, so an endless generator is fine. A slot is
 *   held from the pull until the consumer has taken the job's result, which keeps memory
 *   bounded when the consumer is slow.
 * - A failed job becomes a `ConcurrentExecutionError` (original in `cause`). It is thrown when
 *   the consumer reaches it, unless `yieldExceptions` is set, in which case it is yielded.
 *   A failing source is always thrown as a `ConcurrentIteratorError`.
 * - Leaving the loop early (`break`, `return`, an exception in its body), a failure being
 *   thrown, or `signal` aborting (the loop then throws its reason) aborts the signal of every
 *   running job, starts nothing further, calls the source's `return()` without waiting for it,
 *   and waits for the started jobs to settle before the loop exits.
 *
 * Options are validated here, synchronously, before anything runs.
 * @throws RangeError for an invalid `limit`; TypeError for a non-iterable `source` or other bad options.
 * @example
 * ```ts
 * const jobs = ids.map((id) => (signal: AbortSignal) => loadItem(id, signal));
 * for await (const item of concurrent(jobs, { limit: 6 })) {
 *   console.log(item.id);
 * }
 * ```
 */
export function concurrent<T>(
  source: JobSource<T>,
  options: ConcurrentOptions & { readonly yieldExceptions: true },
): AsyncGenerator<T | ConcurrentError, void, undefined>;
export function concurrent<T>(
  source: JobSource<T>,
  options?: ConcurrentOptions & { readonly yieldExceptions?: false },
): AsyncGenerator<T, void, undefined>;
export function concurrent<T>(
  source: JobSource<T>,
  options?: ConcurrentOptions,
): AsyncGenerator<T | ConcurrentError, void, undefined>;
export function concurrent<T>(
  source: JobSource<T>,
  options: ConcurrentOptions = {},
): AsyncGenerator<T | ConcurrentError, void, undefined> {
  const resolved = resolveConcurrentOptions(options);
  if (!isIterable<Job<T>>(source)) {
    throw new TypeError(`Expected \`source\` to be an iterable or async iterable, got ${got(source)}`);
  }
  // A plain function around the generator, so the checks above throw at the call, not at the first next().
  return iterate(source, resolved);
}

async function* iterate<T>(
  source: JobSource<T>,
  options: ResolvedConcurrentOptions,
): AsyncGenerator<T | ConcurrentError, void, undefined> {
  const run = new ConcurrentRun<T>(source, options);
  try {
    for (;;) {
      const entry = await run.take();
      if (entry === undefined) {
        return;
      }
      if (entry.ok) {
        yield entry.value;
      } else if (run.throws(entry.error)) {
        throw entry.error;
      } else {
        yield entry.error;
      }
    }
  } finally {
    await run.close();
  }
}

type Entry<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ConcurrentError };

interface OpenSource {
  readonly iterator: Iterator<unknown> | AsyncIterator<unknown>;
  readonly isAsync: boolean;
}

/** The state of one iteration: slots, the source, jobs in flight and finished entries. */
class ConcurrentRun<T> {
  readonly #source: JobSource<T>;
  readonly #options: ResolvedConcurrentOptions;
  readonly #controller = new AbortController();
  readonly #queue: Entry<T>[] = [];
  /** Settlement of each job function we started; close() waits for these. */
  readonly #started = new Set<Promise<void>>();
  #open: OpenSource | undefined;
  /** Slots in use: reserved for a pull, running, or holding a result the consumer has not taken. */
  #occupied = 0;
  #pulling = false;
  /** The source is exhausted, failed or closed: never pull from it or close it again. */
  #sourceDone = false;
  #halted = false;
  #wake: (() => void) | undefined;
  readonly #onAbort = (): void => {
    this.#halt(this.#options.signal?.reason);
    this.#notify();
  };

  constructor(source: JobSource<T>, options: ResolvedConcurrentOptions) {
    this.#source = source;
    this.#options = options;
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Whether `error` ends the run when the consumer reaches it (instead of being yielded). */
  throws(error: ConcurrentError): boolean {
    return !this.#options.yieldExceptions || error instanceof ConcurrentIteratorError;
  }

  /** The next finished entry, or `undefined` once the source is exhausted and every job is done. */
  async take(): Promise<Entry<T> | undefined> {
    for (;;) {
      const { signal } = this.#options;
      if (signal?.aborted) {
        this.#halt(signal.reason);
        throw signal.reason;
      }
      const entry = this.#queue.shift();
      if (entry !== undefined) {
        this.#occupied -= 1;
        this.#pump();
        return entry;
      }
      this.#pump();
      if (this.#queue.length > 0) {
        continue;
      }
      if (this.#sourceDone && this.#occupied === 0) {
        return undefined;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Stops everything and waits for the jobs we started. Safe to call more than once. */
  async close(): Promise<void> {
    this.#halt(undefined);
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    this.#queue.length = 0;
    // Waiting means slots are released and nothing of ours outlives the loop. Jobs were
    // aborted just above; one that ignores its signal delays this until it settles.
    await Promise.all(this.#started);
  }

  #hasRoom(): boolean {
    return this.#options.limit === UNBOUNDED || this.#occupied < this.#options.limit;
  }

  /** Pulls and starts jobs while there is room. Sync sources are drained in this loop; async ones one pull at a time. */
  #pump(): void {
    while (!this.#halted && !this.#sourceDone && !this.#pulling && this.#hasRoom()) {
      // The slot is reserved before the pull, so the source is never read ahead of the limit.
      this.#occupied += 1;
      const open = this.#open ?? this.#openSource();
      if (open === undefined) {
        return;
      }
      this.#pulling = true;
      let step: unknown;
      try {
        step = open.iterator.next();
      } catch (error) {
        this.#sourceFailed(error);
        return;
      }
      if (open.isAsync) {
        void Promise.resolve(step).then(
          (result) => {
            this.#received(result);
            this.#pump();
          },
          (error: unknown) => this.#sourceFailed(error),
        );
        return;
      }
      this.#received(step);
    }
  }

  #openSource(): OpenSource | undefined {
    const source = this.#source;
    try {
      const asyncFactory = (source as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
      this.#open =
        typeof asyncFactory === "function"
          ? { iterator: asyncFactory.call(source), isAsync: true }
          : { iterator: (source as Iterable<unknown>)[Symbol.iterator](), isAsync: false };
      return this.#open;
    } catch (error) {
      this.#sourceFailed(error);
      return undefined;
    }
  }

  /** Handles one `next()` result. Never throws: it runs inside promise callbacks. */
  #received(step: unknown): void {
    this.#pulling = false;
    let item: unknown;
    try {
      if (typeof step !== "object" || step === null) {
        throw new TypeError(`Expected the source iterator's next() to return an object, got ${got(step)}`);
      }
      const { done, value } = step as IteratorResult<unknown>;
      if (done) {
        this.#sourceDone = true;
        this.#occupied -= 1;
        this.#notify();
        return;
      }
      item = value;
    } catch (error) {
      this.#sourceFailed(error);
      return;
    }
    if (this.#halted) {
      // Pulled just before the run stopped. A promise is ours now: keep its rejection handled.
      this.#occupied -= 1;
      if (isPromiseLike(item)) {
        Promise.resolve(item).then(undefined, () => undefined);
      }
      return;
    }
    this.#start(item);
  }

  #sourceFailed(error: unknown): void {
    this.#pulling = false;
    // A failed iterator is finished; calling its return() would be pointless.
    this.#sourceDone = true;
    this.#enqueue({ ok: false, error: new ConcurrentIteratorError(error) });
  }

  #start(item: unknown): void {
    if (typeof item === "function") {
      const job = item as LazyJob<T>;
      const { slots } = this.#options;
      const settled = this.#settle(
        startJob(slots === undefined ? job : withSlots(job, slots), this.#controller.signal),
      );
      this.#started.add(settled);
      void settled.then(() => this.#started.delete(settled));
    } else if (isPromiseLike(item)) {
      // Already running: it cannot be aborted, so close() does not wait for it.
      void this.#settle(Promise.resolve(item as PromiseLike<T>));
    } else {
      this.#enqueue({
        ok: false,
        error: new ConcurrentError(`Expected a job (a function or a promise), got ${got(item)}`),
      });
    }
  }

  #settle(promise: Promise<T>): Promise<void> {
    return promise.then(
      (value) => this.#enqueue({ ok: true, value }),
      (error: unknown) => this.#enqueue({ ok: false, error: new ConcurrentExecutionError(error) }),
    );
  }

  /** Queues an entry in the slot its job held. */
  #enqueue(entry: Entry<T>): void {
    if (this.#halted) {
      this.#occupied -= 1;
      return;
    }
    this.#queue.push(entry);
    if (!entry.ok && this.throws(entry.error)) {
      // The consumer stops when it reaches this entry, so every later result would be dropped:
      // abort the running jobs now rather than when the consumer gets there (aio.tasks waits).
      this.#halt(undefined);
    }
    this.#notify();
  }

  /** Aborts running jobs, stops pulling and closes the source. The first reason wins. */
  #halt(reason: unknown): void {
    if (this.#halted) {
      return;
    }
    this.#halted = true;
    this.#controller.abort(reason);
    const open = this.#open;
    if (open === undefined || this.#sourceDone) {
      return;
    }
    this.#sourceDone = true;
    try {
      const closing: unknown = open.iterator.return?.();
      // Not awaited: an async generator queues return() behind a pending next() that may never settle.
      if (isPromiseLike(closing)) {
        Promise.resolve(closing).then(undefined, () => undefined);
      }
    } catch {
      // A source that fails to close does not change the outcome of the run.
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
