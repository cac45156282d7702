/**
 * The validation messages a person reads (issue 16): each problem names the field, says what is
 * wrong and what is allowed, once, in the same words for every field.
 */

import { describe, it } from "vitest";
import { GclError } from "../../src/protocol/errors";
import {
  CancelSchema,
  CreateLimitSchema,
  DecrementWithLeaseSchema,
  FilterSchema,
  IncrementSchema,
  IncrementWithLeaseSchema,
  RenewSchema,
  UpdateLimitSchema,
} from "../../src/protocol/schemas";
import { closestKey } from "../../src/protocol/suggest";
import { parseBody, type Schema } from "../../src/protocol/validation";

/** The 422 `parseBody` throws for `raw`, as `{detail, errors}`. */
function refusal(schema: Schema<unknown>, raw: unknown, required = true) {
  try {
    parseBody(schema, raw, required);
  } catch (error) {
    if (error instanceof GclError) {
      return { code: error.code, status: error.status, detail: error.message, errors: error.errors ?? [] };
    }
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("parseBody", () => {
  it("returns the typed body, without unknown keys where they are ignored", ({ expect }) => {
    expect(parseBody(CreateLimitSchema, { name: "db", limit: 5, active: false }, true)).toEqual({
      name: "db",
      limit: 5,
      active: false,
    });
    expect(parseBody(IncrementSchema, { names: ["db"], slots: 1, create_if_missing: true }, true)).toEqual({
      names: ["db"],
      slots: 1,
    });
    expect(parseBody(RenewSchema, undefined, false)).toEqual({});
    expect(parseBody(FilterSchema, { offset: 1e12 }, false)).toEqual({ offset: 1e12 });
  });

  it("refuses a missing body when one is required, saying what it must hold", ({ expect }) => {
    const { code, status, detail, errors } = refusal(CreateLimitSchema, undefined);
    expect({ code, status }).toEqual({ code: "invalid_request", status: 422 });
    expect(detail).toBe("request body is required: an object with name, limit");
    expect(errors).toEqual([{ path: "", message: detail }]);
  });

  it("refuses a body that is not an object", ({ expect }) => {
    expect(refusal(FilterSchema, [1]).errors).toEqual([
      { path: "", message: "request body must be a JSON object, got a list" },
    ]);
    expect(refusal(IncrementSchema, "db").detail).toBe('request body must be a JSON object, got "db"');
  });

  it("says a missing field is required and what it takes", ({ expect }) => {
    expect(refusal(CreateLimitSchema, { name: "db" }).errors).toEqual([
      { path: "limit", message: "is required: an integer from 0 to 1000000000" },
    ]);
    expect(refusal(IncrementSchema, {}).detail).toBe(
      'names: is required: a list of limit names, like ["db"]; slots: is required: an integer from 1 to 1000000000',
    );
    expect(refusal(CancelSchema, { names: ["a"] }).errors).toEqual([
      { path: "request_id", message: "is required: a request id (1 to 64 of A-Z a-z 0-9 - _)" },
    ]);
  });

  it("suggests the field an unknown key most likely meant", ({ expect }) => {
    expect(refusal(CreateLimitSchema, { name: "db", limits: 5 }).errors).toEqual([
      { path: "limit", message: "is required: an integer from 0 to 1000000000" },
      { path: "limits", message: 'is not a known field; did you mean "limit"?' },
    ]);
    expect(refusal(UpdateLimitSchema, { slot_decay: 1 }).errors).toEqual([
      { path: "slot_decay", message: 'is not a known field; did you mean "slot_decay_per_second"?' },
    ]);
    expect(refusal(UpdateLimitSchema, { Active: true }).errors[0]?.message).toBe(
      'is not a known field; did you mean "active"?',
    );
    expect(refusal(UpdateLimitSchema, { zzz: 1 }).errors).toEqual([
      {
        path: "zzz",
        message:
          "is not a known field; allowed fields: name, active, limit, slot_decay_per_second, active_slots, denied_slots",
      },
    ]);
    expect(
      refusal(IncrementWithLeaseSchema, { names: ["a"], slots: 1, holder: { type: "t", id: "i", ids: 1 } }).errors,
    ).toEqual([{ path: "holder.ids", message: 'is not a known field; did you mean "id"?' }]);
  });

  it("finds close keys and only close ones", ({ expect }) => {
    expect(closestKey("limits", ["name", "limit"])).toBe("limit");
    expect(closestKey("lease-duration", ["lease_duration", "slots"])).toBe("lease_duration");
    expect(closestKey("banana", ["name", "limit"])).toBeUndefined();
  });

  it("says only that an empty name is empty", ({ expect }) => {
    expect(refusal(CreateLimitSchema, { name: "", limit: 1 }).errors).toEqual([
      { path: "name", message: "must not be empty" },
    ]);
  });

  it("names the forbidden characters a name holds, once", ({ expect }) => {
    expect(refusal(CreateLimitSchema, { name: "a/b%c/", limit: 1 }).errors).toEqual([
      { path: "name", message: "must not contain / % (a name may not contain any of / % & > <)" },
    ]);
    expect(refusal(IncrementSchema, { names: ["ok", "50%"], slots: 1 }).errors).toEqual([
      { path: "names.1", message: "must not contain % (a name may not contain any of / % & > <)" },
    ]);
  });

  it("gives the length limit and the length received for a long name", ({ expect }) => {
    expect(refusal(CreateLimitSchema, { name: "n".repeat(201), limit: 1 }).errors).toEqual([
      { path: "name", message: "must be at most 200 characters, got 201" },
    ]);
  });

  it("reads a route's word as a name to acquire (the route refuses it only as a new limit's name)", ({ expect }) => {
    expect(parseBody(IncrementSchema, { names: ["filter"], slots: 1 }, true).names).toEqual(["filter"]);
  });

  it("refuses a decay too small to mean anything, once and in the same words", ({ expect }) => {
    expect(refusal(CreateLimitSchema, { name: "db", limit: 1, slot_decay_per_second: 1e-9 }).errors).toEqual([
      {
        path: "slot_decay_per_second",
        message: "must be 0 (no decay) or at least 0.000001 (one slot in 11.6 days), got 1e-9",
      },
    ]);
    expect(refusal(UpdateLimitSchema, { slot_decay_per_second: -1 }).errors).toEqual([
      { path: "slot_decay_per_second", message: "must be a number from 0 to 1000000000, got -1" },
    ]);
    expect(parseBody(UpdateLimitSchema, { slot_decay_per_second: 0 }, true)).toEqual({ slot_decay_per_second: 0 });
  });

  it("words number problems the same way for every field: allowed range and value received", ({ expect }) => {
    const errors = refusal(CreateLimitSchema, {
      name: "db",
      limit: -1,
      active_slots: 1.5,
      denied_slots: "2",
      slot_decay_per_second: -0.5,
      active: "yes",
    }).errors;
    expect(errors).toEqual([
      { path: "limit", message: "must be an integer from 0 to 1000000000, got -1" },
      { path: "active", message: 'must be true or false, got "yes"' },
      { path: "slot_decay_per_second", message: "must be a number from 0 to 1000000000, got -0.5" },
      { path: "active_slots", message: "must be an integer from 0 to 1000000000, got 1.5" },
      { path: "denied_slots", message: 'must be an integer from 0 to 1000000000, got "2"' },
    ]);
    expect(
      refusal(IncrementWithLeaseSchema, { names: ["a"], slots: 0, wait_seconds: 61, lease_duration: null }).errors,
    ).toEqual([
      { path: "slots", message: "must be an integer from 1 to 1000000000, got 0" },
      { path: "wait_seconds", message: "must be a number from 0 to 60, got 61" },
      { path: "lease_duration", message: "must be a number from 1 to 86400, got null" },
    ]);
    expect(refusal(FilterSchema, { limit: 201, offset: -1 }).errors).toEqual([
      { path: "limit", message: "must be an integer from 0 to 200, got 201" },
      { path: "offset", message: "must be an integer of at least 0, got -1" },
    ]);
  });

  it("lists the allowed values of an enum-like field", ({ expect }) => {
    expect(refusal(IncrementSchema, { names: ["a"], slots: 1, mode: "rate" }).errors).toEqual([
      { path: "mode", message: 'must be one of "concurrency", "rate_limit", got "rate"' },
    ]);
    expect(refusal(CreateLimitSchema, { name: "db", limit: 1, location_hint: "mars" }).errors).toEqual([
      {
        path: "location_hint",
        message: 'must be one of "wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me", got "mars"',
      },
    ]);
  });

  it("accepts a location hint on create", ({ expect }) => {
    expect(parseBody(CreateLimitSchema, { name: "db", limit: 1, location_hint: "weur" }, true)).toMatchObject({
      location_hint: "weur",
    });
  });

  it("shows how a list of names is written when given a single name", ({ expect }) => {
    expect(refusal(IncrementSchema, { names: "db", slots: 1 }).errors).toEqual([
      { path: "names", message: 'must be a list of limit names, like ["db"], got "db"' },
    ]);
  });

  it("counts distinct names against the 32-name bound", ({ expect }) => {
    const names = Array.from({ length: 33 }, (_, i) => `n${i}`);
    expect(refusal(IncrementSchema, { names, slots: 1 }).errors).toEqual([
      { path: "names", message: "must list at most 32 distinct names, got 33" },
    ]);
    expect(parseBody(IncrementSchema, { names: [...names.slice(0, 32), "n0"], slots: 1 }, true).names).toHaveLength(33);
  });

  it("checks request ids and lease ids", ({ expect }) => {
    expect(refusal(CancelSchema, { names: ["a"], request_id: "a b" }).errors).toEqual([
      { path: "request_id", message: 'must be 1 to 64 of A-Z a-z 0-9 - _, got "a b"' },
    ]);
    expect(refusal(DecrementWithLeaseSchema, { lease_id: "" }).errors).toEqual([
      { path: "lease_id", message: "must not be empty" },
    ]);
    expect(refusal(DecrementWithLeaseSchema, { lease_id: 5 }).errors).toEqual([
      { path: "lease_id", message: "must be a lease id from /increment-with-lease, got 5" },
    ]);
  });

  it("shortens long values and does not print objects", ({ expect }) => {
    const [error] = refusal(IncrementSchema, { names: ["a"], slots: "x".repeat(500) }).errors;
    expect(error?.message.length).toBeLessThan(150);
    expect(error?.message).toMatch(/, got "x{57}\.\.\."$/);
    expect(refusal(IncrementSchema, { names: ["a"], slots: { n: 1 } }).errors[0]?.message).toBe(
      "must be an integer from 1 to 1000000000, got an object",
    );
  });

  it("lists at most 20 problems and counts the rest", ({ expect }) => {
    const body = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`junk${i}`, i]));
    const { detail, errors } = refusal(CreateLimitSchema, { name: "db", limit: 1, ...body });
    expect(errors).toHaveLength(21);
    expect(errors[20]).toEqual({ path: "", message: "and 480 more problems" });
    expect(detail.endsWith("; and 480 more problems")).toBe(true);
  });

  it("puts every problem, each once, into detail as `path: message`", ({ expect }) => {
    const { detail, errors } = refusal(CreateLimitSchema, { name: "", limits: 1 });
    expect(errors).toHaveLength(3);
    expect(detail).toBe(errors.map((e) => `${e.path}: ${e.message}`).join("; "));
  });
});
