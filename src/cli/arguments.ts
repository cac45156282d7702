/**
 * Parsers for `gcl`'s arguments and option values, in commander's shape: each takes the raw
 * string and returns the value or throws `InvalidArgumentError`, which commander reports as a
 * usage error (exit 2) naming the option. Bounds come from the protocol, so a value the Worker
 * would refuse is refused here first, before anything is sent.
 */

import { InvalidArgumentError } from "commander";
import { MAX_LEASE_SECONDS, MAX_NAMES, MAX_SLOTS, MIN_LEASE_SECONDS } from "../protocol/constants";
import { isLimitName, NAME_RULE } from "../protocol/names";

/** One limit name, by Prefect's rule. */
export function limitName(value: string): string {
  if (!isLimitName(value)) {
    throw new InvalidArgumentError(`A limit name has ${NAME_RULE}.`);
  }
  return value;
}

/** `db` or `db,api`: distinct names, in the order given. */
export function limitNames(value: string): string[] {
  const names = [...new Set(value.split(",").map((name) => name.trim()))];
  if (names.some((name) => name === "")) {
    throw new InvalidArgumentError("Expected limit names separated by commas, e.g. `db` or `db,api`.");
  }
  names.forEach(limitName);
  if (names.length > MAX_NAMES) {
    throw new InvalidArgumentError(`At most ${MAX_NAMES} names at once.`);
  }
  return names;
}

/** A whole number in `[min, MAX_SLOTS]`, written in digits. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const parsed = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > MAX_SLOTS) {
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${MAX_SLOTS}.`);
    }
    return parsed;
  };
}

/** A decimal number of at least `min` (and at most `max`), e.g. `0.5`. */
export function decimal(min: number, max: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const parsed = value.trim() === "" ? Number.NaN : Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER ? `Expected a number >= ${min}.` : `Expected a number from ${min} to ${max}.`,
      );
    }
    return parsed;
  };
}

export const slotCount = wholeNumber(0);
export const occupyCount = wholeNumber(1);
export const decayRate = decimal(0);
export const seconds = decimal(0);
export const leaseSeconds = decimal(MIN_LEASE_SECONDS, MAX_LEASE_SECONDS);

/**
 * COMMAND and its arguments for `gcl run`: everything after the first `--` in `argv`. `given` is
 * what commander collected for `run` (the names, then every argument it did not take as an
 * option of its own), checked so that a mistake is named: an unknown option of gcl's, or a
 * COMMAND written without `--` (gcl would then take COMMAND's options as its own).
 */
export function commandAfterDashes(
  argv: readonly string[],
  given: readonly string[],
): { command: [string, ...string[]] } | { problem: string } {
  const dash = argv.indexOf("--");
  const tail = dash === -1 ? [] : argv.slice(dash + 1);
  const endsWithTail = tail.every((arg, index) => given[given.length - tail.length + index] === arg);
  const before = endsWithTail ? given.slice(0, given.length - tail.length) : [...given];
  // After an unknown option commander keeps the `--` itself too.
  if (before.at(-1) === "--") {
    before.pop();
  }
  const isOption = (arg: string): boolean => arg.length > 1 && arg.startsWith("-");
  const unknown = before.findIndex(isOption);
  // Before the names or right after them it is a mistyped gcl option; after a COMMAND word, it is
  // COMMAND's own option and the `--` is what is missing.
  if (unknown !== -1 && before.slice(0, unknown).filter((arg) => !isOption(arg)).length < 2) {
    return { problem: `unknown option '${before[unknown] ?? ""}'` };
  }
  const [first, ...rest] = tail;
  if (dash === -1 || before.length !== 1 || first === undefined) {
    return { problem: "put `--` before the command: gcl run <names> [options] -- <command> [args...]" };
  }
  return { command: [first, ...rest] };
}
