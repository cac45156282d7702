/**
 * The `gcl` program against the real Worker on a loopback port, called in process through its
 * core, `run(argv, io)`, with in-memory output: help and usage errors, the connection settings
 * (--url, GCL_URL, an unreachable Worker) and tokens (GCL_TOKEN, --token, the client token's
 * reach). The commands have files of their own: cli-limits (ls, inspect, create, update),
 * cli-limit-state (delete, enable, disable, leases), cli-run and cli-rate-limit.
 */

import { describe, it } from "vitest";
import { useCliWorker } from "../helpers/cli-worker";
import { uniqueName } from "../helpers/common";

const ADMIN_TOKEN = "cli-test-admin-token";
const CLIENT_TOKEN = "cli-test-client-token";

const worker = useCliWorker();
const secured = useCliWorker({ vars: { GCL_ADMIN_TOKEN: ADMIN_TOKEN, GCL_CLIENT_TOKEN: CLIENT_TOKEN } });
const { gcl } = worker;

// ── The program ──

describe("gcl", () => {
  it("prints its usage, every command and the connection settings for --help, and exits 0", async ({ expect }) => {
    const { code, out } = await gcl(["--help"]);

    expect(code).toBe(0);
    for (const command of [
      "ls",
      "inspect",
      "create",
      "update",
      "delete",
      "enable",
      "disable",
      "leases",
      "run",
      "rate-limit",
    ]) {
      expect(out).toMatch(new RegExp(`^  ${command} `, "m"));
    }
    expect(out).toContain("GCL_URL");
    expect(out).toContain("GCL_TOKEN");
  });

  it("prints a command's help for `gcl help <command>` and `<command> --help`", async ({ expect }) => {
    const viaHelp = await gcl(["help", "run"]);
    const viaFlag = await gcl(["run", "--help"]);

    expect(viaHelp.code).toBe(0);
    expect(viaFlag.code).toBe(0);
    expect(viaHelp.out).toContain("--lease-duration");
    expect(viaFlag.out).toBe(viaHelp.out);
  });

  it.for([
    { argv: [], says: "Usage: gcl" },
    { argv: ["frobnicate"], says: "unknown command 'frobnicate'" },
    { argv: ["ls", "--bogus"], says: "unknown option '--bogus'" },
    { argv: ["ls", "extra"], says: "too many arguments" },
    { argv: ["ls", "-o", "yaml"], says: "Allowed choices are json" },
  ])("exits 2 with a usage message for `gcl $argv`", async ({ argv, says }, { expect }) => {
    const { code, out, err } = await gcl(argv);

    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain(says);
  });

  it("says how to fix an unreachable Worker, naming --url and GCL_URL, and exits 1", async ({ expect }) => {
    const { code, err } = await gcl(["ls", "--url", "http://127.0.0.1:1"]);

    expect(code).toBe(1);
    expect(err).toContain("Could not reach the edge-gcl Worker at http://127.0.0.1:1");
    expect(err).toContain("--url or GCL_URL");
  });

  it("takes --url over GCL_URL, anywhere before `--`", async ({ expect }) => {
    const name = uniqueName("url");
    await worker.client.limits.create({ name, limit: 1 });

    const before = await gcl(["--url", worker.url, "inspect", name], { env: { GCL_URL: "http://127.0.0.1:1" } });
    const after = await gcl(["inspect", name, "--url", worker.url], { env: { GCL_URL: "http://127.0.0.1:1" } });

    expect(before.code).toBe(0);
    expect(after.code).toBe(0);
  });

  it("refuses a --url that is not an absolute http(s) URL with a usage error", async ({ expect }) => {
    const { code, err } = await gcl(["ls", "--url", "localhost:8787"]);

    expect(code).toBe(2);
    expect(err).toContain("--url must be an absolute http(s) URL, got 'localhost:8787'");
  });
});

// ── Tokens ──

describe("gcl against a Worker with tokens", () => {
  const url = (): string => secured.url;

  it("says when there are no limits, with the admin token from GCL_TOKEN", async ({ expect }) => {
    const table = await gcl(["ls"], { env: { GCL_URL: url(), GCL_TOKEN: ADMIN_TOKEN } });
    const json = await gcl(["ls", "--json"], { env: { GCL_URL: url(), GCL_TOKEN: ADMIN_TOKEN } });

    expect(table).toMatchObject({ code: 0, out: "No global concurrency limits found.\n" });
    expect(json).toMatchObject({ code: 0, out: "[]\n" });
  });

  it("says how to pass a token when none is given, and exits 1", async ({ expect }) => {
    const { code, err } = await gcl(["ls"], { env: { GCL_URL: url() } });

    expect(code).toBe(1);
    expect(err).toContain(`The Worker at ${url()} refused the token`);
    expect(err).toContain("--token or GCL_TOKEN");
  });

  it("takes --token over GCL_TOKEN", async ({ expect }) => {
    const name = uniqueName("token");

    const { code } = await gcl(["create", name, "--limit", "1", "--token", ADMIN_TOKEN], {
      env: { GCL_URL: url(), GCL_TOKEN: "wrong" },
    });

    expect(code).toBe(0);
  });

  it("says the client token may take slots but not manage limits", async ({ expect }) => {
    const name = uniqueName("client-token");
    await gcl(["create", name, "--limit", "1"], { env: { GCL_URL: url(), GCL_TOKEN: ADMIN_TOKEN } });

    const create = await gcl(["create", uniqueName("client-token"), "--limit", "1"], {
      env: { GCL_URL: url(), GCL_TOKEN: CLIENT_TOKEN },
    });
    const runs = await gcl(["run", name, "--", process.execPath, "-e", "process.exit(0)"], {
      env: { GCL_URL: url(), GCL_TOKEN: CLIENT_TOKEN },
    });

    expect(create.code).toBe(1);
    expect(create.err).toContain("This token may take slots but not manage limits");
    expect(create.err).toContain("admin token (GCL_ADMIN_TOKEN)");
    expect(runs.code).toBe(0);
  });
});
