/**
 * The HTTP transport: JSON over the injected `fetch` (the global one, or a service binding's), a
 * time limit per request, and answers read as status, headers and parsed body. Retries and the
 * decoding of `{detail, code}` error answers live in `./transport`, shared with RPC.
 */

import { API_PREFIX } from "../protocol/constants";
import { socketProtocols, waitPath } from "../protocol/socket";
import { type HttpAnswer, type RequestOptions, Transport, UnreachableError } from "./transport";

export {
  type HttpAnswer,
  isTransient,
  type RequestOptions,
  refusalOf,
  toGclError,
  Transport,
  unreachable,
  UnreachableError,
} from "./transport";

/** What a Workers `fetch` answers to an upgrade: the socket, to accept. */
type UpgradeResponse = { status: number; webSocket?: (WebSocket & { accept(): void }) | null };

export class HttpTransport extends Transport {
  override async openSocket(name: string): Promise<WebSocket | null> {
    return this.mayOpenSockets()
      ? openWaitingSocket(this.options, this.options.url + API_PREFIX + waitPath(name))
      : null;
  }

  override mayOpenSockets(): boolean {
    const { sockets, ownFetch } = this.options;
    return sockets && (isWorkerd() || (!ownFetch && typeof globalThis.WebSocket === "function"));
  }

  /**
   * Sends a request once.
   * @throws the caller's `signal.reason` when it aborts; UnreachableError on a network error or
   * when no answer came within the time limit.
   */
  async once(method: string, path: string, options: RequestOptions = {}): Promise<HttpAnswer> {
    const { signal } = options;
    signal?.throwIfAborted();
    const url = this.options.url + (options.fromRoot ? "" : API_PREFIX) + path;
    const timeoutMs = this.options.requestTimeoutMs + (options.extraTimeoutMs ?? 0);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new UnreachableError(`no answer from ${url} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const body = typeof options.body === "function" ? (options.body as () => unknown)() : options.body;
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
    }
    if (this.options.token !== undefined) {
      headers.authorization = `Bearer ${this.options.token}`;
    }
    // A `fetch` that ignores its signal (some polyfills and mocks do) must not hang the client.
    const stopped = new Promise<never>((_, reject) => {
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
    });
    stopped.catch(() => undefined);
    try {
      const response = await Promise.race([
        this.options.fetch(url, {
          method,
          headers,
          signal: controller.signal,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
        stopped,
      ]);
      // Once the answer has started, the server has decided (a grant may be in it): read it to
      // the end even if the caller aborts now, so the caller can give back what it was granted.
      signal?.removeEventListener("abort", onAbort);
      const text = await Promise.race([response.text(), stopped]);
      return { status: response.status, headers: response.headers, body: parseBody(text) };
    } catch (error) {
      if (signal?.aborted && !timedOut) {
        throw signal.reason;
      }
      if (timedOut) {
        throw new UnreachableError(`no answer from ${method} ${url} within ${timeoutMs / 1000} s`, { cause: error });
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new UnreachableError(`could not reach ${method} ${url}: ${message}`, { cause: error });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

/**
 * Opens a waiting socket: in Workers through the configured `fetch` (a service binding too), as
 * the runtime makes outgoing sockets; elsewhere with the global `WebSocket`, when `fetch` is the
 * global one (a custom `fetch` may not reach the same place). Null when neither can.
 */
async function openWaitingSocket(options: HttpTransport["options"], url: string): Promise<WebSocket | null> {
  const protocols = socketProtocols(options.token);
  if (isWorkerd()) {
    const headers: Record<string, string> = { Upgrade: "websocket", "Sec-WebSocket-Protocol": protocols.join(", ") };
    const response = (await options.fetch(url, { method: "GET", headers })) as unknown as UpgradeResponse;
    const socket = response.status === 101 ? response.webSocket : null;
    socket?.accept();
    return socket ?? null;
  }
  const socket = new WebSocket(url.replace(/^http/, "ws"), protocols);
  return new Promise<WebSocket | null>((resolve) => {
    const timer = setTimeout(() => settle(null), options.requestTimeoutMs);
    const settle = (result: WebSocket | null): void => {
      clearTimeout(timer);
      if (result === null) {
        socket.close();
      }
      resolve(result);
    };
    socket.addEventListener("open", () => settle(socket), { once: true });
    socket.addEventListener("error", () => settle(null), { once: true });
    socket.addEventListener("close", () => settle(null), { once: true });
  });
}

/** Workers make outgoing sockets with `fetch` (they have `WebSocketPair`). */
function isWorkerd(): boolean {
  return typeof (globalThis as { WebSocketPair?: unknown }).WebSocketPair === "function";
}

function parseBody(text: string): unknown {
  if (text === "") {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
