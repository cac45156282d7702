/**
 * The shell blocks of a markdown page and what each is marked as: `<!-- runs in <test file> -->`
 * (the test runs it as written) or `<!-- illustration: <why> -->` (it cannot run in a test: it
 * needs a Cloudflare account, or starts a server that runs until stopped). Shared by the check
 * that every block is marked (test/docs/commands.test.ts) and the test that runs them
 * (test/e2e/readme.test.ts).
 */

export interface ShellBlock {
  /** The commands, as written. */
  code: string;
  /** `runs in <file>`, `illustration: <why>`, or undefined when unmarked. */
  marker: string | undefined;
  /** 1-based line of the opening fence, for messages. */
  line: number;
}

export function shellBlocks(markdown: string): ShellBlock[] {
  const blocks: ShellBlock[] = [];
  for (const match of markdown.matchAll(/```(?:sh|bash|console)\n([\s\S]*?)```/g)) {
    const before = markdown.slice(0, match.index).trimEnd();
    const marker = /<!--\s*((?:runs in|illustration:)[^>]*?)\s*-->$/.exec(before)?.[1];
    blocks.push({ code: match[1] ?? "", marker, line: before.split("\n").length + 1 });
  }
  return blocks;
}
