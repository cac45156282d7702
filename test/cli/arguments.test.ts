/**
 * `gcl`'s argument parsers: limit names, numbers within the protocol's bounds, and how `gcl run`
 * finds its COMMAND after `--` (naming the mistake when it cannot).
 */

import { InvalidArgumentError } from "commander";
import { describe, it } from "vitest";
import { commandAfterDashes, decimal, leaseSeconds, limitNames, occupyCount, slotCount } from "../../src/cli/arguments";

describe("limitNames", () => {
  it("splits on commas, trims, and drops repeats", ({ expect }) => {
    expect(limitNames("db, api,db")).toEqual(["db", "api"]);
  });

  it.for(["", "db,", ",db", "a/b", "x%y", "n".repeat(201), Array.from({ length: 33 }, (_, i) => `n${i}`).join(",")])(
    "refuses %j",
    (value, { expect }) => {
      expect(() => limitNames(value)).toThrow(InvalidArgumentError);
    },
  );
});

describe("number parsers", () => {
  it.for([
    { parse: slotCount, value: "0", accepted: 0 },
    { parse: slotCount, value: "1000000000", accepted: 1_000_000_000 },
    { parse: occupyCount, value: "3", accepted: 3 },
    { parse: leaseSeconds, value: "1.5", accepted: 1.5 },
    { parse: decimal(0), value: "0.25", accepted: 0.25 },
  ])("accepts $value", ({ parse, value, accepted }, { expect }) => {
    expect(parse(value)).toBe(accepted);
  });

  it.for([
    { parse: slotCount, value: "-1" },
    { parse: slotCount, value: "1.5" },
    { parse: slotCount, value: "1e3" },
    { parse: slotCount, value: "1000000001" },
    { parse: occupyCount, value: "0" },
    { parse: leaseSeconds, value: "0.5" },
    { parse: leaseSeconds, value: "86401" },
    { parse: decimal(0), value: "" },
    { parse: decimal(0), value: "Infinity" },
    { parse: decimal(0), value: "-0.1" },
  ])("refuses $value", ({ parse, value }, { expect }) => {
    expect(() => parse(value)).toThrow(InvalidArgumentError);
  });
});

describe("commandAfterDashes", () => {
  it.for([
    {
      argv: ["run", "db", "--", "pg_dump", "-v", "--", "x"],
      given: ["db", "pg_dump", "-v", "--", "x"],
      found: { command: ["pg_dump", "-v", "--", "x"] },
    },
    {
      argv: ["run", "db", "--occupy", "2", "--", "sleep", "1"],
      given: ["db", "sleep", "1"],
      found: { command: ["sleep", "1"] },
    },
    {
      // After an unknown option, commander keeps everything, the `--` included, in order.
      argv: ["run", "db", "--bogus", "--", "true"],
      given: ["db", "--bogus", "--", "true"],
      found: { problem: "unknown option '--bogus'" },
    },
    {
      argv: ["run", "db", "sleep", "1"],
      given: ["db", "sleep", "1"],
      found: { problem: "put `--` before the command: gcl run <names> [options] -- <command> [args...]" },
    },
    {
      argv: ["run", "db", "node", "-v"],
      given: ["db", "node", "-v"],
      found: { problem: "put `--` before the command: gcl run <names> [options] -- <command> [args...]" },
    },
    {
      argv: ["run", "db", "sleep", "--", "1"],
      given: ["db", "sleep", "1"],
      found: { problem: "put `--` before the command: gcl run <names> [options] -- <command> [args...]" },
    },
  ])("finds $found in $argv", ({ argv, given, found }, { expect }) => {
    expect(commandAfterDashes(argv, given)).toEqual(found);
  });
});
