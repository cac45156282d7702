/**
 * Every shell block in the README either runs in a test, as written, or says it is an
 * illustration and why. A block added without a marker fails here, so a command nobody ran
 * cannot slip into the front page.
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "vitest";
import { shellBlocks } from "./shell-blocks";

const root = join(import.meta.dirname, "..", "..");
const readme = readFileSync(join(root, "README.md"), "utf8");

describe("the README's shell blocks", () => {
  const blocks = shellBlocks(readme);

  it("are all marked: run by a test, or an illustration with a reason", ({ expect }) => {
    expect(blocks.filter((block) => block.marker === undefined).map((block) => `README.md:${block.line}`)).toEqual([]);
  });

  it("name test files that exist", ({ expect }) => {
    const files = blocks.flatMap((block) => /^runs in (\S+)$/.exec(block.marker ?? "")?.slice(1) ?? []);

    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(files.filter((file) => !existsSync(join(root, file)))).toEqual([]);
  });

  it("give a reason when they are illustrations", ({ expect }) => {
    const bare = blocks.filter((block) => /^illustration:\s*$/.test(block.marker ?? ""));

    expect(bare).toEqual([]);
  });

  it("use no <placeholder> a reader would type literally", ({ expect }) => {
    const runnable = blocks.filter((block) => block.marker?.startsWith("runs in"));

    expect(runnable.filter((block) => /<[a-z_]+>/.test(block.code)).map((block) => block.line)).toEqual([]);
  });
});
