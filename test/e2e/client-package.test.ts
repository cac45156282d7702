// The published client as a user gets it: `npm pack`'s tarball installed into an empty project
// with `npm install --offline`, then `edge-gcl/client` and `edge-gcl/async` imported by package
// name (resolved through package.json `exports`) from a plain Node process that talks to the real
// Worker over HTTP, on this Node and on the machine's own Node (20 here) when there is one, and
// type-checked by a consumer using `moduleResolution: "nodenext"`. Also checks what the tarball
// holds: no runtime dependencies, no install-time scripts, README links that resolve inside it.
import { execFile } from "node:child_process";
import { access, readdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../helpers/local-worker";
import { type InstalledPackage, packAndInstall, systemNode } from "../helpers/tarball";

const run = promisify(execFile);

let worker: LocalWorker;
let pkg: InstalledPackage;
let packageDir: string;
let otherNode: { path: string; major: number } | undefined;

beforeAll(async () => {
  [worker, pkg, otherNode] = await Promise.all([startLocalWorker(), packAndInstall(), systemNode()]);
  packageDir = pkg.project;
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await pkg?.remove();
});

/** Every file under `dir`, recursively. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

const SCRIPT = `
import { createClient, AcquireTimeoutError } from "edge-gcl/client";
import { concurrent } from "edge-gcl/async";

const gcl = createClient({ url: process.argv[2] });
const name = "package-" + process.argv[3] + "-" + Date.now();
// Create-if-missing: the second call finds the limit and returns it unchanged.
const first = await gcl.limits.ensure({ name, limit: 2 });
const again = await gcl.limits.ensure({ name, limit: 2 });
const conflict = await gcl.limits.create({ name, limit: 2 }).then(() => "created", (e) => e.code + ": " + e.message);
let inside = 0;
let most = 0;
const jobs = Array.from({ length: 10 }, (_, i) => () =>
  gcl.concurrency(name, async () => {
    inside += 1;
    most = Math.max(most, inside);
    await new Promise((r) => setTimeout(r, 20));
    inside -= 1;
    return i;
  }),
);
const results = [];
for await (const value of concurrent(jobs, { limit: 10 })) {
  results.push(value);
}

// A held lease renews in the background (every 1.5 s here), then is released.
const slot = await gcl.acquire(name, { leaseDuration: 2 });
await new Promise((r) => setTimeout(r, 2300));
const aliveAfterRenewal = !slot.signal.aborted && (await gcl.limits.leases(name)).leases.length === 1;
await slot.release();

const timeout = await gcl.acquire(name, { occupy: 2, timeoutSeconds: 0 }).then(
  (s) => s.release().then(() => "granted"),
  (error) => (error instanceof AcquireTimeoutError ? "timeout" : String(error)),
);
const held = await gcl.acquire(name, { occupy: 2 });
const refused = await gcl.acquire(name, { timeoutSeconds: 0.2 }).then(() => "granted", (e) => e.name);
await held.release();
console.log(JSON.stringify({ ensured: first.id === again.id, conflict: conflict.replace(name, "NAME"), results: results.length, withinLimit: most >= 1 && most <= 2, aliveAfterRenewal, timeout, refused }));
// No process.exit: the process must end on its own once the work is done (no timers left behind).
`;

const EXPECTED = {
  ensured: true,
  conflict:
    "already_exists: Global concurrency limit 'NAME' already exists. Use limits.ensure() to create it only if it is missing, or limits.update() to change it.",
  results: 10,
  withinLimit: true,
  aliveAfterRenewal: true,
  timeout: "granted",
  refused: "AcquireTimeoutError",
};

/** Every relative link target in a markdown text (`[text](target)`), without its #anchor. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => (match[1] ?? "").split("#")[0] ?? "")
    .filter((target) => target !== "" && !/^[a-z]+:/i.test(target));
}

describe("the packed tarball", () => {
  it("holds the build, the README, the license and the docs it links to, and no sources or tests", ({ expect }) => {
    expect(pkg.packed).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "LICENSE",
        "dist/client/index.js",
        "dist/client/index.d.ts",
        "dist/async/index.js",
        "dist/cli/bin.js",
        "docs/client.md",
        "docs/cli.md",
        "docs/deploy.md",
      ]),
    );
    expect(pkg.packed.filter((path) => /^(src|test|bench|scripts)\//.test(path))).toEqual([]);
  });

  it("installs offline as one package: no dependencies, no install-time scripts", async ({ expect }) => {
    const modules = (await readdir(join(packageDir, "node_modules"))).filter((entry) => !entry.startsWith("."));
    const manifest = JSON.parse(await readFile(join(pkg.installed, "package.json"), "utf8")) as Record<
      string,
      Record<string, string>
    >;

    expect(modules).toEqual(["edge-gcl"]);
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(
      Object.keys(manifest.scripts ?? {}).filter((script) => /^(pre|post)?install$|^prepare$/.test(script)),
    ).toEqual([]);
    expect(manifest).toMatchObject({ license: "MIT", engines: { node: ">=20" } });
    expect(pkg.installOutput).not.toMatch(/warn/i);
  });

  it("has README and docs links that resolve inside the installed package", async ({ expect }) => {
    const broken: string[] = [];
    const pages = [
      "README.md",
      ...(await readdir(join(pkg.installed, "docs")))
        .filter((file) => file.endsWith(".md"))
        .map((file) => `docs/${file}`),
    ];
    for (const page of pages) {
      for (const target of relativeLinks(await readFile(join(pkg.installed, page), "utf8"))) {
        const path = join(pkg.installed, dirname(page), target);
        await access(path).catch(() => broken.push(`${page} -> ${target}`));
      }
    }

    expect(broken).toEqual([]);
  });
});

describe("the installed package", () => {
  it("imports as `edge-gcl/client` and `edge-gcl/async` in plain Node and limits over real HTTP, then lets the process exit", async ({
    expect,
  }) => {
    const scriptPath = join(packageDir, "check.mjs");
    await writeFile(scriptPath, SCRIPT);

    const { stdout } = await run(process.execPath, [scriptPath, worker.url, "current"], {
      cwd: packageDir,
      timeout: 30_000,
    });

    expect(JSON.parse(stdout)).toEqual(EXPECTED);
  });

  it("runs the same on the machine's own Node, when it has one (the README says Node >= 20 for the client)", async ({
    expect,
    skip,
  }) => {
    if (otherNode === undefined) {
      skip("no node on PATH outside node_modules");
      return;
    }
    const scriptPath = join(packageDir, "check-system-node.mjs");
    await writeFile(scriptPath, SCRIPT);

    const { stdout } = await run(otherNode.path, [scriptPath, worker.url, `node${otherNode.major}`], {
      cwd: packageDir,
      timeout: 30_000,
    });

    expect(otherNode.major).toBeGreaterThanOrEqual(20);
    expect(JSON.parse(stdout)).toEqual(EXPECTED);
  });

  it("ships declarations that a `nodenext` TypeScript consumer resolves", async ({ expect }) => {
    await writeFile(
      join(packageDir, "consumer.ts"),
      `import { createClient, type GclClient, type Slots, GclError } from "edge-gcl/client";
import { concurrent, type SlotAcquirer } from "edge-gcl/async";
const gcl: GclClient = createClient({ url: "http://127.0.0.1:8787" });
const client: SlotAcquirer = gcl;
export async function demo(): Promise<number> {
  const slot: Slots = await gcl.acquire("db");
  await slot.release();
  for await (const n of concurrent([async () => 1], { slots: { client, names: "db" } })) {
    return n + (gcl.url.length > 0 && GclError.name ? 1 : 0) + (await gcl.concurrency("db", async () => 1));
  }
  return 0;
}
`,
    );
    await writeFile(
      join(packageDir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "ES2024",
          lib: ["ES2024", "ESNext.Disposable", "DOM"],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ["consumer.ts"],
      }),
    );
    const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");

    const outcome = await run(process.execPath, [tsc, "-p", join(packageDir, "tsconfig.json")], {
      cwd: packageDir,
    }).then(
      () => "ok",
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );

    expect(outcome).toBe("ok");
  });

  it("contains no Worker-only, Node-only or server-only imports", async ({ expect }) => {
    const offenders: string[] = [];
    // dist/cli is the `gcl` command line: Node-only by design, and not importable (no `exports` entry).
    const cli = join(pkg.installed, "dist", "cli");
    for (const file of (await files(join(pkg.installed, "dist"))).filter((path) => !path.startsWith(cli))) {
      const text = await readFile(file, "utf8");
      if (/from\s+["'](cloudflare:|node:|zod|hono|@hono\/)/.test(text)) {
        offenders.push(file);
      }
    }

    expect(offenders).toEqual([]);
    expect((await files(join(pkg.installed, "dist"))).map((file) => file.slice(pkg.installed.length)).sort()).toContain(
      "/dist/client/index.d.ts",
    );
  });
});
