// The published client as a user gets it: `npm run build`'s output, imported by its package name
// (`edge-gcl/client`, resolved through package.json `exports`) from a plain Node process that talks
// to the real Worker over HTTP, and type-checked by a consumer using `moduleResolution: "nodenext"`.
// Builds into a temporary copy of the package, so it never depends on a stale `dist/`.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../helpers/local-worker";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

let worker: LocalWorker;
let packageDir: string;

beforeAll(async () => {
  const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as Record<string, unknown>;
  packageDir = await mkdtemp(join(tmpdir(), "edge-gcl-package-"));
  const { name, type, exports } = manifest;
  await writeFile(join(packageDir, "package.json"), JSON.stringify({ name, type, exports }, null, 2));
  const [started] = await Promise.all([
    startLocalWorker(),
    run(process.execPath, [join(root, "scripts/build.mjs"), "--outdir", join(packageDir, "dist")], { cwd: root }),
  ]);
  worker = started;
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  if (packageDir) {
    await rm(packageDir, { recursive: true, force: true });
  }
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
const name = "package-" + Date.now();
await gcl.limits.create({ name, limit: 2 });
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
console.log(JSON.stringify({ results: results.length, withinLimit: most >= 1 && most <= 2, aliveAfterRenewal, timeout, refused }));
// No process.exit: the process must end on its own once the work is done (no timers left behind).
`;

describe("the built package", () => {
  it("imports as `edge-gcl/client` in plain Node and limits over real HTTP, then lets the process exit", async ({
    expect,
  }) => {
    const scriptPath = join(packageDir, "check.mjs");
    await writeFile(scriptPath, SCRIPT);

    const { stdout } = await run(process.execPath, [scriptPath, worker.url], { cwd: packageDir, timeout: 30_000 });

    expect(JSON.parse(stdout)).toEqual({
      results: 10,
      withinLimit: true,
      aliveAfterRenewal: true,
      timeout: "granted",
      refused: "AcquireTimeoutError",
    });
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

    const outcome = await run(process.execPath, [tsc, "-p", join(packageDir, "tsconfig.json")], { cwd: packageDir }).then(
      () => "ok",
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );

    expect(outcome).toBe("ok");
  });

  it("contains no Worker-only, Node-only or server-only imports", async ({ expect }) => {
    const offenders: string[] = [];
    // dist/cli is the `gcl` command line: Node-only by design, and not importable (no `exports` entry).
    const cli = join(packageDir, "dist", "cli");
    for (const file of (await files(join(packageDir, "dist"))).filter((path) => !path.startsWith(cli))) {
      const text = await readFile(file, "utf8");
      if (/from\s+["'](cloudflare:|node:|zod|hono|@hono\/)/.test(text)) {
        offenders.push(file);
      }
    }

    expect(offenders).toEqual([]);
    expect((await files(join(packageDir, "dist"))).map((file) => file.slice(packageDir.length)).sort()).toContain(
      "/dist/client/index.d.ts",
    );
  });
});
