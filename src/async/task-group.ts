// `TaskGroup` and `gather()`: run jobs together and collect their results in input order.
// The first failure aborts the siblings' shared signal; the group then waits for all of them
// and rejects with that failure (an AggregateError when several failed). The JS counterpart of
// Prefect's GatherTaskGroup / gather. Public through `./index`; standard JS only.

import { GatherIncomplete } from "./errors";
import { got, isAbortSignal } from "../protocol/arguments";
import { isAbortConsequence, isJob, startJob, type Job, type JobResult } from "./job";

/** Options of {@link TaskGroup} and {@link gather}. */
export interface TaskGroupOptions {
  /**
   * Cancels the group: every job's signal aborts with this signal's reason, jobs spawned
   * afterwards do not start, and `wait()` rejects with the reason.
   * @default undefined (never aborts)
   */
  readonly signal?: AbortSignal;
}

type Settlement<T> =
  | { readonly status: "pending" }
  | { readonly status: "fulfilled"; readonly value: T }
  | { readonly status: "rejected"; readonly reason: unknown };

const PENDING: Settlement<never> = { status: "pending" };

/**
 * A set of jobs that succeed or fail together. `spawn()` starts a job at once and returns its
 * index; `wait()` resolves with every result in spawn order once all have fulfilled.
 *
 * The first job to fail aborts the group's signal, which every job function received, and
 * `wait()` rejects after all jobs have settled: with that error, or with an `AggregateError`
 * when several jobs failed. Rejections that merely report the abort (the signal's reason or an
 * `AbortError`) are not counted as failures. Jobs that ignore the signal delay `wait()`.
 * @example
 * ```ts
 * const group = new TaskGroup<Item>();
 * const first = group.spawn((signal) => loadItem(1, signal));
 * group.spawn((signal) => loadItem(2, signal));
 * const items = await group.wait();
 * console.log(items.length, group.getResult(first).id);
 * ```
 */
export class TaskGroup<T = unknown> {
  readonly #controller = new AbortController();
  readonly #settlements: Settlement<T>[] = [];
  readonly #pending = new Set<Promise<void>>();
  readonly #failures: unknown[] = [];
  /** Whether the group was cancelled (option signal or `abort()`) before any job failed. */
  #cancelled = false;
  #finished = false;
  readonly #external: AbortSignal | undefined;
  readonly #onAbort = (): void => this.abort(this.#external?.reason);

  /** @throws TypeError if `options.signal` is not an AbortSignal. */
  constructor(options: TaskGroupOptions = {}) {
    const { signal } = options;
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${got(signal)}`);
    }
    this.#external = signal;
    if (signal?.aborted) {
      this.abort(signal.reason);
    } else {
      signal?.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** The signal every job function receives. It aborts on the first failure or on cancellation. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** How many jobs have been spawned. */
  get size(): number {
    return this.#settlements.length;
  }

  /**
   * Every result in spawn order.
   * @throws GatherIncomplete while a job is still running, or if one failed (its error is the `cause`).
   */
  get results(): T[] {
    const values: T[] = [];
    let running = 0;
    for (const [index, settlement] of this.#settlements.entries()) {
      if (settlement.status === "pending") {
        running += 1;
      } else if (settlement.status === "rejected") {
        throw new GatherIncomplete(`Job ${index} failed, so the results are incomplete`, { cause: settlement.reason });
      } else {
        values.push(settlement.value);
      }
    }
    if (running > 0) {
      throw new GatherIncomplete(`${running} of ${this.#settlements.length} jobs have not settled yet`);
    }
    return values;
  }

  /**
   * Starts `job` with the group's signal and returns its index for {@link getResult}.
   * In a cancelled or failed group a job function is not started; it is recorded as aborted.
   * @throws TypeError if `job` is neither a function nor a promise; Error once `wait()` has settled.
   */
  spawn(job: Job<T>): number {
    if (!isJob(job)) {
      throw new TypeError(`Expected \`job\` to be a function or a promise, got ${got(job)}`);
    }
    if (this.#finished) {
      throw new Error("Cannot spawn into a TaskGroup whose wait() has settled; create a new group");
    }
    const index = this.#settlements.length;
    this.#settlements.push(PENDING);
    const { signal } = this.#controller;
    if (signal.aborted && typeof job === "function") {
      this.#settlements[index] = { status: "rejected", reason: signal.reason };
      return index;
    }
    const tracked = startJob(job, signal).then(
      (value) => {
        this.#settlements[index] = { status: "fulfilled", value };
      },
      (reason: unknown) => {
        this.#settlements[index] = { status: "rejected", reason };
        this.#failed(reason);
      },
    );
    this.#pending.add(tracked);
    void tracked.then(() => this.#pending.delete(tracked));
    return index;
  }

  /**
   * The result of the job at `index`.
   * @throws GatherIncomplete while it runs; the job's own error if it failed; RangeError for an unknown index.
   */
  getResult(index: number): T {
    const settlement = this.#settlements[index];
    if (settlement === undefined) {
      throw new RangeError(
        `Expected \`index\` to be a spawned job's index (0 to ${this.#settlements.length - 1}), got ${got(index)}`,
      );
    }
    if (settlement.status === "pending") {
      throw new GatherIncomplete(`Job ${index} has not settled yet`);
    }
    if (settlement.status === "rejected") {
      throw settlement.reason;
    }
    return settlement.value;
  }

  /** Cancels the group: aborts every job's signal with `reason`. No effect once aborted. */
  abort(reason?: unknown): void {
    if (this.#controller.signal.aborted) {
      return;
    }
    this.#cancelled = true;
    this.#controller.abort(reason);
  }

  /**
   * Waits for every job, including ones spawned while waiting, and resolves with the results.
   * @throws the cancellation reason if the group was cancelled before any failure; else the
   * only failure, or an AggregateError of all of them.
   */
  async wait(): Promise<T[]> {
    while (this.#pending.size > 0) {
      await Promise.all(this.#pending);
    }
    this.#finished = true;
    this.#external?.removeEventListener("abort", this.#onAbort);
    if (this.#cancelled) {
      // The signal's reason, not abort()'s argument: for `abort()` it is the AbortError filled in.
      throw this.#controller.signal.reason;
    }
    const [first, ...others] = this.#failures;
    if (this.#failures.length === 1) {
      throw first;
    }
    if (others.length > 0) {
      throw new AggregateError(this.#failures, `${this.#failures.length} of ${this.#settlements.length} jobs failed`);
    }
    return this.results;
  }

  #failed(reason: unknown): void {
    const { signal } = this.#controller;
    if (isAbortConsequence(reason, signal)) {
      // A sibling reporting the abort we caused is not a failure of its own.
      return;
    }
    this.#failures.push(reason);
    if (!signal.aborted) {
      this.#controller.abort();
    }
  }
}

/** The results of {@link gather}, one per job, in input order. */
export type GatherResults<J extends readonly unknown[]> = { -readonly [K in keyof J]: JobResult<J[K]> };

/**
 * Runs all `jobs` at once and resolves with their results in input order. Like `Promise.all`,
 * but the first failure aborts the other jobs' signal and the returned promise waits for them
 * before rejecting (with an `AggregateError` when several failed). See {@link TaskGroup}.
 * Rejects with a TypeError, without starting anything, if an item is not a job.
 * @example
 * ```ts
 * const [user, orders] = await gather([(signal) => getUser(id, signal), (signal) => getOrders(id, signal)]);
 * ```
 */
export function gather<const J extends readonly Job<unknown>[]>(
  jobs: J,
  options?: TaskGroupOptions,
): Promise<GatherResults<J>>;
export function gather<T>(jobs: Iterable<Job<T>>, options?: TaskGroupOptions): Promise<T[]>;
export async function gather(jobs: Iterable<Job<unknown>>, options: TaskGroupOptions = {}): Promise<unknown[]> {
  const list = [...jobs];
  // Validate everything first: a bad item must not leave earlier jobs running unobserved.
  for (const [index, job] of list.entries()) {
    if (!isJob(job)) {
      throw new TypeError(`Expected \`jobs[${index}]\` to be a function or a promise, got ${got(job)}`);
    }
  }
  const group = new TaskGroup(options);
  for (const job of list) {
    group.spawn(job);
  }
  return group.wait();
}
