/**
 * "Did you mean": the known key an unknown one most likely meant, for validation messages
 * (`limits` → `limit`). Runtime-neutral: imports nothing.
 */

/** Edit distance, for "did you mean" (short keys only, so the quadratic table is tiny). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/** The known key an unknown one most likely meant (`limits` → `limit`), if any is close. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  if (key.length > 64) {
    return undefined; // no field is this long, and the table would grow with it
  }
  const lower = key.toLowerCase().replaceAll("-", "_");
  let best: { key: string; score: number } | undefined;
  for (const candidate of known) {
    const score = distance(lower, candidate);
    // A typo (`limits`), or one name inside the other (`slot_decay` for `slot_decay_per_second`).
    const contained =
      Math.min(lower.length, candidate.length) >= 4 && (lower.includes(candidate) || candidate.includes(lower));
    const close = score <= Math.max(1, Math.floor(candidate.length / 4)) || contained;
    if (close && (best === undefined || score < best.score)) {
      best = { key: candidate, score };
    }
  }
  return best?.key;
}
