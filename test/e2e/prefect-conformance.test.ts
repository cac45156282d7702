/**
 * Prefect 3's client against the real Worker: runs `test/prefect/conformance.py` (pydantic 2
 * models with the field types of Prefect's client schemas, replaying what `concurrency()`,
 * `rate_limit()` and `prefect gcl` send) against the Worker on a loopback port: anonymous, and
 * with tokens as Prefect sends them (Basic from PREFECT_API_AUTH_STRING, Bearer from
 * PREFECT_API_KEY). Skipped, saying why, where python3 or pydantic 2 is missing.
 */

import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalWorker, startLocalWorker } from "../helpers/local-worker";

const SCRIPT = join(import.meta.dirname, "..", "prefect", "conformance.py");
const ADMIN = "prefect-admin-token";
const CLIENT = "prefect-client-token";

/** Why the conformance run cannot happen here, or null when python3 has pydantic 2. */
function missingPython(): string | null {
  const probe = spawnSync(
    "python3",
    ["-c", "import pydantic, sys; sys.exit(0 if pydantic.VERSION.startswith('2.') else 3)"],
    {
      encoding: "utf8",
    },
  );
  if (probe.error) {
    return "python3 is not installed";
  }
  if (probe.status !== 0) {
    return probe.status === 3
      ? "python3 has pydantic, but not version 2"
      : "python3 has no pydantic (pip install 'pydantic>=2')";
  }
  return null;
}

const skipReason = missingPython();
if (skipReason) {
  console.warn(`SKIPPED the Prefect client conformance test: ${skipReason}`);
}

/** Runs the script; never throws, so a failing check's output reaches the assertion message. */
async function conformance(url: string, ...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)("python3", [SCRIPT, "--url", url, ...args], {
      timeout: 120_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

describe.skipIf(skipReason !== null)(
  `Prefect 3's client against the Worker${skipReason ? ` (skipped: ${skipReason})` : ""}`,
  () => {
    let anonymous: LocalWorker;
    let secured: LocalWorker;
    beforeAll(async () => {
      [anonymous, secured] = await Promise.all([
        startLocalWorker(),
        startLocalWorker({ GCL_ADMIN_TOKEN: ADMIN, GCL_CLIENT_TOKEN: CLIENT }),
      ]);
    }, 90_000);
    afterAll(async () => {
      await Promise.all([anonymous?.stop(), secured?.stop()]);
    });

    it("works anonymously (npm run dev)", async ({ expect }) => {
      const run = await conformance(anonymous.url);
      expect(run.output).not.toContain("FAIL");
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/ok {3}\[anonymous\] concurrency\(\)/);
    });

    it("works with PREFECT_API_AUTH_STRING (Basic), and refuses a wrong one", async ({ expect }) => {
      const run = await conformance(
        secured.url,
        "--auth-string",
        `prefect:${ADMIN}`,
        "--wrong-auth-string",
        "prefect:wrong",
      );
      expect(run.code, run.output).toBe(0);
      expect(run.output).toContain("a wrong auth string is refused with 401");
    });

    it("works with PREFECT_API_KEY (Bearer)", async ({ expect }) => {
      const run = await conformance(secured.url, "--api-key", ADMIN);
      expect(run.code, run.output).toBe(0);
    });
  },
);
