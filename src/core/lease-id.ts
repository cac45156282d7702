/**
 * Lease ids are opaque to clients (DESIGN §3.4) but carry the limit names they cover, so the
 * Worker routes a renew or release straight to the right limit objects with no lookup.
 * Shape: `<ticket id>.<base64url of the JSON array of names>`, the ticket id a UUID. Pure.
 */

import { MAX_NAMES } from "../protocol/constants";
import { isLimitName } from "../protocol/names";

/** `atob` would quietly skip whitespace and padding; an id we issued has neither. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(encoded: string): string {
  const binary = atob(encoded.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
}

export function encodeLeaseId(ticketId: string, names: readonly string[]): string {
  return `${ticketId}.${toBase64Url(JSON.stringify(names))}`;
}

/** The ticket a lease id was issued for (the part before the dot). */
export function ticketIdOf(leaseId: string): string {
  const dot = leaseId.indexOf(".");
  return dot < 0 ? leaseId : leaseId.slice(0, dot);
}

/** The names a lease id covers, or null when the id is not one this service issued. */
export function decodeLeaseId(leaseId: string): string[] | null {
  const dot = leaseId.indexOf(".");
  if (dot < 1 || dot > 64 || !BASE64URL.test(leaseId.slice(dot + 1))) {
    return null;
  }
  try {
    const names: unknown = JSON.parse(fromBase64Url(leaseId.slice(dot + 1)));
    if (Array.isArray(names) && names.length <= MAX_NAMES && names.every(isLimitName)) {
      return names as string[];
    }
  } catch {
    // Not base64url, not UTF-8 or not JSON: not ours.
  }
  return null;
}
