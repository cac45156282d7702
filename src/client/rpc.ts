/**
 * The RPC transport: the client's API calls as RPC method calls on a service binding to edge-gcl
 * (`createClient({ binding: env.GCL })`), with no HTTP or JSON on the way. The HTTP route table
 * is the client's vocabulary of calls, so this file maps each route to its method of `GclRpc`
 * and each `{ ok, value | error }` result back to the answer the HTTP route would give (same
 * status, same body, `Retry-After` from `retry_after_seconds`): everything above the transport
 * works unchanged, errors included.
 */

import { STATUS_BY_CODE } from "../protocol/errors";
import type { GclRpc, RpcResult } from "../protocol/rpc";
import type { FetchResponse, ResolvedClientOptions } from "./options";
import { type HttpAnswer, type RequestOptions, Transport, UnreachableError } from "./transport";

const NO_HEADERS: FetchResponse["headers"] = { get: () => null };

/** The RPC method a route is served by, called with the route's arguments. */
function dispatch(rpc: GclRpc, method: string, path: string, body: unknown): Promise<RpcResult<unknown>> | undefined {
  // The bodies are the routes' bodies; the server validates them as it does for HTTP.
  const input = body as never;
  if (method === "POST") {
    // The fixed paths first, without parsing: they are the hot path.
    switch (path) {
      case "/increment-with-lease":
        return rpc.acquire(input);
      case "/decrement-with-lease":
        return rpc.release((body as { lease_id?: never } | undefined)?.lease_id as never);
      case "/increment":
        return rpc.increment(input);
      case "/decrement":
        return rpc.decrement(input);
      case "/cancel":
        return rpc.cancel(input);
      case "/filter":
        return rpc.listLimits(input);
      case "/":
        return rpc.createLimit(input);
    }
  }
  const parts = path.split("/").slice(1).map(decodeURIComponent);
  const [first = "", second = "", third] = parts;
  if (method === "POST" && parts.length === 3 && first === "leases" && third === "renew") {
    return rpc.renew(second, input);
  }
  if (parts.length === 1 && first !== "") {
    switch (method) {
      case "GET":
        return rpc.getLimit(first);
      case "PATCH":
        return rpc.updateLimit(first, input);
      case "DELETE":
        return rpc.deleteLimit(first);
    }
  }
  if (method === "GET" && parts.length === 2 && second === "leases") {
    return rpc.limitLeases(first);
  }
  return undefined;
}

/** The answer the HTTP route would have given for `result`. */
function toAnswer(result: RpcResult<unknown>): HttpAnswer {
  if (result.ok) {
    return { status: 200, headers: NO_HEADERS, body: result.value ?? undefined };
  }
  const { retry_after_seconds: retryAfter, ...body } = result.error;
  const retryAfterHeader = retryAfter === undefined ? null : retryAfter.toFixed(3);
  return {
    status: STATUS_BY_CODE[body.code] ?? 500,
    headers: { get: (name) => (name.toLowerCase() === "retry-after" ? retryAfterHeader : null) },
    body,
  };
}

function notRpc(what: string, cause: unknown): TypeError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new TypeError(
    `could not call ${what} (${message}): \`binding\` must be a service binding to an edge-gcl Worker with RPC, from a Worker whose compatibility_date is 2024-04-03 or later`,
    { cause },
  );
}

function isResult(value: unknown): value is RpcResult<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { ok?: unknown }).ok === "boolean";
}

export class RpcTransport extends Transport {
  readonly #rpc: GclRpc;

  constructor(binding: object, options: ResolvedClientOptions) {
    super(options);
    // A service binding is a proxy: every method name resolves to a remote call.
    this.#rpc = binding as GclRpc;
  }

  async once(method: string, path: string, options: RequestOptions = {}): Promise<HttpAnswer> {
    const { signal } = options;
    signal?.throwIfAborted();
    const body = typeof options.body === "function" ? (options.body as () => unknown)() : options.body;
    const timeoutMs = this.options.requestTimeoutMs + (options.extraTimeoutMs ?? 0);
    const what = `${method} ${path} over the service binding`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    // An RPC call cannot be cancelled from here; the caller stops waiting for it instead, and the
    // layer above withdraws what it may have started (by `request_id`), as it does for HTTP.
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new UnreachableError(`no answer to ${what} within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      onAbort = () => reject(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    stopped.catch(() => undefined);
    try {
      let call: Promise<RpcResult<unknown>> | undefined;
      try {
        call = dispatch(this.#rpc, method, path, body);
      } catch (error) {
        // A plain object, or a Fetcher from before Workers RPC: it has no such method at all.
        throw notRpc(what, error);
      }
      if (call === undefined) {
        // History and metrics are read over HTTP only (an operator's view, not a Worker's hot path).
        const detail = `${method} ${path} is not served over the service binding; use createClient({ url }) for it`;
        return { status: 404, headers: new Headers(), body: { detail, code: "route_not_found" } };
      }
      const result = await Promise.race([
        call.catch((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          if (/does not implement/i.test(message)) {
            // An edge-gcl (or another Worker) without these methods: retrying cannot help.
            throw notRpc(what, error);
          }
          // Thrown, not answered: the binding failed (connection lost, the service restarting).
          // Retried like a network error.
          throw new UnreachableError(`could not call ${what}: ${message}`, { cause: error });
        }),
        stopped,
      ]);
      if (!isResult(result)) {
        throw new UnreachableError(`unexpected answer to ${what} (is the binding an edge-gcl Worker?)`);
      }
      return toAnswer(result);
    } finally {
      if (timer !== undefined) {
        clearTimeout(timer);
      }
      if (onAbort !== undefined) {
        signal?.removeEventListener("abort", onAbort);
      }
    }
  }
}
