#!/usr/bin/env node
// Builds the published entries (`edge-gcl/client`, `edge-gcl/async`) into `dist/`: ESM JavaScript
// and `.d.ts` from `tsc -p tsconfig.build.json`, with the `.js` extensions that Node's ESM loader
// (and `moduleResolution: "nodenext"`) require added to the extensionless relative imports the
// sources use; then the command line (`edge-gcl`, alias `gcl`) as one esbuild bundle,
// `dist/cli/bin.js`, with commander inside it, so that installing the package installs nothing
// else. Run by `npm run build` and by `npm pack` (prepack), never at a consumer's install.
// Usage: `node scripts/build.mjs [--outdir <dir>]`. Node >= 20; needs the devDependencies.

import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

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
      const fixed = text.replace(
        SPECIFIER,
        (_, head, quote, spec) => `${head}${quote}${withExtension(file, spec)}${quote}`,
      );
      if (fixed !== text) {
        writeFileSync(file, fixed);
      }
    }
  }
}

rewrite(outDir);

// The CLI (type-checked by `npm run typecheck` with Node's types) bundled for Node 20: esbuild keeps
// the entry's shebang. commander is CommonJS and `require`s Node's modules, which an ES module
// bundle can only do through a real `require`.
const bin = join(outDir, "cli", "bin.js");
await build({
  entryPoints: [join(root, "src/cli/bin.ts")],
  outfile: bin,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  banner: {
    js: 'import { createRequire as __gclCreateRequire } from "node:module";\nconst require = __gclCreateRequire(import.meta.url);',
  },
  legalComments: "inline",
  logLevel: "warning",
});
// npm links `bin` entries as they are: the shebang needs the executable bit.
chmodSync(bin, 0o755);
// On stderr: `npm pack --json` runs this (prepack) and its stdout must stay JSON.
console.error(`built ${outDir}`);
