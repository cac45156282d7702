/**
 * The version `gcl --version` prints: the `version` of the package's own package.json, read at
 * run time. Both this source file (`src/cli/`) and the bundle (`dist/cli/bin.js`) sit two folders
 * below the package root, so one relative path serves the clone and an installed package alike.
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function packageVersion(): string {
  try {
    const manifest: unknown = JSON.parse(
      readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url).href), "utf8"),
    );
    if (
      typeof manifest === "object" &&
      manifest !== null &&
      "version" in manifest &&
      typeof manifest.version === "string"
    ) {
      return manifest.version;
    }
  } catch {
    // A copied-out bin.js without its package: say so rather than fail every command.
  }
  return "unknown";
}
