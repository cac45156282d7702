/**
 * Waiting over a WebSocket (DESIGN §7.2): the messages of `GET /{name}/wait`, shared by the limit
 * object that accepts the socket (hibernatable: it costs nothing while it waits) and the client.
 *
 * The client sends one `acquire`; the object answers `granted` (held now), `refused`, or `queued`.
 * A queued request's grant is pushed later as an `offer`, which holds only once the client sends
 * `confirm` and is answered `confirmed`; an offer not confirmed within `confirm_within_seconds`
 * goes back to the line. `cancel`, or closing the socket, withdraws the request at once. A
 * reconnect that sends the same `request_id` comes back to its place (or its offer).
 *
 * Browsers cannot set headers on a WebSocket, so the token rides in a subprotocol:
 * `Sec-WebSocket-Protocol: edge-gcl.v1, edge-gcl.auth.<base64url(token)>`.
 */

import type { ErrorBody } from "./errors";
import type { IncrementWithLeaseBody, LeaseGrant, MinimalLimit } from "./types";

/** The subprotocol every waiting socket speaks; the server selects it. */
export const SOCKET_PROTOCOL = "edge-gcl.v1";
/** Prefix of the subprotocol that carries the token, base64url-encoded without padding. */
export const SOCKET_AUTH_PREFIX = "edge-gcl.auth.";

/** The path of the waiting socket of limit `name`, under the API prefix. */
export function waitPath(name: string): string {
  return `/${encodeURIComponent(name)}/wait`;
}

/** `kind`: a lease (`/increment-with-lease`) or slots without one (`/increment`). */
export type SocketRequest = {
  op: "acquire";
  kind: "lease" | "increment";
  /** The request body of the matching route without `names` (the socket's limit) or `wait_seconds`. */
  request: Omit<IncrementWithLeaseBody, "names" | "wait_seconds">;
};

export type ClientMessage = SocketRequest | { op: "confirm" } | { op: "cancel" };

/** A grant as the matching HTTP route answers it. */
export type SocketGrant = LeaseGrant | MinimalLimit[];

export type ServerMessage =
  | { type: "queued"; position: number }
  | { type: "granted"; grant: SocketGrant }
  | { type: "offer"; grant: SocketGrant; confirm_within_seconds: number }
  | { type: "confirmed"; grant: SocketGrant }
  | { type: "refused"; status: number; error: ErrorBody; retry_after_seconds?: number };

/** The subprotocols a client offers: the protocol, and the token when it has one. */
export function socketProtocols(token: string | undefined): string[] {
  return token === undefined ? [SOCKET_PROTOCOL] : [SOCKET_PROTOCOL, SOCKET_AUTH_PREFIX + base64Url(token)];
}

/** The token carried in a `Sec-WebSocket-Protocol` header, if any (undefined when none or undecodable). */
export function socketToken(header: string | null | undefined): string | undefined {
  const offered = (header ?? "").split(",").map((protocol) => protocol.trim());
  const encoded = offered.find((protocol) => protocol.startsWith(SOCKET_AUTH_PREFIX))?.slice(SOCKET_AUTH_PREFIX.length);
  if (!encoded || !/^[A-Za-z0-9_-]+$/.test(encoded)) {
    return undefined;
  }
  try {
    const binary = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}

function base64Url(text: string): string {
  const binary = Array.from(new TextEncoder().encode(text), (byte) => String.fromCharCode(byte)).join("");
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
