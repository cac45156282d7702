/**
 * The `gcl` command line against the real Worker on a loopback port, for the e2e CLI tests: a
 * Worker started before the file's tests and stopped after them, a client of it, and `gcl <argv>`
 * called in process against it with in-memory IO (memory-io.ts).
 * Node-side only.
 */

import { createClient, type GclClient, type LimitRecord } from "../../src/client";
import { useLocalWorker } from "./local-worker";
import { type GclOutcome, type MemoryIo, type MemoryIoOptions, runGcl, startGcl } from "./memory-io";

export interface CliWorker {
  /** The Worker's base URL (set once the file's tests start). */
  readonly url: string;
  /** A client of the Worker, without a token. */
  readonly client: GclClient;
  /** `gcl <argv>` against the Worker (GCL_URL; `options.env` may override it); the exit code and output. */
  gcl(argv: string[], options?: MemoryIoOptions): Promise<GclOutcome>;
  /** Starts `gcl <argv>` without waiting for it: for `run` while the test watches its child. */
  start(argv: string[], options?: MemoryIoOptions): { io: MemoryIo; done: Promise<number> };
  /** The limit's record as the API has it now. */
  record(name: string): Promise<LimitRecord>;
}

/**
 * Starts a Worker (with `vars`, anonymous access by default) for the calling file's tests.
 * `env` is added to every `gcl` call's environment, before the call's own.
 */
export function useCliWorker(
  settings: { vars?: Record<string, string>; env?: Record<string, string> } = {},
): CliWorker {
  const worker = useLocalWorker(settings.vars);
  let client: GclClient | undefined;
  const clientOf = (): GclClient => {
    client ??= createClient({ url: worker.url });
    return client;
  };
  const withWorker = (options: MemoryIoOptions): MemoryIoOptions => ({
    ...options,
    env: { GCL_URL: worker.url, ...settings.env, ...options.env },
  });

  return {
    get url() {
      return worker.url;
    },
    get client() {
      return clientOf();
    },
    gcl: (argv, options = {}) => runGcl(argv, withWorker(options)),
    start: (argv, options = {}) => startGcl(argv, withWorker(options)),
    record(name) {
      return clientOf().limits.get(name);
    },
  };
}
