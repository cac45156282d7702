/**
 * The build-time generator of `/openapi.json` runs on plain Node from the TypeScript sources, and
 * the committed document is what it writes (so `npm run openapi` after a route change is all it takes).
 */

import { execFileSync } from "node:child_process";
import { describe, it } from "vitest";

describe("scripts/openapi.mjs", () => {
  it("finds the committed document current", ({ expect }) => {
    const run = () =>
      execFileSync(process.execPath, ["scripts/openapi.mjs", "--check"], { encoding: "utf8", stdio: "pipe" });
    expect(run).not.toThrow();
  });
});
