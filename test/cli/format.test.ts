/**
 * The pure parts of `gcl`'s human output: relative times, aligned tables (colors take no width),
 * holder labels. The commands themselves are tested against the Worker in test/e2e/cli.test.ts.
 */

import { describe, it } from "vitest";
import { holderLabel, leasesTable, relativeTime, styleFor, table } from "../../src/cli/format";

const NOW = Date.parse("2026-11-21T12:00:00.000Z");

function at(offsetMs: number): string {
  return new Date(NOW + offsetMs).toISOString();
}

describe("relativeTime", () => {
  it.for([
    { offsetMs: -400, reads: "now" },
    { offsetMs: 900, reads: "now" },
    { offsetMs: -3_000, reads: "3 s ago" },
    { offsetMs: 42_500, reads: "in 42 s" },
    { offsetMs: -5 * 60_000 - 59_000, reads: "5 min ago" },
    { offsetMs: 2 * 3_600_000, reads: "in 2 h" },
    { offsetMs: -3 * 86_400_000, reads: "3 d ago" },
  ])("reads $offsetMs ms from now as '$reads'", ({ offsetMs, reads }, { expect }) => {
    expect(relativeTime(at(offsetMs), NOW)).toBe(reads);
  });

  it("leaves a timestamp it cannot read as it is", ({ expect }) => {
    expect(relativeTime("yesterday", NOW)).toBe("yesterday");
  });
});

describe("table", () => {
  it("pads every column to its widest cell, right-aligns numbers and trims line ends", ({ expect }) => {
    const text = table(
      [{ header: "NAME" }, { header: "LIMIT", align: "right" }, { header: "NOTE" }],
      [
        ["db", "5", ""],
        ["reports-nightly", "120", "x"],
      ],
    );

    expect(text).toBe(
      ["NAME             LIMIT  NOTE", "db                   5", "reports-nightly    120  x", ""].join("\n"),
    );
  });

  it("does not count color codes as width", ({ expect }) => {
    const style = styleFor({ write: () => true, isTTY: true }, {});
    const colored = table([{ header: "A" }, { header: "B" }], [[style.yellow("no"), "1"]], style);
    const plain = table([{ header: "A" }, { header: "B" }], [["no", "1"]]);

    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI color codes, which start with ESC
    expect(colored.replace(/\u001b\[[0-9;]*m/g, "")).toBe(plain);
  });
});

describe("styleFor", () => {
  it.for([
    { isTTY: true, env: {}, colored: true },
    { isTTY: false, env: {}, colored: false },
    { isTTY: true, env: { NO_COLOR: "1" }, colored: false },
    { isTTY: true, env: { NO_COLOR: "" }, colored: true },
    { isTTY: true, env: { TERM: "dumb" }, colored: false },
  ])("colors a stream with isTTY $isTTY and env $env: $colored", ({ isTTY, env, colored }, { expect }) => {
    const style = styleFor({ write: () => true, isTTY }, env);

    expect(style.red("x") !== "x").toBe(colored);
  });
});

describe("holderLabel", () => {
  it("shows the holder's type and id, cut to 60 characters, and '-' for none", ({ expect }) => {
    expect(holderLabel({ type: "job", id: "nightly" })).toBe("job nightly");
    expect(holderLabel(null)).toBe("-");
    const long = holderLabel({ type: "gcl-run", id: "x".repeat(100) });
    expect(long).toHaveLength(60);
    expect(long.endsWith("…")).toBe(true);
  });
});

describe("leasesTable", () => {
  it("lists the line under the leases, head first, with who waits and since when", ({ expect }) => {
    const text = leasesTable(
      "db",
      {
        leases: [],
        waiting: 2,
        waiters: [
          {
            position: 1,
            slots: 1,
            mode: "concurrency",
            holder: { type: "job", id: "nightly" },
            waiting_since: at(-5_000),
          },
          { position: 2, slots: 3, mode: "rate_limit", holder: null, waiting_since: at(-1_000) },
        ],
      },
      NOW,
      styleFor({ write: () => true, isTTY: false }, {}),
    );
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("No leases on global concurrency limit 'db'. 2 requests are waiting for slots.");
    expect(lines[1]).toMatch(/^#\s+WAITER\s+SLOTS\s+MODE\s+SINCE$/);
    expect(lines[2]).toMatch(/^1\s+job nightly\s+1\s+concurrency\s+5 s ago$/);
    expect(lines[3]).toMatch(/^2\s+-\s+3\s+rate_limit\s+1 s ago$/);
  });
});
