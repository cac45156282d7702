/**
 * The waiting sockets of one limit object (DESIGN §7.2, `protocol/socket.ts`). Accepted with the
 * Hibernation API, so the object may sleep while they wait: the ticket each one waits on lives in
 * the socket's attachment, which survives hibernation, and is read back when the object wakes.
 * Translates socket messages into engine calls and engine pushes into messages; a socket that
 * closes or fails gives back its place or its offer at once.
 */

import { oneNameResult } from "../coordinator/acquire";
import type { AcquireCall, AcquireOutcome, LimitEngine, SocketArrival, SocketWaits } from "../core/engine";
import { encodeLeaseId } from "../core/lease-id";
import { leaseGrant, refusal, acquireRequest } from "../operations/slots";
import { GclError } from "../protocol/errors";
import { IncrementSchema, IncrementWithLeaseSchema } from "../protocol/schemas";
import { type ServerMessage, SOCKET_PROTOCOL, type SocketGrant } from "../protocol/socket";
import { parseBody } from "../protocol/validation";

/** What a socket's attachment keeps: its limit, its request, and the ticket it waits on. */
interface SocketState {
  name: string;
  kind: "lease" | "increment";
  leaseMs: number;
  ticket: string | null;
}

/** Keep-alive pings are answered by the runtime without waking the object. */
const PING = '{"op":"ping"}';
const PONG = '{"type":"pong"}';

export class WaitingSockets implements SocketWaits {
  readonly #ctx: DurableObjectState;
  readonly #byTicket = new Map<string, WebSocket>();
  readonly #now: () => number;
  /** Set once the engine exists (it asks this object which tickets have sockets as it loads). */
  engine: LimitEngine | null = null;

  constructor(ctx: DurableObjectState, now: () => number) {
    this.#ctx = ctx;
    this.#now = now;
    for (const socket of ctx.getWebSockets()) {
      const ticket = stateOf(socket)?.ticket;
      if (ticket) {
        this.#byTicket.set(ticket, socket);
      }
    }
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** Accepts the upgrade of `GET …/{name}/wait` (the Worker checked auth and the name). */
  accept(request: Request): Response {
    // `…/{name}/wait`, with or without a trailing slash.
    const name = decodeURIComponent(/([^/]+)\/wait\/?$/.exec(new URL(request.url).pathname)?.[1] ?? "");
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.#ctx.acceptWebSocket(server);
    server.serializeAttachment({ name, kind: "lease", leaseMs: 0, ticket: null } satisfies SocketState);
    const offered = (request.headers.get("Sec-WebSocket-Protocol") ?? "").split(",").map((p) => p.trim());
    const headers = offered.includes(SOCKET_PROTOCOL) ? { "Sec-WebSocket-Protocol": SOCKET_PROTOCOL } : undefined;
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  has(ticket: string): boolean {
    return this.#byTicket.has(ticket);
  }

  offer(ticket: string, grant: Extract<AcquireOutcome, { status: "granted" }>, confirmUntil: number): void {
    const socket = this.#byTicket.get(ticket);
    const state = socket && stateOf(socket);
    if (socket && state) {
      const seconds = Math.max(0, confirmUntil - this.#now()) / 1000;
      send(socket, { type: "offer", grant: this.#grantBody(state, grant, ticket), confirm_within_seconds: seconds });
    }
  }

  async message(socket: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const state = stateOf(socket);
    if (!state) {
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
    } catch {
      return this.#refuse(socket, new GclError("invalid_json", "a socket message must be JSON"));
    }
    const op = (message as { op?: unknown } | null)?.op;
    if (op === "acquire" && state.ticket === null) {
      return this.#acquire(socket, state, message as { kind?: unknown; request?: unknown });
    }
    if (op === "confirm" && state.ticket !== null) {
      return this.#confirm(socket, state, state.ticket);
    }
    if (op === "cancel") {
      await this.closed(socket);
      return socket.close(1000, "cancelled");
    }
    const allowed = state.ticket === null ? "acquire or cancel" : "confirm or cancel";
    this.#refuse(socket, new GclError("invalid_request", `op: expected ${allowed} here, got ${JSON.stringify(op)}`));
  }

  /** The socket closed or failed: whatever it still waits on goes back at once. */
  async closed(socket: WebSocket): Promise<void> {
    const ticket = stateOf(socket)?.ticket;
    if (ticket) {
      this.#unbind(socket, ticket);
      await this.#engine().socketGone(ticket);
    }
  }

  async #acquire(socket: WebSocket, state: SocketState, message: { kind?: unknown; request?: unknown }): Promise<void> {
    const kind = message.kind;
    if (kind !== "lease" && kind !== "increment") {
      return this.#refuse(socket, new GclError("invalid_request", 'kind: expected "lease" or "increment"'));
    }
    let request: ReturnType<typeof acquireRequest>;
    try {
      const raw = message.request;
      if (raw !== null && typeof raw === "object" && ("names" in raw || "wait_seconds" in raw)) {
        throw new GclError(
          "invalid_request",
          "request: names and wait_seconds come from the socket (its URL; it waits until it cancels)",
        );
      }
      const body = { ...(raw as object), names: [state.name] };
      request = acquireRequest(
        parseBody(kind === "lease" ? IncrementWithLeaseSchema : IncrementSchema, body, true),
        kind,
      );
    } catch (error) {
      return this.#refuse(socket, error instanceof GclError ? error : new GclError("invalid_request", String(error)));
    }
    const ticket = crypto.randomUUID();
    const call: AcquireCall = {
      ticket,
      requestId: request.requestId,
      kind,
      leaseId: kind === "lease" ? encodeLeaseId(ticket, [state.name]) : null,
      slots: request.slots,
      mode: request.mode,
      leaseMs: request.leaseMs,
      holder: request.holder,
      waitMs: 0,
    };
    const next: SocketState = { ...state, kind, leaseMs: request.leaseMs };
    const arrival: SocketArrival = await this.#engine().arriveBySocket(call);
    if (arrival.status === "queued") {
      this.#bind(socket, { ...next, ticket: arrival.ticket });
      send(socket, { type: "queued", position: arrival.position });
      // Come back to a place that was served while the socket was away: offer it now.
      const waiting = this.#engine().state.tickets.get(arrival.ticket);
      if (waiting && waiting.offerUntil !== null && !waiting.pending) {
        const outcome = await this.#engine().confirm(arrival.ticket);
        this.#answerConfirm(socket, next, arrival.ticket, outcome);
      }
      return;
    }
    const result = oneNameResult(arrival, state.name, ticket, request.leaseMs, this.#now());
    if (result.status !== "granted") {
      return this.#refuse(socket, refusal(result));
    }
    send(socket, { type: "granted", grant: grantBodyOf(kind, result) });
    socket.close(1000, "granted");
  }

  async #confirm(socket: WebSocket, state: SocketState, ticket: string): Promise<void> {
    this.#answerConfirm(socket, state, ticket, await this.#engine().confirm(ticket));
  }

  #answerConfirm(socket: WebSocket, state: SocketState, ticket: string, outcome: AcquireOutcome | null): void {
    this.#unbind(socket, ticket);
    if (outcome?.status !== "granted") {
      // Not confirmed in time: the offer went back, and the request with it.
      const detail =
        "the offer was not confirmed in time and went to the next in line; ask again with a new request_id";
      this.#refuse(socket, new GclError("locked", detail, { retryAfterSeconds: 0 }));
      return;
    }
    send(socket, { type: "confirmed", grant: this.#grantBody(state, outcome, ticket) });
    socket.close(1000, "granted");
  }

  #grantBody(state: SocketState, grant: AcquireOutcome, ticket: string): SocketGrant {
    const result = oneNameResult(grant, state.name, ticket, state.leaseMs, this.#now());
    return result.status === "granted" ? grantBodyOf(state.kind, result) : [];
  }

  #refuse(socket: WebSocket, error: GclError): void {
    const retry = error.retryAfterSeconds === undefined ? {} : { retry_after_seconds: error.retryAfterSeconds };
    send(socket, { type: "refused", status: error.status, error: error.toBody(), ...retry });
    socket.close(1000, error.code);
  }

  #bind(socket: WebSocket, state: SocketState & { ticket: string }): void {
    socket.serializeAttachment(state);
    this.#byTicket.set(state.ticket, socket);
  }

  #unbind(socket: WebSocket, ticket: string): void {
    const state = stateOf(socket);
    if (state) {
      socket.serializeAttachment({ ...state, ticket: null });
    }
    if (this.#byTicket.get(ticket) === socket) {
      this.#byTicket.delete(ticket);
    }
  }

  #engine(): LimitEngine {
    if (!this.engine) {
      throw new Error("the limit object's engine is not ready");
    }
    return this.engine;
  }
}

function stateOf(socket: WebSocket): SocketState | null {
  return (socket.deserializeAttachment() as SocketState | null) ?? null;
}

function grantBodyOf(kind: "lease" | "increment", result: Parameters<typeof leaseGrant>[0]): SocketGrant {
  return kind === "lease" ? leaseGrant(result) : result.limits.map(({ limit }) => limit);
}

function send(socket: WebSocket, message: ServerMessage): void {
  try {
    socket.send(JSON.stringify(message));
  } catch {
    // Closed meanwhile: its close handler gives back what it waited on.
  }
}
