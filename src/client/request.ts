/**
 * The client's one request-and-check: sends a call (with the transport's retries) and resolves
 * with a 2xx answer, or throws the `GclError` the failure stands for (`unavailable` when the
 * service could not be reached). Used by the administration calls and by `release()`.
 */

import type { GclError } from "../protocol/errors";
import {
  type HttpAnswer,
  type RequestOptions,
  toGclError,
  type Transport,
  unreachable,
  UnreachableError,
} from "./transport";

/** Turns an error answer into a more specific error than `toGclError` would, or leaves it (undefined). */
export type Refusal = (answer: HttpAnswer) => GclError | undefined;

/**
 * Sends `method path` and resolves with its successful answer.
 * @throws GclError for an error answer (`refusal`'s, else the server's code) or an unreachable
 * service (`unavailable`, the `UnreachableError` as its cause); the signal's reason on abort.
 */
export async function request(
  http: Transport,
  method: string,
  path: string,
  options: RequestOptions = {},
  refusal?: Refusal,
): Promise<HttpAnswer> {
  let answer: HttpAnswer;
  try {
    answer = await http.send(method, path, options);
  } catch (error) {
    throw error instanceof UnreachableError ? unreachable(error) : error;
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw refusal?.(answer) ?? toGclError(answer);
  }
  return answer;
}
