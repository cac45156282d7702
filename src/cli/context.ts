/**
 * What every `gcl` command runs with: the injected io, the client of the Worker chosen by
 * `--url`/`GCL_URL` and `--token`/`GCL_TOKEN`, output styles, and the one place that writes
 * messages to stderr (so a progress line is erased before a warning is printed over it).
 */

import { createClient, type GclClient, type Logger } from "../client/index";
import { DEFAULT_URL } from "../protocol/constants";
import { CliError, EXIT } from "./errors";
import { styleFor, type Style } from "./format";
import type { CliIo } from "./io";
import type { Progress } from "./progress";

/** Where `gcl` looks when neither `--url` nor `GCL_URL` says: `npm run dev`. */
export { DEFAULT_URL };

export interface ConnectionOptions {
  url?: string;
  token?: string;
}

export class Context {
  readonly io: CliIo;
  readonly url: string;
  readonly client: GclClient;
  /** Styles for stdout and stderr: colors only on a terminal without `NO_COLOR`. */
  readonly out: Style;
  readonly err: Style;
  /** The progress line being drawn, if any. */
  progress: Progress | undefined;

  /**
   * The connection comes from the command line, then the environment, then the default.
   * @throws CliError (usage) for a URL that is not absolute http(s).
   */
  constructor(io: CliIo, options: ConnectionOptions) {
    this.io = io;
    this.url = options.url ?? nonEmpty(io.env.GCL_URL) ?? DEFAULT_URL;
    this.out = styleFor(io.stdout, io.env);
    this.err = styleFor(io.stderr, io.env);
    // An exported but empty GCL_TOKEN means "no token", as for most tools.
    const token = options.token ?? nonEmpty(io.env.GCL_TOKEN);
    const logger: Logger = {
      warn: (message) => this.warn(message),
      error: (message) => this.note(`${this.err.red("Error:")} ${message}`),
    };
    try {
      this.client = createClient({
        url: this.url,
        ...(token === undefined || token === "" ? {} : { token }),
        ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
        logger,
      });
    } catch (error) {
      const which = options.url === undefined ? "GCL_URL" : "--url";
      throw new CliError(`${which} must be an absolute http(s) URL, got '${this.url}'.`, {
        hint: `For example: --url ${DEFAULT_URL}`,
        exitCode: EXIT.usage,
        cause: error,
      });
    }
  }

  /** Writes a line to stderr, erasing the progress line first (the next frame redraws it). */
  note(line: string): void {
    this.progress?.clear();
    this.io.stderr.write(`${line}\n`);
  }

  warn(message: string): void {
    this.note(`${this.err.yellow("Warning:")} ${message}`);
  }

  /** Writes a success message to stdout. */
  success(message: string): void {
    this.io.stdout.write(`${this.out.green(message)}\n`);
  }

  /** Writes `value` to stdout as the API's JSON, indented. */
  json(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
