/**
 * A small typed schema module: each schema validates a decoded JSON value into its TypeScript type
 * and describes itself as JSON Schema for the OpenAPI document (built at build time by
 * `scripts/openapi.mjs`). It replaces zod in the Worker: a few kilobytes instead of hundreds, and
 * messages written for people. Every problem is one message, worded the same way for every field:
 * the field (`path`), what is wrong, and what is allowed.
 *
 * Runtime-neutral: imports nothing but the error contract and `./suggest`.
 */

import { type FieldError, GclError } from "./errors";
import { closestKey } from "./suggest";

/** A JSON Schema fragment (OpenAPI 3.0 dialect). */
export type JsonSchema = { [key: string]: unknown };

export interface Schema<T> {
  /** What a valid value is, in words: `an integer from 0 to 1000000000`. */
  readonly expected: string;
  /** Set on optional object fields. */
  readonly optional?: true;
  /** The OpenAPI component this schema is published as. */
  readonly component?: string;
  /** Checks `value` found at `path`; on a problem, appends it to `issues` (the result is then unused). */
  check(value: unknown, path: string, issues: FieldError[]): T;
  /** JSON Schema of this value; `ref` renders a child (as a `$ref` when it is a named component). */
  toJson(ref: (child: Schema<unknown>) => JsonSchema): JsonSchema;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

/** Shows a received value briefly, JSON-like: `"5"`, `1.5`, `null`, `a list`, `an object`. */
export function shown(value: unknown): string {
  if (Array.isArray(value)) {
    return "a list";
  }
  if (typeof value === "object" && value !== null) {
    return "an object";
  }
  if (typeof value === "string") {
    // Cut inside the quotes, so the value shown stays one quoted string.
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  return String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A schema built from its parts; `check` returns the value itself when it fits. */
function leaf<T>(expected: string, json: JsonSchema, problem: (value: unknown) => string | undefined): Schema<T> {
  return {
    expected,
    check(value, path, issues) {
      const message = problem(value);
      if (message !== undefined) {
        issues.push({ path, message });
      }
      return value as T;
    },
    toJson: () => json,
  };
}

const mustBe = (expected: string, value: unknown) => `must be ${expected}, got ${shown(value)}`;

/** A whole number in `[min, max]` (no upper bound without `max`). */
export function int(min: number, max?: number): Schema<number> {
  const expected = max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
  return leaf(expected, { type: "integer", minimum: min, ...(max === undefined ? {} : { maximum: max }) }, (value) =>
    Number.isSafeInteger(value) && (value as number) >= min && (max === undefined || (value as number) <= max)
      ? undefined
      : mustBe(expected, value),
  );
}

/** A finite number in `[min, max]` (fractions allowed). */
export function number(min: number, max?: number): Schema<number> {
  const expected = max === undefined ? `a number of at least ${min}` : `a number from ${min} to ${max}`;
  return leaf(expected, { type: "number", minimum: min, ...(max === undefined ? {} : { maximum: max }) }, (value) =>
    typeof value === "number" && Number.isFinite(value) && value >= min && (max === undefined || value <= max)
      ? undefined
      : mustBe(expected, value),
  );
}

export function boolean(): Schema<boolean> {
  return leaf("true or false", { type: "boolean" }, (value) =>
    typeof value === "boolean" ? undefined : mustBe("true or false", value),
  );
}

/** One of a few fixed strings. */
export function oneOf<const T extends string>(values: readonly T[]): Schema<T> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
  return leaf(expected, { type: "string", enum: [...values] }, (value) =>
    values.includes(value as T) ? undefined : mustBe(expected, value),
  );
}

export interface StringRules {
  /** In words, for messages: `a limit name`. */
  expected: string;
  minLength?: number;
  maxLength?: number;
  /** Checked after the length; returns what is wrong, or undefined. */
  rule?: (value: string) => string | undefined;
  /** Only for the OpenAPI document. */
  json?: JsonSchema;
}

/** A string: empty, too long and rule-breaking values each get their own single message. */
export function string(rules: StringRules): Schema<string> {
  const { expected, minLength = 0, maxLength } = rules;
  const json: JsonSchema = {
    type: "string",
    ...(minLength > 0 ? { minLength } : {}),
    ...(maxLength === undefined ? {} : { maxLength }),
    ...rules.json,
  };
  return leaf(expected, json, (value) => {
    if (typeof value !== "string") {
      return mustBe(expected, value);
    }
    if (value.length < minLength) {
      return value.length === 0 ? "must not be empty" : `must be at least ${minLength} characters, got ${value.length}`;
    }
    if (maxLength !== undefined && value.length > maxLength) {
      return `must be at most ${maxLength} characters, got ${value.length}`;
    }
    return rules.rule?.(value);
  });
}

/** Any string. */
export function text(json: JsonSchema = {}): Schema<string> {
  return string({ expected: "a string", json });
}

/** A field of a response, for the OpenAPI document only: the Worker never checks its own answers. */
export function documented<T>(json: JsonSchema): Schema<T> {
  return { expected: "", check: (value) => value as T, toJson: () => json };
}

/** A list of `item`; `maxDistinct` counts values after de-duplication, as requests are served. */
export function list<T>(
  item: Schema<T>,
  options: { expected?: string; maxDistinct?: number; noun?: string } = {},
): Schema<T[]> {
  const expected = options.expected ?? `a list of ${item.expected}`;
  return {
    expected,
    check(value, path, issues) {
      if (!Array.isArray(value)) {
        issues.push({ path, message: mustBe(expected, value) });
        return [];
      }
      value.forEach((entry, index) => {
        item.check(entry, `${path}.${index}`, issues);
      });
      const { maxDistinct, noun = "values" } = options;
      if (maxDistinct !== undefined && new Set(value).size > maxDistinct) {
        issues.push({ path, message: `must list at most ${maxDistinct} distinct ${noun}, got ${new Set(value).size}` });
      }
      return value as T[];
    },
    toJson: (ref) => ({ type: "array", items: ref(item) }),
  };
}

/** `schema` with one more rule, checked once `schema` accepts the value; returns what is wrong, or undefined. */
export function refine<T>(schema: Schema<T>, rule: (value: T) => string | undefined): Schema<T> {
  return {
    ...schema,
    check(value, path, issues) {
      const before = issues.length;
      const checked = schema.check(value, path, issues);
      const message = issues.length === before ? rule(checked) : undefined;
      if (message !== undefined) {
        issues.push({ path, message });
      }
      return checked;
    },
  };
}

/** `schema`, or an absent field. */
export function optional<T>(schema: Schema<T>): Schema<T | undefined> & { optional: true } {
  return { ...schema, optional: true };
}

/** `schema` or `null`. */
export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return {
    expected: `${schema.expected} or null`,
    check: (value, path, issues) => (value === null ? null : schema.check(value, path, issues)),
    toJson: (ref) => ({ ...ref(schema), nullable: true }),
  };
}

/** Publishes `schema` as the OpenAPI component `name`. */
export function named<S extends Schema<unknown>>(name: string, schema: S): S {
  return { ...schema, component: name };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type Flatten<T> = { [K in keyof T]: T[K] };
export type ObjectOf<S extends Shape> = Flatten<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

/**
 * A JSON object with the fields of `shape`. `strict` objects refuse unknown fields (create and
 * update, where a typo would silently change nothing); others ignore them, as Prefect does.
 */
export function object<S extends Shape>(shape: S, options: { strict?: boolean } = {}): Schema<ObjectOf<S>> {
  const keys = Object.keys(shape);
  const required = keys.filter((key) => shape[key]?.optional !== true);
  const expected = required.length > 0 ? `an object with ${required.join(", ")}` : "an object";
  return {
    expected,
    check(value, path, issues) {
      const at = (key: string) => (path ? `${path}.${key}` : key);
      if (!isPlainObject(value)) {
        issues.push({
          path,
          message: path ? mustBe(expected, value) : `request body ${mustBe(`a JSON object`, value)}`,
        });
        return value as ObjectOf<S>;
      }
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        const field = shape[key];
        const given = value[key];
        if (field === undefined) {
          continue;
        }
        if (given === undefined) {
          if (field.optional !== true) {
            issues.push({ path: at(key), message: `is required: ${field.expected}` });
          }
          continue;
        }
        out[key] = field.check(given, at(key), issues);
      }
      if (options.strict) {
        for (const key of Object.keys(value)) {
          if (!Object.hasOwn(shape, key)) {
            const guess = closestKey(key, keys);
            const hint = guess ? `did you mean "${guess}"?` : `allowed fields: ${keys.join(", ")}`;
            issues.push({ path: at(key), message: `is not a known field; ${hint}` });
          }
        }
      }
      return out as ObjectOf<S>;
    },
    toJson(ref) {
      const properties: Record<string, JsonSchema> = {};
      for (const key of keys) {
        const field = shape[key];
        if (field) {
          properties[key] = ref(field);
        }
      }
      return {
        type: "object",
        properties,
        ...(required.length > 0 ? { required } : {}),
        ...(options.strict ? { additionalProperties: false } : {}),
      };
    },
  };
}

/** Problems listed in one answer; the rest are counted. */
const MAX_REPORTED_PROBLEMS = 20;

/**
 * The one validation entry point: `raw` (a decoded JSON body, `undefined` when there was none)
 * checked against `schema`, or a 422 `invalid_request` listing every problem.
 */
export function parseBody<T>(schema: Schema<T>, raw: unknown, required: boolean): T {
  if (raw === undefined) {
    if (required) {
      const message = `request body is required: ${schema.expected}`;
      throw new GclError("invalid_request", message, { errors: [{ path: "", message }] });
    }
    raw = {};
  }
  const found: FieldError[] = [];
  const value = schema.check(raw, "", found);
  if (found.length === 0) {
    return value;
  }
  // A body of thousands of unknown keys must not become an answer ten times its size.
  const issues = found.slice(0, MAX_REPORTED_PROBLEMS);
  if (found.length > MAX_REPORTED_PROBLEMS) {
    issues.push({ path: "", message: `and ${found.length - MAX_REPORTED_PROBLEMS} more problems` });
  }
  const detail = issues.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join("; ");
  throw new GclError("invalid_request", detail, { errors: issues });
}
