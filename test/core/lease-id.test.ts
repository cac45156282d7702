import fc from "fast-check";
import { describe, it } from "vitest";
import { decodeLeaseId, encodeLeaseId, ticketIdOf } from "../../src/core/lease-id";
import { NAME_PATTERN } from "../../src/protocol/constants";

const NONCE = "0b9e7c1a-4f2d-4e8b-9a6c-3d5f7e9b1c2a";
const NUM_RUNS = 200;

/** base64url of raw bytes, written independently of the module under test. */
function bytesBase64Url(bytes: Uint8Array): string {
  return btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(""))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function base64Url(text: string): string {
  return bytesBase64Url(new TextEncoder().encode(text));
}

/** Names as the API accepts them: 1–200 UTF-16 units, any script, emoji included, none of `/ % & > <`. */
const name = fc
  .string({ unit: "grapheme", minLength: 1, maxLength: 40 })
  .filter((value) => value.length <= 200 && NAME_PATTERN.test(value));

describe("lease ids", () => {
  // ── Round trip ──

  it("decode to the names they were encoded with", ({ expect }) => {
    fc.assert(
      fc.property(fc.uuid(), fc.array(name, { minLength: 1, maxLength: 32 }), (nonce, names) => {
        expect(decodeLeaseId(encodeLeaseId(nonce, names))).toEqual(names);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("name only limits the API could have created: a name with / % & > < is not ours", ({ expect }) => {
    expect(decodeLeaseId(encodeLeaseId(NONCE, ["db", "a/b"]))).toBeNull();
    expect(decodeLeaseId(encodeLeaseId(NONCE, ["db", "x".repeat(201)]))).toBeNull();
  });

  it("keep unicode names intact", ({ expect }) => {
    const names = ["db", "tag:ünïcödé", "数据库", "🚦 rate", "a\u0000b", 'quote"back\\slash'];

    expect(decodeLeaseId(encodeLeaseId(NONCE, names))).toEqual(names);
  });

  it("are safe to put in a URL path without escaping", ({ expect }) => {
    fc.assert(
      fc.property(fc.uuid(), fc.array(name, { minLength: 1, maxLength: 32 }), (nonce, names) => {
        expect(encodeLeaseId(nonce, names)).toMatch(/^[A-Za-z0-9_.-]+$/);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("differ for the same names under different nonces", ({ expect }) => {
    expect(encodeLeaseId(NONCE, ["db"])).not.toBe(encodeLeaseId(NONCE.replace("0b9e", "1b9e"), ["db"]));
  });

  it("accept exactly 32 names", ({ expect }) => {
    const names = Array.from({ length: 32 }, (_, i) => `limit-${i}`);

    expect(decodeLeaseId(encodeLeaseId(NONCE, names))).toEqual(names);
  });

  // ── Ids this service did not issue ──

  it("decode to null for more than 32 names", ({ expect }) => {
    const names = Array.from({ length: 33 }, (_, i) => `limit-${i}`);

    expect(decodeLeaseId(encodeLeaseId(NONCE, names))).toBeNull();
  });

  it.for([
    ["an empty string", ""],
    ["no dot", "0b9e7c1a4f2d4e8b9a6c3d5f7e9b1c2a"],
    ["nothing before the dot", `.${base64Url('["db"]')}`],
    ["a nonce longer than 64 characters", `${"n".repeat(65)}.${base64Url('["db"]')}`],
    ["characters outside base64url", `${NONCE}.!!!`],
    ["base64url that is not JSON", `${NONCE}.${base64Url("not json")}`],
    ["bytes that are not UTF-8", `${NONCE}.${bytesBase64Url(new Uint8Array([0xff, 0xfe, 0x5b, 0x5d]))}`],
    ["a JSON object", `${NONCE}.${base64Url('{"names":["db"]}')}`],
    ["a JSON string", `${NONCE}.${base64Url('"db"')}`],
    ["a name that is not a string", `${NONCE}.${base64Url('["db", 7]')}`],
    ["an empty name", `${NONCE}.${base64Url('["db", ""]')}`],
    ["a name over 200 characters", `${NONCE}.${base64Url(JSON.stringify(["x".repeat(201)]))}`],
    ["a bare UUID (Prefect's lease id shape)", NONCE],
  ])("decode to null for %s", ([, leaseId], { expect }) => {
    expect(decodeLeaseId(leaseId ?? "")).toBeNull();
  });

  it("never throw on arbitrary input: the answer is null or a list of names", ({ expect }) => {
    const garbage = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 80 }),
      fc
        .tuple(fc.uuid(), fc.string({ unit: "grapheme-ascii", maxLength: 80 }))
        .map(([nonce, tail]) => `${nonce}.${tail}`),
      fc.tuple(fc.uuid(), fc.json()).map(([nonce, json]) => `${nonce}.${base64Url(json)}`),
    );
    fc.assert(
      fc.property(garbage, (leaseId) => {
        const decoded = decodeLeaseId(leaseId);
        expect(decoded === null || decoded.every((item) => typeof item === "string" && item.length > 0)).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe("ticketIdOf", () => {
  it("is the ticket id a lease id was encoded with, whatever the names", ({ expect }) => {
    fc.assert(
      fc.property(fc.uuid(), fc.array(name, { minLength: 1, maxLength: 32 }), (ticket, names) => {
        expect(ticketIdOf(encodeLeaseId(ticket, names))).toBe(ticket);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("is the part before the first dot only", ({ expect }) => {
    expect(ticketIdOf("abc.def.ghi")).toBe("abc");
    expect(ticketIdOf(".tail")).toBe("");
  });

  it("is the whole string when there is no dot", ({ expect }) => {
    expect(ticketIdOf(NONCE)).toBe(NONCE);
  });
});
