/**
 * Limit names and ids on the wire: Prefect's name rule (V-1), what a URL path segment means (an id
 * when UUID-shaped, else a name), and the names a URL could not address. Runtime-neutral: shared
 * by the Worker, the client and the CLI.
 */

import { MAX_NAME_LENGTH, NAME_PATTERN } from "./constants";

/** A limit id, as Prefect clients address limits (reference A-0). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Path segments under the API prefix that are routes, never limit names. */
export const RESERVED_NAMES: readonly string[] = [
  "filter",
  "increment",
  "increment-with-lease",
  "decrement",
  "decrement-with-lease",
  "cancel",
  "leases",
];

/** The characters a limit name may not contain, as messages list them. */
export const FORBIDDEN_IN_NAMES = "/ % & > <";

/** Prefect's name rule in words, for messages: "1 to 200 characters, none of / % & > <". */
export const NAME_RULE = `1 to ${MAX_NAME_LENGTH} characters, none of ${FORBIDDEN_IN_NAMES}`;

/** Whether `name` is a string that follows Prefect's rule: 1 to 200 characters, none of `/ % & > <`. */
export function isLimitName(name: unknown): name is string {
  return typeof name === "string" && name.length > 0 && name.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(name);
}

/**
 * Why a limit could not be created under `name` although the name is valid in a request body:
 * `GET /{name}` would mean something else. Null when it is addressable.
 */
export function unaddressableName(name: string): string | null {
  if (name === "." || name === "..") {
    return `'${name}' cannot be a limit name: URLs resolve it as a path step, so the limit could not be read or deleted`;
  }
  if (UUID_PATTERN.test(name)) {
    return "a UUID cannot be a limit name: in a URL it is read as a limit's id";
  }
  if (RESERVED_NAMES.includes(name)) {
    return `'${name}' cannot be a limit name: it is the name of a route (reserved: ${RESERVED_NAMES.join(", ")})`;
  }
  return null;
}
