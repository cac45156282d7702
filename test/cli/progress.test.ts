/**
 * What `gcl run` and `gcl rate-limit` write to stderr while they wait, with fake timers: nothing
 * for a short wait, a spinner redrawn in place on a terminal, and elsewhere a plain line every
 * 5 s with no control characters (a cron log stays readable), until the wait ends.
 */

import { afterEach, beforeEach, describe, it, vi } from "vitest";
import { PLAIN_EVERY_MS, startProgress } from "../../src/cli/progress";

function output(isTTY: boolean): { isTTY: boolean; text: string; write(chunk: string): boolean } {
  return {
    isTTY,
    text: "",
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("progress when stderr is not a terminal", () => {
  it("writes a plain line every 5 s saying what it waits for and for how long, and stops when told", ({ expect }) => {
    const stderr = output(false);
    const progress = startProgress(stderr, "1 slot on 'db'");

    vi.advanceTimersByTime(PLAIN_EVERY_MS - 1);
    const beforeFirst = stderr.text;
    vi.advanceTimersByTime(1);
    const afterFirst = stderr.text;
    vi.advanceTimersByTime(PLAIN_EVERY_MS);
    progress.stop();
    vi.advanceTimersByTime(10 * PLAIN_EVERY_MS);

    expect(PLAIN_EVERY_MS).toBe(5_000);
    expect(beforeFirst).toBe("");
    expect(afterFirst).toBe("Still waiting for 1 slot on 'db' after 5 s.\n");
    expect(stderr.text).toBe(
      "Still waiting for 1 slot on 'db' after 5 s.\nStill waiting for 1 slot on 'db' after 10 s.\n",
    );
  });

  it("never writes a carriage return or an escape sequence", ({ expect }) => {
    const stderr = output(false);
    const progress = startProgress(stderr, "the rate limit on 'openai'");

    vi.advanceTimersByTime(30_000);
    progress.clear();
    progress.stop();

    expect(stderr.text.split("\n").filter((line) => line !== "")).toHaveLength(6);
    expect(stderr.text).not.toContain("\r");
    expect(stderr.text).not.toContain("\u001b");
  });
});

describe("progress on a terminal", () => {
  it("shows nothing for a short wait, then a spinner line redrawn in place, erased at the end", ({ expect }) => {
    const stderr = output(true);
    const progress = startProgress(stderr, "1 slot on 'db'");

    vi.advanceTimersByTime(499);
    const early = stderr.text;
    vi.advanceTimersByTime(1_000);
    progress.stop();

    expect(early).toBe("");
    expect(stderr.text).toContain("\r\u001b[K⠋ waiting for 1 slot on 'db'… 0 s");
    expect(stderr.text).toContain("waiting for 1 slot on 'db'… 1 s");
    expect(stderr.text.endsWith("\r\u001b[K")).toBe(true);
    expect(stderr.text).not.toContain("\n");
  });
});
