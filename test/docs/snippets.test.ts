/**
 * The TypeScript snippets in README.md and docs/client.md are compiled and run by
 * test/worker/client-examples.test.ts. This checks they stay the same code: every line of every
 * snippet (imports and the `export default` wrapper aside) must appear in that test file.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

function snippets(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
}

const compiledLines = new Set(
  read("test/worker/client-examples.test.ts")
    .split("\n")
    .map((line) => line.trim()),
);

describe.for(["README.md", "docs/client.md"])("the snippets of %s", (path) => {
  const clientSnippets = snippets(read(path)).filter((code) => code.includes('from "edge-gcl/client"'));

  it("include the client examples", ({ expect }) => {
    expect(clientSnippets.length).toBeGreaterThanOrEqual(2);
  });

  it.for(clientSnippets.map((code, index) => [index, code] as const))(
    "are compiled and run: snippet %i",
    ([, code], { expect }) => {
      const lines = code
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("import ") && line !== "export default {");
      expect(lines.filter((line) => !compiledLines.has(line))).toEqual([]);
    },
  );
});
