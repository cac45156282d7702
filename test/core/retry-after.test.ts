import fc from "fast-check";
import { describe, it } from "vitest";
import { admit } from "../../src/core/admission";
import {
  boundedRetryAfter,
  clampedPoissonInterval,
  estimatedRetryAfter,
  exactRetryAfter,
  maxWaitSeconds,
} from "../../src/core/retry-after";
import type { LimitState } from "../../src/core/state";
import { MAX_RETRY_AFTER_SECONDS } from "../../src/protocol/constants";
import { heldAt, increment, limitState, reserveSlots, T0 } from "./fixtures";

/** Prefect's lower clamp factor `c = log2(2^1.3 / (2^1.3 − 1))` (D-11), computed independently. */
const C = Math.log2(2 ** 1.3 / (2 ** 1.3 - 1));
/** Tolerance for float noise on the clamps. */
const REL = 1e-12;
const NUM_RUNS = 200;

/** A random in [0, 1) from fast-check. */
const unitRandom = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** `count` evenly spread values in [0, 1), for a deterministic empirical mean. */
function grid(count: number): number[] {
  return Array.from({ length: count }, (_, i) => (i + 0.5) / count);
}

function lockedRetryAfter(state: LimitState, slots: number, now: number, random: number): number {
  const admission = admit(state, { slots, mode: "concurrency" }, now, () => random);
  if (admission.status !== "locked") {
    throw new Error(`expected a refusal, got ${JSON.stringify(admission)}`);
  }
  return admission.retryAfterSeconds;
}

// ── Jitter (D-11) ──

describe("clampedPoissonInterval", () => {
  it("stays within [c·m, 1.3·m] for any random in [0, 1), below the API's ceiling", ({ expect }) => {
    // Means up to 3600 / 1.3 s: above that the ceiling clamps (see boundedRetryAfter below).
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: MAX_RETRY_AFTER_SECONDS / 1.3, noNaN: true }),
        unitRandom,
        (mean, random) => {
          const sample = clampedPoissonInterval(mean, () => random);
          expect(sample).toBeGreaterThanOrEqual(C * mean * (1 - REL));
          expect(sample).toBeLessThanOrEqual(1.3 * mean * (1 + REL));
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it("grows with the random draw (inverse CDF sampling)", ({ expect }) => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 1e5, noNaN: true }), unitRandom, unitRandom, (mean, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(clampedPoissonInterval(mean, () => low)).toBeLessThanOrEqual(clampedPoissonInterval(mean, () => high));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("hits both clamps at the ends of the random range", ({ expect }) => {
    expect(clampedPoissonInterval(2.2, () => 0)).toBeCloseTo(C * 2.2, 9);
    expect(clampedPoissonInterval(2.2, () => 1 - 2 ** -53)).toBeCloseTo(1.3 * 2.2, 9);
  });

  it("has a mean of about m", ({ expect }) => {
    const samples = grid(10_000).map((random) => clampedPoissonInterval(10, () => random));
    const mean = samples.reduce((sum, sample) => sum + sample, 0) / samples.length;

    expect(mean).toBeGreaterThan(9.8);
    expect(mean).toBeLessThan(10.2);
  });

  it.for([0, -1, Number.NaN])("answers a tiny positive wait for a mean of %s, never 0", (mean, { expect }) => {
    expect(clampedPoissonInterval(mean, () => 0.5)).toBe(0.001);
  });
});

// ── Limits without decay: Prefect's estimate (D-8..D-10) ──

describe("estimatedRetryAfter", () => {
  it("samples around 2.2 s for avg 2, denied 10, limit 10, 1 slot", ({ expect }) => {
    const input = { name: "db", limit: 10, slots: 1, deniedSlots: 10, avgSlotOccupancySeconds: 2 };
    fc.assert(
      fc.property(unitRandom, (random) => {
        const sample = estimatedRetryAfter(input, () => random);
        expect(sample).toBeGreaterThanOrEqual(C * 2.2 * (1 - REL));
        expect(sample).toBeLessThanOrEqual(1.3 * 2.2 * (1 + REL));
      }),
      { numRuns: NUM_RUNS },
    );
    const samples = grid(2_000).map((random) => estimatedRetryAfter(input, () => random));
    expect(samples.reduce((sum, sample) => sum + sample, 0) / samples.length).toBeCloseTo(2.2, 1);
  });

  it("caps the mean at 10 s for a tag: limit (avg 3 h, denied 10, limit 10)", ({ expect }) => {
    const input = { name: "tag:etl", limit: 10, slots: 1, deniedSlots: 10, avgSlotOccupancySeconds: 10_800 };

    expect(estimatedRetryAfter(input, () => 0)).toBeCloseTo(C * 10, 9);
    expect(estimatedRetryAfter(input, () => 1 - 2 ** -53)).toBeCloseTo(13, 9);
  });

  it("caps the mean at 30 s for any other limit (avg 10, denied 16000, limit 30)", ({ expect }) => {
    const input = { name: "db", limit: 30, slots: 1, deniedSlots: 16_000, avgSlotOccupancySeconds: 10 };

    expect(estimatedRetryAfter(input, () => 0)).toBeCloseTo(C * 30, 9);
    expect(estimatedRetryAfter(input, () => 1 - 2 ** -53)).toBeCloseTo(39, 9);
  });

  it("caps waits by name", ({ expect }) => {
    expect(maxWaitSeconds("tag:x")).toBe(10);
    expect(maxWaitSeconds("x:tag")).toBe(30);
    expect(maxWaitSeconds("db")).toBe(30);
  });

  it("is what admit answers on a full limit without decay (vector 5: within [1.65, 2.86])", ({ expect }) => {
    fc.assert(
      fc.property(unitRandom, (random) => {
        const state = limitState({ limit: 10, activeSlots: 10, deniedSlots: 10 });
        const seconds = lockedRetryAfter(state, 1, T0, random);
        expect(seconds).toBeCloseTo(
          clampedPoissonInterval(2.2, () => random),
          12,
        );
        expect(seconds).toBeGreaterThanOrEqual(1.65);
        expect(seconds).toBeLessThanOrEqual(2.86 * (1 + REL));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("is what admit answers on a full tag: limit (vector 7: mean 10)", ({ expect }) => {
    const state = limitState({ name: "tag:etl", limit: 10, activeSlots: 10, deniedSlots: 10 });
    state.avgSlotOccupancySeconds = 10_800;

    expect(lockedRetryAfter(state, 1, T0, 0)).toBeCloseTo(C * 10, 9);
  });
});

// ── Limits with decay: the exact wait (DESIGN §3.7) ──

describe("exactRetryAfter", () => {
  it("is jittered upward only, by at most 10 %, below the API's ceiling", ({ expect }) => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: MAX_RETRY_AFTER_SECONDS / 1.1, noNaN: true }),
        unitRandom,
        (seconds, random) => {
          const wait = exactRetryAfter(seconds, () => random);
          expect(wait).toBeGreaterThanOrEqual(seconds);
          expect(wait).toBeLessThanOrEqual(seconds * 1.1);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it("answers 10 s for 1 slot on a full limit of 10 leaking 0.1/s", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 0.1 });
    increment(state, 10, T0);

    expect(lockedRetryAfter(state, 1, T0, 0)).toBeCloseTo(10, 9);
    expect(lockedRetryAfter(state, 1, T0, 0.999)).toBeLessThan(11);
  });

  it("is the moment the request fits: refused 1 ms before, admitted at it", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 0.1 });
    increment(state, 10, T0);

    const waitMs = lockedRetryAfter(state, 1, T0, 0) * 1_000;

    expect(admit(state, { slots: 1, mode: "rate_limit" }, T0 + waitMs - 1, () => 0).status).toBe("locked");
    expect(admit(state, { slots: 1, mode: "rate_limit" }, T0 + waitMs, () => 0).status).toBe("ok");
  });

  it("counts pending reservations, which do not leak, in the wait", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1 });
    increment(state, 7, T0);
    reserveSlots(state, { id: "r1", slots: 3, pendingMs: 60_000 }, T0);

    const waitMs = lockedRetryAfter(state, 1, T0, 0) * 1_000;

    expect(waitMs).toBeCloseTo(1_000, 6);
    expect(admit(state, { slots: 1, mode: "rate_limit" }, T0 + waitMs, () => 0).status).toBe("ok");
  });

  it("falls back to the capped estimate when non-leaking slots alone block the request", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 1 });
    increment(state, 2, T0);
    reserveSlots(state, { id: "r1", slots: 8, pendingMs: 60_000 }, T0);

    expect(lockedRetryAfter(state, 3, T0, 1 - 2 ** -53)).toBeLessThanOrEqual(39);
  });

  it("is never earlier than the moment the capacity actually frees, and at most 10 % later", ({ expect }) => {
    const scenario = fc.record({
      limit: fc.integer({ min: 1, max: 50 }),
      decay: fc.double({ min: 0.01, max: 100, noNaN: true }),
      slotsFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      fillFraction: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      elapsedFraction: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      random: unitRandom,
    });
    fc.assert(
      fc.property(scenario, ({ limit, decay, slotsFraction, fillFraction, elapsedFraction, random }) => {
        const state = limitState({ limit, slotDecayPerSecond: decay });
        const slots = 1 + Math.floor(slotsFraction * (limit - 1));
        // Full enough to refuse `slots`, then some of the drain time passes.
        const fill = limit - slots + 1 + Math.floor(fillFraction * slots);
        increment(state, fill, T0);
        const elapsedMs = Math.floor((elapsedFraction * (fill - limit + slots) * 1_000) / decay);
        const now = T0 + elapsedMs;
        // The wait worked out by hand: the bucket has to leak down to `limit - slots`.
        const bucket = Math.max(0, fill - (decay * elapsedMs) / 1_000);
        const neededSeconds = (bucket + slots - limit) / decay;
        // Beyond the ceiling the advice is clamped to 3600 s (tested in boundedRetryAfter).
        fc.pre(neededSeconds > 1e-6 && neededSeconds * 1.1 <= MAX_RETRY_AFTER_SECONDS);

        const seconds = lockedRetryAfter(state, slots, now, random);
        // The Durable Object's clock reads whole milliseconds: its first reading not before the
        // advised moment is `now + ceil(ms)`. (The float sum `now + ms` at epoch magnitude is
        // rounded to 2^-12 ms and can land a hair before the moment: a test artefact.)
        const retryAt = now + Math.ceil(seconds * 1_000);

        expect(seconds).toBeGreaterThanOrEqual(neededSeconds * (1 - REL));
        expect(seconds).toBeLessThanOrEqual(Math.max(0.001, neededSeconds * 1.1 * (1 + REL)));
        expect(heldAt(state, retryAt) + slots).toBeLessThanOrEqual(limit + 1e-9);
        expect(admit(state, { slots, mode: "rate_limit" }, retryAt, () => random).status).toBe("ok");
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

// ── The API's bounds: [1 ms, 3600 s] ──

describe("boundedRetryAfter", () => {
  it.for([
    [0.0005, 0.001],
    [0.001, 0.001],
    [0.0011, 0.0011],
    [2.5, 2.5],
    [3_600, 3_600],
    [3_600.5, 3_600],
    [1e12, 3_600],
  ])("clamps %s s to %s s", ([seconds, bounded], { expect }) => {
    expect(boundedRetryAfter(seconds ?? Number.NaN)).toBe(bounded);
  });

  it.for([0, -1, Number.NaN, Number.NEGATIVE_INFINITY])(
    "answers 1 ms for %s, never 0 or NaN",
    (seconds, { expect }) => {
      expect(boundedRetryAfter(seconds)).toBe(0.001);
    },
  );

  it("answers 3600 s for an infinite wait", ({ expect }) => {
    expect(boundedRetryAfter(Number.POSITIVE_INFINITY)).toBe(MAX_RETRY_AFTER_SECONDS);
  });

  it("bounds every kind of advice, however large or odd its input", ({ expect }) => {
    const input = fc.oneof(fc.double(), fc.double({ min: 1e3, max: 1e9, noNaN: true }));
    fc.assert(
      fc.property(input, unitRandom, (seconds, random) => {
        for (const advice of [exactRetryAfter(seconds, () => random), clampedPoissonInterval(seconds, () => random)]) {
          expect(advice).toBeGreaterThanOrEqual(0.001);
          expect(advice).toBeLessThanOrEqual(MAX_RETRY_AFTER_SECONDS);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("advises exactly the ceiling when a rate limit frees the slots only after it", ({ expect }) => {
    const state = limitState({ limit: 10, slotDecayPerSecond: 0.001 });
    increment(state, 10, T0);

    // Room for 10 slots needs 10 000 s of leaking at 0.001/s: beyond the ceiling.
    expect(lockedRetryAfter(state, 10, T0, 0)).toBe(MAX_RETRY_AFTER_SECONDS);
  });
});
