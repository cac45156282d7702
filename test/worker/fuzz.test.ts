/**
 * A fast-check driven HTTP fuzzer over every route: random methods, paths, names, lease ids and
 * bodies (random JSON, wrong types, huge and non-finite-looking numbers, unicode, over-long
 * strings, missing fields, oversized bodies). The API must never answer 500, every error must be
 * JSON with a `code`, and a rejected request must leave the limits exactly as they were.
 */

import fc from "fast-check";
import { describe, type ExpectStatic, it } from "vitest";
import { api, createLimit, takeLease, uniqueName } from "../helpers/api";

const sentinels = [uniqueName("fuzz-a"), uniqueName("fuzz-b"), uniqueName("fuzz tag:✓")];

/** Creates whichever sentinel is missing (a fuzzed DELETE may legitimately remove one). */
async function ensureSentinels(): Promise<void> {
  for (const sentinel of sentinels) {
    if ((await api("GET", `/${encodeURIComponent(sentinel)}`)).status === 404) {
      await createLimit(sentinel, 2);
    }
  }
}

async function snapshot(): Promise<string> {
  const parts = await Promise.all(
    sentinels.map(async (name) => {
      const record = await api("GET", `/${encodeURIComponent(name)}`);
      const leases = await api("GET", `/${encodeURIComponent(name)}/leases`);
      // `updated` moves only on writes; denied_slots decays with time, so it is left out.
      const { denied_slots: _denied, ...rest } = record.body ?? {};
      return JSON.stringify([record.status, rest, leases.body]);
    }),
  );
  return parts.join("\n");
}

const weirdString = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom(
    "NaN",
    "Infinity",
    "-Infinity",
    "1e309",
    "null",
    "undefined",
    "",
    " ",
    "%",
    "a/b",
    "<script>",
    "\u0000",
  ),
  fc.constant("x".repeat(300)),
);
const weirdNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 53 + 1, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 1e9 + 1),
);
const weirdValue = fc.oneof(weirdString, weirdNumber, fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));
const name = fc.oneof(fc.constantFrom(...sentinels), weirdString);
const names = fc.oneof(fc.array(name, { maxLength: 4 }), fc.array(name, { minLength: 33, maxLength: 34 }), weirdValue);
const leaseId = fc.oneof(weirdString, fc.uuid(), fc.constant("00000000-0000-4000-8000-000000000000.WyJ4Il0"));

/** A body for each route: plausible fields with wrong values, or anything at all. */
const body = fc.oneof(
  fc.record(
    {
      names,
      slots: fc.oneof(weirdNumber, weirdValue),
      mode: fc.oneof(fc.constantFrom("concurrency", "rate_limit"), weirdValue),
      wait_seconds: fc.oneof(fc.constant(0), weirdNumber, weirdValue),
      lease_duration: fc.oneof(weirdNumber, weirdValue),
      holder: fc.oneof(fc.record({ type: weirdString, id: weirdString }), weirdValue),
      lease_id: fc.oneof(leaseId, weirdValue),
      occupancy_seconds: weirdNumber,
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      name,
      limit: fc.oneof(weirdNumber, weirdValue),
      active: weirdValue,
      slot_decay_per_second: weirdNumber,
      active_slots: weirdNumber,
      denied_slots: weirdNumber,
      offset: weirdNumber,
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string(),
);

/** A valid body for some route with one field spoiled (or an unknown field added), or left valid. */
const nearlyValid = fc
  .tuple(
    fc.oneof(
      fc.record({ name: fc.constantFrom(...sentinels), limit: fc.integer({ min: 0, max: 5 }) }),
      fc.record({
        limit: fc.integer({ min: 0, max: 5 }),
        active: fc.boolean(),
        slot_decay_per_second: fc.constantFrom(0, 0.5),
      }),
      fc.record({
        names: fc.subarray(sentinels),
        slots: fc.integer({ min: 1, max: 3 }),
        lease_duration: fc.integer({ min: 1, max: 100 }),
      }),
      fc.record({
        names: fc.subarray(sentinels),
        slots: fc.integer({ min: 1, max: 3 }),
        mode: fc.constantFrom("concurrency", "rate_limit"),
      }),
    ),
    fc.option(
      fc.tuple(
        fc.constantFrom("name", "limit", "slots", "names", "active", "lease_duration", "holder", "extra"),
        weirdValue,
      ),
    ),
  )
  .map(([valid, spoil]) => (spoil ? { ...valid, [spoil[0]]: spoil[1] } : valid));

const request = fc.record({
  method: fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT"),
  path: fc.oneof(
    fc.constantFrom("/", "/filter", "/increment", "/increment-with-lease", "/decrement", "/decrement-with-lease"),
    fc.constantFrom(...sentinels).map((n) => `/${encodeURIComponent(n)}`),
    name.map((n) => `/${encodeURIComponent(n)}`),
    name.map((n) => `/${encodeURIComponent(n)}/leases`),
    leaseId.map((id) => `/leases/${encodeURIComponent(id)}/renew`),
    fc.uuid().map((id) => `/${id}`),
    fc.string().map((s) => `/${s}`),
  ),
  body: fc.oneof(
    body.map((b) => JSON.stringify(b)),
    nearlyValid.map((b) => JSON.stringify(b)),
    fc.string(),
    fc.constant(undefined),
  ),
});

/** A 422's field errors: each names its field once, in words (no `undefined`, no `[object …]`). */
function expectReadableFieldErrors(
  expect: ExpectStatic,
  body: { detail: string; errors?: { path: unknown; message: unknown }[] },
): void {
  if (body.errors === undefined) {
    return;
  }
  const seen = new Set<string>();
  for (const { path, message } of body.errors) {
    expect(typeof path).toBe("string");
    expect(typeof message).toBe("string");
    // Quoted text is the caller's own value, shown back; the rest is ours.
    expect((message as string).replace(/"(?:[^"\\]|\\.)*"/g, '""')).not.toMatch(/undefined|\[object|^$/);
    const key = `${path}: ${message}`;
    expect(seen.has(key), `repeated problem ${key}`).toBe(false);
    seen.add(key);
    expect(body.detail).toContain(message as string);
  }
}

describe("the HTTP API under random input", () => {
  it("never answers 500, always explains errors with a code, and a rejection changes nothing", async ({ expect }) => {
    await ensureSentinels();
    await takeLease([sentinels[0] as string], 1);

    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, body: payload }) => {
        const before = await snapshot();
        // fetch itself refuses a GET with a body.
        const response = await api(method, path, method === "GET" ? undefined : (payload ?? undefined));
        expect(response.status).not.toBe(500);
        expect(response.status).toBeLessThan(500);
        if (response.status >= 400) {
          expect(typeof response.body?.code).toBe("string");
          expect(typeof response.body?.detail).toBe("string");
          expectReadableFieldErrors(expect, response.body);
          // A 423 is a refusal too, but it counts in denied_slots by design (left out of snapshots).
          if (response.status !== 423) {
            expect(await snapshot()).toBe(before);
          }
        }
      }),
      { numRuns: 400 },
    );
  }, 60_000);

  it("leaves the limits untouched when a nearly valid request aimed at them is refused", async ({ expect }) => {
    await ensureSentinels();
    const spoiled = fc.constantFrom("name", "limit", "slots", "names", "active", "lease_duration", "holder", "extra");
    const targeted = fc.oneof(
      fc.record({
        method: fc.constant("PATCH"),
        path: fc.constantFrom(...sentinels).map((n) => `/${encodeURIComponent(n)}`),
        body: fc.record({ limit: fc.integer({ min: 0, max: 5 }), active: fc.boolean() }),
      }),
      fc.record({
        method: fc.constant("POST"),
        path: fc.constant("/"),
        body: fc.record({ name: fc.constantFrom(...sentinels), limit: fc.integer({ min: 0, max: 5 }) }),
      }),
      fc.record({
        method: fc.constant("POST"),
        path: fc.constantFrom("/increment", "/increment-with-lease", "/decrement"),
        body: fc.record({ names: fc.subarray(sentinels, { minLength: 1 }), slots: fc.integer({ min: 1, max: 2 }) }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(targeted, spoiled, weirdValue, async ({ method, path, body: valid }, key, value) => {
        const before = await snapshot();
        const response = await api(method, path, { ...valid, [key]: value });
        expect(response.status).toBeLessThan(500);
        if (response.status >= 400 && response.status !== 423) {
          expect(await snapshot()).toBe(before);
        }
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it("answers 413 to every route for an oversized body, changing nothing", async ({ expect }) => {
    await ensureSentinels();
    const before = await snapshot();
    const huge = JSON.stringify({ names: sentinels, slots: 1, padding: "x".repeat(65 * 1024) });
    for (const path of ["/", "/filter", "/increment", "/increment-with-lease", "/decrement", "/decrement-with-lease"]) {
      const response = await api("POST", path, huge);
      expect(response.status).toBe(413);
      expect(response.body.code).toBe("payload_too_large");
    }
    expect((await api("PATCH", `/${encodeURIComponent(sentinels[1] as string)}`, huge)).status).toBe(413);
    expect(await snapshot()).toBe(before);
  });
});
