/**
 * `gcl run` and `gcl rate-limit` refuse a limit that does not exist (a misspelled name in a cron
 * job would otherwise run the job with no limit at all); `--allow-missing` gives Prefect's
 * warn-and-run instead. The client reports missing names as a `ConcurrencySlotAcquisitionError`
 * whose `reason` is `missing` and whose `missing` lists them.
 */

import { ConcurrencySlotAcquisitionError } from "../client/index";
import { CliError, quoteNames } from "./errors";

/**
 * The error to report when slots could not be had because a limit does not exist, or undefined
 * when that is not why. `notStarted` ends the message, e.g. "`pg_dump` was not started."
 */
export function missingLimitError(error: unknown, notStarted: string): CliError | undefined {
  if (!(error instanceof ConcurrencySlotAcquisitionError && error.reason === "missing")) {
    return undefined;
  }
  const { missing } = error;
  const [first] = missing;
  if (first === undefined) {
    return undefined;
  }
  const which =
    missing.length === 1
      ? `Global concurrency limit ${quoteNames(missing)} does not exist`
      : `Global concurrency limits ${quoteNames(missing)} do not exist`;
  return new CliError(`${which}, so ${notStarted}`, {
    hint:
      `Create it with \`gcl create ${first} --limit N\` (or \`gcl ensure ${first} --limit N\`, which leaves an existing limit alone), ` +
      "check the spelling with `gcl ls`, or pass --allow-missing to go on without it, as Prefect does.",
    cause: error,
  });
}
