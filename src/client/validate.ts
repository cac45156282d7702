/**
 * Argument checks of the client's option resolvers: each throws a TypeError or RangeError whose
 * message names the option, says what was expected and shows what was given.
 */

import { MAX_HOLDER_TYPE_LENGTH, MAX_NAME_LENGTH } from "../protocol/constants";
import { got } from "../protocol/arguments";
import type { LeaseHolder } from "../protocol/types";

export function expectObject(value: unknown, label: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${label}\` to be an object, got ${got(value)}`);
  }
}

export function expectNumber(
  value: unknown,
  label: string,
  bounds: { min: number; max?: number; exclusiveMin?: boolean; minLabel?: string },
): asserts value is number {
  const tooSmall = typeof value === "number" && (bounds.exclusiveMin ? value <= bounds.min : value < bounds.min);
  const tooLarge = typeof value === "number" && bounds.max !== undefined && value > bounds.max;
  if (typeof value !== "number" || !Number.isFinite(value) || tooSmall || tooLarge) {
    const min = bounds.minLabel ?? String(bounds.min);
    const range =
      bounds.max === undefined ? `${bounds.exclusiveMin ? ">" : ">="} ${min}` : `between ${min} and ${bounds.max}`;
    throw new RangeError(`Expected \`${label}\` to be a finite number ${range}, got ${got(value)}`);
  }
}

export function expectInteger(value: unknown, label: string, min: number, max?: number): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
    throw new RangeError(`Expected \`${label}\` to be an integer ${range}, got ${got(value)}`);
  }
}

export function isHttpUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

export function isHolder(value: unknown): value is LeaseHolder {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const { type, id } = value as Partial<Record<keyof LeaseHolder, unknown>>;
  return (
    typeof type === "string" &&
    type.length > 0 &&
    type.length <= MAX_HOLDER_TYPE_LENGTH &&
    typeof id === "string" &&
    id.length > 0 &&
    id.length <= MAX_NAME_LENGTH
  );
}
