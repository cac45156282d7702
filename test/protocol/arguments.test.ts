/**
 * The one description of argument values in the public entries' messages, and the one limit-name
 * rule: the client, `edge-gcl/async` and the CLI refuse the same names with the same words.
 */

import { InvalidArgumentError } from "commander";
import { describe, it } from "vitest";
import { resolveSlotOptions } from "../../src/async/slots";
import { limitName } from "../../src/cli/arguments";
import { resolveNames } from "../../src/client/options";
import { got, isAbortSignal } from "../../src/protocol/arguments";
import { isLimitName, NAME_RULE } from "../../src/protocol/names";

describe("got()", () => {
  it("shows a value and its type, functions by name, objects as JSON, long text cut", ({ expect }) => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;

    expect(got("yes")).toBe("`yes` (string)");
    expect(got({ a: 1 })).toBe('`{"a":1}` (object)');
    expect(got([1])).toBe("`[1]` (array)");
    expect(got(null)).toBe("`null` (null)");
    expect(got(function job() {})).toBe("`function job` (function)");
    expect(got(cycle)).toBe("`[object Object]` (object)");
    expect(got("x".repeat(100))).toBe(`\`${"x".repeat(77)}...\` (string)`);
  });

  it("recognises an AbortSignal by its shape", ({ expect }) => {
    expect(isAbortSignal(new AbortController().signal)).toBe(true);
    expect(isAbortSignal({ aborted: false, addEventListener() {} })).toBe(true);
    expect(isAbortSignal({ aborted: false })).toBe(false);
  });
});

describe("the limit-name rule", () => {
  const client = { acquire: async () => ({ release: async () => undefined, signal: new AbortController().signal }) };

  it.for(["", "a/b", "50%", "x".repeat(201)])(
    "%j is refused by the client, edge-gcl/async and the CLI alike",
    (name, { expect }) => {
      expect(isLimitName(name)).toBe(false);
      expect(() => resolveNames(name)).toThrow(`Expected \`names\` to be limit names (${NAME_RULE})`);
      expect(() => resolveSlotOptions({ client, names: name })).toThrow(`to be a limit name (${NAME_RULE})`);
      expect(() => resolveSlotOptions({ client, names: ["ok", name] })).toThrow(TypeError);
      expect(() => limitName(name)).toThrow(InvalidArgumentError);
    },
  );

  it("accepts a name of 200 characters with spaces and dots", ({ expect }) => {
    const name = `a b.c${"x".repeat(195)}`;

    expect([isLimitName(name), resolveNames(name), limitName(name)]).toEqual([true, [name], name]);
    expect(resolveSlotOptions({ client, names: name }).names).toBe(name);
  });
});
