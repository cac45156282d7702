/**
 * Token auth (DESIGN §4). `GCL_ADMIN_TOKEN` may do everything; `GCL_CLIENT_TOKEN` may read
 * limits and take, renew and release slots. With neither set the API answers 503 unless
 * `GCL_ALLOW_ANONYMOUS = "true"` (only `npm run dev` and the tests set it).
 *
 * The token comes as `Authorization: Bearer <token>` (Prefect's `PREFECT_API_KEY`) or as
 * `Authorization: Basic base64(user:password)` (Prefect's `PREFECT_API_AUTH_STRING`), where the
 * password, or the whole `user:password`, is the token. Every comparison is constant-time.
 */

import type { MiddlewareHandler } from "hono";
import { GclError } from "../protocol/errors";
import { socketToken } from "../protocol/socket";

/** What a route requires: `client` routes accept either token, `admin` routes only the admin's. */
export type Role = "client" | "admin";

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/** The configured tokens' digests: secrets are fixed for an isolate's life, so hash each once. */
// Results, not promises, are kept: nothing made in one request's context is awaited in another's.
const expectedDigests = new Map<string, ArrayBuffer>();

async function expectedDigest(token: string): Promise<ArrayBuffer> {
  const cached = expectedDigests.get(token);
  if (cached !== undefined) {
    return cached;
  }
  const hashed = await digest(token);
  expectedDigests.set(token, hashed);
  return hashed;
}

/** Compares in constant time: both sides are hashed to equal length first. */
async function tokenMatches(given: ArrayBuffer, expected: string | undefined): Promise<boolean> {
  if (!expected) {
    return false;
  }
  return crypto.subtle.timingSafeEqual(given, await expectedDigest(expected));
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The strings that may be the token, from either scheme: a Bearer token, or for Basic the
 * password and the whole `user:password`. Null when there is no such header; a GclError when
 * the Basic credentials cannot be decoded.
 */
function candidateTokens(header: string | undefined): { scheme: "Bearer" | "Basic"; candidates: string[] } | null {
  const bearer = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (bearer?.[1] !== undefined) {
    return { scheme: "Bearer", candidates: [bearer[1]] };
  }
  const basic = header?.match(/^Basic\s+(\S+)\s*$/i);
  if (basic?.[1] === undefined) {
    return null;
  }
  const encoded = basic[1];
  let decoded: string;
  try {
    if (encoded.length % 4 !== 0 || !BASE64.test(encoded)) {
      throw new Error("not base64");
    }
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)),
    );
  } catch {
    throw new GclError(
      "unauthorized",
      "malformed Basic credentials: send `Authorization: Basic base64(user:password)`",
    );
  }
  const colon = decoded.indexOf(":");
  // Both shapes are always compared, so the time taken does not tell which one matched.
  return { scheme: "Basic", candidates: [decoded, colon === -1 ? decoded : decoded.slice(colon + 1)] };
}

/** The Authorization header, or for a WebSocket (browsers cannot set headers) the token in its subprotocol. */
function authorization(headers: Headers): string | undefined {
  const header = headers.get("Authorization");
  if (header !== null) {
    return header;
  }
  const token = socketToken(headers.get("Sec-WebSocket-Protocol"));
  return token === undefined ? undefined : `Bearer ${token}`;
}

export function requireRole(role: Role): MiddlewareHandler<{ Bindings: Env }> {
  return async function authorize(c, next) {
    const { GCL_ADMIN_TOKEN: adminToken, GCL_CLIENT_TOKEN: clientToken } = c.env;
    if (!adminToken && !clientToken) {
      if (c.env.GCL_ALLOW_ANONYMOUS === "true") {
        return next();
      }
      throw new GclError(
        "auth_not_configured",
        "auth is not configured: set GCL_ADMIN_TOKEN (and GCL_CLIENT_TOKEN) with `wrangler secret put`",
      );
    }
    const credentials = candidateTokens(authorization(c.req.raw.headers));
    if (credentials === null) {
      throw new GclError("unauthorized", "missing bearer token: send `Authorization: Bearer <token>`");
    }
    const matches = await Promise.all(
      credentials.candidates.map(async (candidate) => {
        const given = await digest(candidate);
        return Promise.all([tokenMatches(given, adminToken), tokenMatches(given, clientToken)]);
      }),
    );
    const isAdmin = matches.some(([admin]) => admin);
    const isClient = matches.some(([, client]) => client);
    if (isAdmin || (isClient && role === "client")) {
      return next();
    }
    if (isClient) {
      throw new GclError("forbidden", "this route needs the admin token; the client token may not use it");
    }
    throw new GclError(
      "unauthorized",
      credentials.scheme === "Bearer"
        ? "invalid bearer token"
        : "invalid Basic credentials: neither the password nor `user:password` is a configured token",
    );
  };
}
