/**
 * Bearer-token auth (DESIGN §4). `GCL_ADMIN_TOKEN` may do everything; `GCL_CLIENT_TOKEN` may read
 * limits and take, renew and release slots. With neither set the API answers 503 unless
 * `GCL_ALLOW_ANONYMOUS = "true"` (only `npm run dev` and the tests set it).
 */

import type { MiddlewareHandler } from "hono";
import { GclError } from "../protocol/errors";

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

function bearerToken(header: string | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1] ?? null;
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
    const token = bearerToken(c.req.header("Authorization"));
    if (token === null) {
      throw new GclError("unauthorized", "missing bearer token: send `Authorization: Bearer <token>`");
    }
    const given = await digest(token);
    const [isAdmin, isClient] = await Promise.all([tokenMatches(given, adminToken), tokenMatches(given, clientToken)]);
    if (isAdmin || (isClient && role === "client")) {
      return next();
    }
    if (isClient) {
      throw new GclError("forbidden", "this route needs the admin token; the client token may not use it");
    }
    throw new GclError("unauthorized", "invalid bearer token");
  };
}
