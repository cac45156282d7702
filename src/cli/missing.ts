/**
 * `gcl run` and `gcl rate-limit` refuse a limit that does not exist (a misspelled name in a cron
 * job would otherwise run the job with no limit at all); `--allow-missing` gives Prefect's
 * warn-and-run instead. The client reports a missing name as a `ConcurrencySlotAcquisitionError`
 * without a server code; rather than recognise it by its message, the command asks the Worker
 * which names are missing, once, on that failure path only.
 */

import { AcquireTimeoutError, ConcurrencySlotAcquisitionError, GclError } from "../client/index";
import type { Context } from "./context";
import { CliError, quoteNames } from "./errors";

/** The names among `names` that have no limit, in order; limits that could not be read count as present. */
export async function missingNames(context: Context, names: readonly string[]): Promise<string[]> {
  const found = await Promise.all(
    names.map((name) =>
      context.client.limits.get(name).then(
        () => true,
        (error: unknown) => !(error instanceof GclError && error.code === "not_found"),
      ),
    ),
  );
  return names.filter((_, index) => found[index] !== true);
}

/** Whether `error` may be the client's refusal of a missing name: no server code, not a timeout. */
function mayBeMissing(error: unknown): boolean {
  return error instanceof ConcurrencySlotAcquisitionError && !(error instanceof AcquireTimeoutError) && error.code === undefined;
}

/**
 * The error to report when slots could not be had because a limit does not exist, or undefined
 * when that is not why. `notStarted` ends the message, e.g. "`pg_dump` was not started."
 */
export async function missingLimitError(
  context: Context,
  names: readonly string[],
  error: unknown,
  notStarted: string,
): Promise<CliError | undefined> {
  if (!mayBeMissing(error)) {
    return undefined;
  }
  const missing = await missingNames(context, names);
  const [first] = missing;
  if (first === undefined) {
    return undefined;
  }
  const which =
    missing.length === 1 ? `Global concurrency limit ${quoteNames(missing)} does not exist` : `Global concurrency limits ${quoteNames(missing)} do not exist`;
  return new CliError(`${which}, so ${notStarted}`, {
    hint:
      `Create it with \`gcl create ${first} --limit N\` (or \`gcl ensure ${first} --limit N\`, which leaves an existing limit alone), ` +
      "check the spelling with `gcl ls`, or pass --allow-missing to go on without it, as Prefect does.",
    cause: error,
  });
}
