// Public entry of `edge-gcl/async`: runtime-neutral async utilities (Workers, Node, Deno, Bun,
// browsers). Re-exports only; every module behind it uses standard JS and no `node:` imports.

export { BackgroundTasks, type BackgroundTasksOptions } from "./background-tasks";
export { concurrent, type JobSource } from "./concurrent";
export { defaultConcurrency, UNBOUNDED, type ConcurrentOptions } from "./concurrent-options";
export { ConcurrentError, ConcurrentExecutionError, ConcurrentIteratorError, GatherIncomplete } from "./errors";
export { isPromiseLike, type Job, type JobResult, type LazyJob } from "./job";
export { DEFAULT_SLOT_OPTIONS, withSlots, type SlotAcquirer, type SlotLease, type SlotOptions } from "./slots";
export { gather, TaskGroup, type GatherResults, type TaskGroupOptions } from "./task-group";
