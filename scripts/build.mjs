#!/usr/bin/env node
// Builds the published entries (`edge-gcl/client`, `edge-gcl/async`) into `dist/`: ESM JavaScript
// and `.d.ts` from `tsc -p tsconfig.build.json`; then the `gcl` command line (`src/cli`, compiled
// with Node's types by its own tsconfig) into `dist/cli/`, its `bin.js` made executable; then adds
// the `.js` extensions that Node's ESM loader (and `moduleResolution: "nodenext"`) require to the
// extensionless relative imports the sources use. Usage: `node scripts/build.mjs [--outdir <dir>]`.
// Node >= 20, no dependencies.

import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdirFlag = process.argv.indexOf("--outdir");
const outDir = resolve(root, outdirFlag === -1 ? "dist" : (process.argv[outdirFlag + 1] ?? "dist"));

// The dashboard's bundle first: the Worker (and its type-check) imports it.
execFileSync(process.execPath, [join(root, "scripts/build-dashboard.mjs")], { cwd: root, stdio: "inherit" });

rmSync(outDir, { recursive: true, force: true });
// `typescript/bin/tsc` is not in the package's `exports`: find it next to its package.json.
const tsc = join(dirname(createRequire(join(root, "package.json")).resolve("typescript/package.json")), "bin", "tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", outDir], {
  cwd: root,
  stdio: "inherit",
});
// The CLI needs Node's types, which the client's build must not see. It re-emits the client files
// it imports, byte for byte the same; their declarations come from the first build.
execFileSync(
  process.execPath,
  [tsc, "-p", join(root, "src/cli/tsconfig.json"), "--noEmit", "false", "--rootDir", join(root, "src"), "--outDir", outDir],
  { cwd: root, stdio: "inherit" },
);

/** `from "./x"`, `import("../y")`, `export * from "./z"`: every relative specifier tsc emits. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']*)\2/g;

function withExtension(file, specifier) {
  if (/\.(m?js|json)$/.test(specifier)) {
    return specifier;
  }
  const target = resolve(dirname(file), specifier);
  if (existsSync(`${target}.js`) || existsSync(`${target}.d.ts`)) {
    return `${specifier}.js`;
  }
  if (existsSync(join(target, "index.js")) || existsSync(join(target, "index.d.ts"))) {
    return `${specifier}/index.js`;
  }
  throw new Error(`${file}: cannot resolve relative import "${specifier}"`);
}

function rewrite(dir) {
  for (const entry of readdirSync(dir)) {
    const file = join(dir, entry);
    if (statSync(file).isDirectory()) {
      rewrite(file);
    } else if (file.endsWith(".js") || file.endsWith(".d.ts")) {
      const text = readFileSync(file, "utf8");
      const fixed = text.replace(SPECIFIER, (_, head, quote, spec) => `${head}${quote}${withExtension(file, spec)}${quote}`);
      if (fixed !== text) {
        writeFileSync(file, fixed);
      }
    }
  }
}

rewrite(outDir);
// npm links `bin` entries as they are: the shebang needs the executable bit (`npx gcl` in this repo).
chmodSync(join(outDir, "cli", "bin.js"), 0o755);
console.log(`built ${outDir}`);
