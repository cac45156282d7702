/** Installed package versions, read from their package.json. */

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export async function version(name: string): Promise<string> {
  const path = require.resolve(`${name}/package.json`);
  return (JSON.parse(await readFile(path, "utf8")) as { version: string }).version;
}
