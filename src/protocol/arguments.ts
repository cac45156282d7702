/**
 * How the public entry points (`edge-gcl/client`, `edge-gcl/async`) describe and recognise the
 * arguments they are given, so their "Expected `x` to be …, got …" messages read alike.
 * Runtime-neutral: standard JavaScript only.
 */

/** Describes any value for a message, never throwing: `` `x` (string) ``, `` `{"a":1}` (object) ``. */
export function got(value: unknown): string {
  const type = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  let text: string;
  try {
    text =
      typeof value === "function"
        ? `function ${value.name || "(anonymous)"}`
        : typeof value === "object" && value !== null
          ? (JSON.stringify(value) ?? String(value))
          : String(value);
  } catch {
    // A cycle, a BigInt inside, a throwing toJSON or toString, a null prototype.
    text = Object.prototype.toString.call(value);
  }
  return `\`${text.length > 80 ? `${text.slice(0, 77)}...` : text}\` (${type})`;
}

/** Whether `value` looks like an AbortSignal; duck-typed, so a signal from another realm or a polyfill passes. */
export function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { aborted?: unknown }).aborted === "boolean" &&
    typeof (value as { addEventListener?: unknown }).addEventListener === "function"
  );
}
