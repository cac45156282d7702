/**
 * How long a refused request should wait before trying again (DESIGN §3.7, reference D-8..D-12).
 * Pure: randomness comes in as `random()` in [0, 1).
 */

import { MAX_RETRY_AFTER_SECONDS } from "../protocol/constants";

/** Prefect's jitter factor for `clamped_poisson_interval`. */
const CLAMPING_FACTOR = 0.3;
/** Upward-only jitter for exact (decay) waits: at most this fraction later. */
const EXACT_JITTER_FRACTION = 0.1;
/** Never advise a wait shorter than this (a zero would make clients spin). */
const MIN_RETRY_AFTER_SECONDS = 0.001;

/** Clamps advice into [1 ms, the API's ceiling], so it always prints as a plain decimal. */
export function boundedRetryAfter(seconds: number): number {
  if (!(seconds >= MIN_RETRY_AFTER_SECONDS)) {
    return MIN_RETRY_AFTER_SECONDS;
  }
  return Math.min(seconds, MAX_RETRY_AFTER_SECONDS);
}

/** Prefect's cap on waits: 10 s for `tag:` limits, 30 s for the rest. */
export function maxWaitSeconds(name: string): number {
  return name.startsWith("tag:") ? 10 : 30;
}

/**
 * A sample of an exponential distribution with mean `meanSeconds`, truncated to
 * `[c·m, 1.3·m]` where `c` makes the mean stay about `m` (reference D-11).
 */
export function clampedPoissonInterval(meanSeconds: number, random: () => number): number {
  const m = meanSeconds;
  if (!(m > 0)) {
    return MIN_RETRY_AFTER_SECONDS;
  }
  const lowerFactor = Math.log2(2 ** (1 + CLAMPING_FACTOR) / (2 ** (1 + CLAMPING_FACTOR) - 1));
  const cdf = (x: number) => 1 - Math.exp(-x / m);
  const low = cdf(lowerFactor * m);
  const high = cdf((1 + CLAMPING_FACTOR) * m);
  const u = low + random() * (high - low);
  return boundedRetryAfter(-m * Math.log(1 - u));
}

/**
 * Prefect's estimate for a limit without decay: slots are expected back after about
 * `avg occupancy × (requested + denied) / limit`, capped by the name's wait cap (D-10).
 */
export function estimatedRetryAfter(
  input: { name: string; limit: number; slots: number; deniedSlots: number; avgSlotOccupancySeconds: number },
  random: () => number,
): number {
  const cap = maxWaitSeconds(input.name);
  const perSlot = Math.min(input.avgSlotOccupancySeconds, cap);
  const score = (input.slots + input.deniedSlots) / Math.max(1, input.limit);
  return clampedPoissonInterval(Math.min(perSlot * score, cap), random);
}

/** An exact wait, jittered upward only so a client never comes back before it can succeed. */
export function exactRetryAfter(seconds: number, random: () => number): number {
  return boundedRetryAfter(seconds * (1 + EXACT_JITTER_FRACTION * random()));
}
