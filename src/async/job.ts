// The unit of work shared by `concurrent`, `TaskGroup`, `gather` and `BackgroundTasks`:
// a lazy job function that receives an AbortSignal, or a promise that is already running.
// Internal helpers here start jobs without ever throwing synchronously. Standard JS only.

/** A job that has not started yet. It receives a signal that aborts when its result is no longer wanted. */
export type LazyJob<T> = (signal: AbortSignal) => PromiseLike<T>;

/**
 * A unit of work: a {@link LazyJob} (started only when there is room for it) or a promise
 * that is already running. A promise cannot be delayed or aborted, so it runs outside any limit.
 */
export type Job<T> = LazyJob<T> | PromiseLike<T>;

/** The value a {@link Job} settles with. */
export type JobResult<J> =
  J extends LazyJob<infer R> ? Awaited<R> : J extends PromiseLike<infer R> ? Awaited<R> : never;

/** Whether `value` is a thenable (a promise or any object with a callable `then`). */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) {
    return false;
  }
  try {
    return typeof (value as { then?: unknown }).then === "function";
  } catch {
    // A `then` getter that throws makes the object unusable as a promise; treat it as a non-job.
    return false;
  }
}

/** Whether `value` can be run as a {@link Job}. */
export function isJob(value: unknown): value is Job<unknown> {
  return typeof value === "function" || isPromiseLike(value);
}

/**
 * Starts `job` (or adopts it, if it is already a promise) and returns a real Promise.
 * A job function that throws synchronously, or a thenable whose `then` throws, becomes a
 * rejection rather than an exception, so callers have one failure path.
 */
export function startJob<T>(job: Job<T>, signal: AbortSignal): Promise<T> {
  if (typeof job !== "function") {
    return Promise.resolve(job);
  }
  try {
    return Promise.resolve(job(signal));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Whether `value` is a sync or async iterable (strings included, as in `for...of`). */
export function isIterable<T>(value: unknown): value is Iterable<T> | AsyncIterable<T> {
  if (value === null || value === undefined) {
    return false;
  }
  const object = Object(value) as Partial<Iterable<unknown> & AsyncIterable<unknown>>;
  return typeof object[Symbol.asyncIterator] === "function" || typeof object[Symbol.iterator] === "function";
}

/** Whether `error` is how a job reports that `signal` (already aborted) stopped it. */
export function isAbortConsequence(error: unknown, signal: AbortSignal): boolean {
  if (!signal.aborted) {
    return false;
  }
  if (error === signal.reason) {
    return true;
  }
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "AbortError";
}

/** A short, never-throwing description of any value, for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === "function") {
    return `function ${value.name || "(anonymous)"}`;
  }
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  try {
    return String(value);
  } catch {
    // Objects with a null prototype or a throwing toString() cannot be stringified.
    return Object.prototype.toString.call(value);
  }
}
