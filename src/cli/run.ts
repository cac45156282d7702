/**
 * The `gcl` command line: `run(argv, io)` parses the arguments with commander, runs one command
 * and resolves with its exit code, without touching `process` (everything comes through `io`), so
 * tests call it directly. 0: success; 1: a failure the user can act on, reported as what happened
 * and how to fix it; 2: a usage error; `gcl run`: its command's exit code.
 */

import { Command, CommanderError, Option } from "commander";
import {
  createLimit,
  deleteLimit,
  ensureLimit,
  inspectLimit,
  listLimits,
  setActive,
  showLeases,
  updateLimit,
  updatePatch,
} from "./admin";
import type { CreateOptions, DeleteOptions, UpdateOptions } from "./admin";
import {
  commandAfterDashes,
  decayRate,
  leaseSeconds,
  limitName,
  limitNames,
  occupyCount,
  seconds,
  slotCount,
} from "./arguments";
import { type ConnectionOptions, Context, DEFAULT_URL } from "./context";
import { EXIT, explain, RATE_LIMIT, type Subject } from "./errors";
import { hasColors, styleFor } from "./format";
import { type HistoryOptions, showHistory } from "./history";
import { rateLimit, runHolding, type RateLimitOptions, type RunOptions } from "./hold";
import type { CliIo } from "./io";
import { packageVersion } from "./version";
import { intervalSeconds, top, type TopOptions } from "./top";

interface JsonFlags {
  json?: boolean;
  output?: "json";
}

const ROOT_HELP = `
Examples (\`npx edge-gcl\` is the same command, without installing it first):
  gcl create db --limit 5                              # at most 5 at once
  gcl ensure db --limit 5                              # the same, unless db exists
  gcl create openai --limit 10 --slot-decay-per-second 10   # 10 per second
  gcl ls
  gcl run db -- pg_dump mydb                           # hold a slot of db while pg_dump runs
  gcl rate-limit openai && curl https://api.example.com/   # wait for the rate limit

Connection: --url or GCL_URL (default ${DEFAULT_URL}), --token or GCL_TOKEN.
Exit codes: 0 success, 1 failure (the message says how to fix it), 2 usage error;
\`gcl run\` exits with its command's exit code.`;

const RUN_HELP = `
COMMAND runs with the slots held; the lease is renewed in the background and
released however COMMAND ends. SIGINT, SIGTERM and SIGHUP are passed on to it.
A limit that does not exist is an error: COMMAND does not start (exit 1); with
--allow-missing it is skipped with a warning, as Prefect does. While waiting on
a stderr that is not a terminal, a line every 5 s says what gcl waits for.
If the lease is lost (the limit deleted, the Worker unreachable), gcl warns and
COMMAND goes on (with --strict: COMMAND gets SIGTERM).

Exit code: COMMAND's own; 128 + N if it died of signal N; 127 if it was not
found; 1 if the slots could not be had (COMMAND never starts); 2 usage error.

Examples:
  gcl run db -- pg_dump mydb
  gcl run db,backups --occupy 2 --timeout 600 -- ./nightly.sh --full`;

const RATE_LIMIT_HELP = `
Exits 0 once admitted (nothing to release: the limit's decay frees the slots), 1 on timeout
or when a limit does not exist (--allow-missing: skip it with a warning).

Example:
  for id in $(cat ids); do gcl rate-limit openai && ./summarize "$id"; done`;

/** `--json`, and Prefect's `-o json` for those who type it from habit. */
function withJson(command: Command, what = "print the API's JSON instead of a table"): Command {
  return command
    .option("--json", what)
    .addOption(new Option("-o, --output <format>", "same as --json").choices(["json"]));
}

function wantsJson(flags: JsonFlags): boolean {
  return flags.json === true || flags.output === "json";
}

/** Runs `gcl` with `argv` (without the `node` and script paths) and resolves with the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  let subject: Subject = { names: [], url: DEFAULT_URL };
  const errorStyle = styleFor(io.stderr, io.env);

  const program = new Command("gcl")
    .description("Manage edge-gcl's global concurrency limits, and use them from shell scripts and cron jobs.")
    // Throw instead of calling process.exit: run() turns every outcome into an exit code.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      outputError: (text, write) => write(errorStyle.red(text)),
      getOutHelpWidth: () => (io.stdout.isTTY === true ? (io.stdout.columns ?? 80) : 80),
      getErrHelpWidth: () => (io.stderr.isTTY === true ? (io.stderr.columns ?? 80) : 80),
      getOutHasColors: () => hasColors(io.stdout, io.env),
      getErrHasColors: () => hasColors(io.stderr, io.env),
    })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .version(packageVersion(), "-V, --version", "print the version of gcl (the edge-gcl package)")
    .showHelpAfterError("(add --help for usage)")
    // Not commander's .env(): that reads process.env, and the environment comes through io.
    .option("--url <url>", `the Worker's base URL (env: GCL_URL; default: ${DEFAULT_URL})`)
    .option(
      "--token <token>",
      "bearer token: GCL_ADMIN_TOKEN, or GCL_CLIENT_TOKEN for run and rate-limit (env: GCL_TOKEN)",
    )
    .addHelpText("after", ROOT_HELP);

  /** Connects, remembers what the command is about (for error messages), and runs it. */
  async function execute(
    names: readonly string[],
    work: (context: Context) => Promise<number>,
    extra: Partial<Subject> = {},
  ): Promise<void> {
    const context = new Context(io, program.opts<ConnectionOptions>());
    subject = { names, url: context.url, ...extra };
    exitCode = await work(context);
  }

  function subcommand(name: string): Command {
    return program.command(name).showHelpAfterError(`(run \`gcl ${name} --help\` for usage)`);
  }

  withJson(
    subcommand("ls").description("list every limit: name, active, limit, active slots, decay, last update"),
  ).action(async (flags: JsonFlags) => execute([], (context) => listLimits(context, { json: wantsJson(flags) })));

  withJson(
    subcommand("inspect").description("show one limit").argument("<name>", "the limit's name or id", limitName),
  ).action(async (name: string, flags: JsonFlags) =>
    execute([name], (context) => inspectLimit(context, name, { json: wantsJson(flags) })),
  );

  /** The options `create` and `ensure` share. */
  const creating = (command: Command): Command =>
    withJson(command, "print the limit's record (the API's JSON)")
      .argument("<name>", "the limit's name", limitName)
      .requiredOption("-l, --limit <n>", "slots that may be held at once", slotCount)
      .option("--slot-decay-per-second <rate>", "slots freed per second without a release (a rate limit)", decayRate)
      .option("--active-slots <n>", "slots taken from the start", slotCount)
      .option("--disable", "create it inactive: it admits everything without counting");

  creating(subcommand("create").description("create a limit; with --slot-decay-per-second it is a rate limit"))
    .addHelpText(
      "after",
      "\nExamples:\n  gcl create db --limit 5\n  gcl create openai --limit 10 --slot-decay-per-second 10",
    )
    .action(async (name: string, options: CreateOptions & JsonFlags) =>
      execute([name], (context) => createLimit(context, name, { ...options, json: wantsJson(options) })),
    );

  creating(
    subcommand("ensure").description(
      "create a limit unless one of that name exists (safe to repeat; an existing limit is left as it is)",
    ),
  )
    .addHelpText(
      "after",
      "\nExits 0 whether it created the limit or found it. If the existing limit's settings differ,\na warning says so and which `gcl update` would match them.\n\nExample:\n  gcl ensure backups --limit 1 && gcl run backups -- ./backup.sh",
    )
    .action(async (name: string, options: CreateOptions & JsonFlags) =>
      execute([name], (context) => ensureLimit(context, name, { ...options, json: wantsJson(options) })),
    );

  withJson(subcommand("update"), "print the limit's record after the change")
    .description("change a limit's settings")
    .argument("<name>", "the limit's name or id", limitName)
    .option("-l, --limit <n>", "slots that may be held at once", slotCount)
    .option("--slot-decay-per-second <rate>", "slots freed per second (0: not a rate limit)", decayRate)
    .option("--active-slots <n>", "set the slots no lease holds (anonymous slots, or a rate limit's bucket)", slotCount)
    .addOption(new Option("--enable", "make it count again").conflicts("disable"))
    .addOption(new Option("--disable", "make it admit everything without counting"))
    .action(async (name: string, options: UpdateOptions & JsonFlags, command: Command) => {
      const patch = updatePatch(options);
      if (Object.keys(patch).length === 0) {
        command.error(
          "error: nothing to update: give at least one of --limit, --slot-decay-per-second, --active-slots, --enable, --disable",
          {
            exitCode: EXIT.usage,
            code: "gcl.nothingToUpdate",
          },
        );
      }
      await execute([name], (context) => updateLimit(context, name, patch, { json: wantsJson(options) }));
    });

  withJson(subcommand("delete"), "print the deleted limit's record")
    .description("delete a limit (its leases are revoked); asks first on a terminal")
    .argument("<name>", "the limit's name or id", limitName)
    .option("-y, --yes", "do not ask: needed when stdin is not a terminal")
    .action(async (name: string, options: DeleteOptions & JsonFlags) =>
      execute([name], (context) => deleteLimit(context, name, { ...options, json: wantsJson(options) })),
    );

  withJson(subcommand("enable"), "print the limit's record after the change")
    .description("make a disabled limit count again")
    .argument("<name>", "the limit's name or id", limitName)
    .action(async (name: string, flags: JsonFlags) =>
      execute([name], (context) => setActive(context, name, true, { json: wantsJson(flags) })),
    );

  withJson(subcommand("disable"), "print the limit's record after the change")
    .description("make a limit admit everything without counting")
    .argument("<name>", "the limit's name or id", limitName)
    .action(async (name: string, flags: JsonFlags) =>
      execute([name], (context) => setActive(context, name, false, { json: wantsJson(flags) })),
    );

  withJson(
    subcommand("leases")
      .description("show who holds a limit's slots, and how many wait")
      .argument("<name>", "the limit's name or id", limitName),
  ).action(async (name: string, flags: JsonFlags) =>
    execute([name], (context) => showLeases(context, name, { json: wantsJson(flags) })),
  );

  // History and a live view (issue 14).
  withJson(
    subcommand("history")
      .description("a limit's last hour (or day): saturation, refusals, waits")
      .argument("<name>", "the limit's name or id", limitName),
  )
    .addOption(
      new Option("--resolution <width>", "10s buckets for the last hour, 1m for the last day")
        .choices(["10s", "1m"])
        .default("10s"),
    )
    .option("--all", "show idle buckets too")
    .action(async (name: string, flags: JsonFlags & HistoryOptions) =>
      execute([name], (context) => showHistory(context, name, { ...flags, json: wantsJson(flags) })),
    );

  withJson(subcommand("top").description("live view of every limit: utilization, waiting, grants/s (admin token)"))
    .option("--interval <seconds>", "seconds between frames (0.2-3600)", intervalSeconds, 2)
    .option("--once", "print one frame (after two samples --interval apart) and exit")
    .action(async (flags: JsonFlags & TopOptions) =>
      execute([], (context) => top(context, { ...flags, json: wantsJson(flags) })),
    );

  subcommand("run")
    .description("hold slots while COMMAND runs, and exit with its exit code")
    .usage("[options] <names> -- <command> [args...]")
    .argument("<names>", "limit names, separated by commas", limitNames)
    .argument("<command...>", "the command to run, after --")
    .option("--occupy <n>", "slots to take on each limit", occupyCount, 1)
    .option(
      "--timeout <seconds>",
      "give up (exit 1, COMMAND not started) after this long; default: wait forever",
      seconds,
    )
    .option(
      "--lease-duration <seconds>",
      "lease length (1-86400), renewed while COMMAND runs; if gcl is killed, its slots come back after this long",
      leaseSeconds,
      60,
    )
    .addOption(
      new Option(
        "--allow-missing",
        "skip a limit that does not exist, with a warning (Prefect's default), instead of failing",
      ),
    )
    .addOption(
      new Option("--strict", "stop COMMAND (SIGTERM) if the lease is lost, instead of a warning").conflicts(
        "allowMissing",
      ),
    )
    .addHelpText("after", RUN_HELP)
    // Let the action name the mistake: an unknown option, or a COMMAND without `--` before it.
    .allowUnknownOption()
    .action(async (names: string[], _command: string[], options: RunOptions, command: Command) => {
      const parsed = commandAfterDashes(argv, command.args);
      if ("problem" in parsed) {
        command.error(`error: ${parsed.problem}`, { exitCode: EXIT.usage, code: "gcl.commandLine" });
      }
      await execute(names, (context) => runHolding(context, names, parsed.command, options, subject), {
        occupy: options.occupy,
      });
    });

  withJson(subcommand("rate-limit"), "print the limits that admitted the caller, and any skipped, as JSON")
    .description("wait until the rate limits admit one more (for pacing shell loops)")
    .argument("<names>", "limit names, separated by commas", limitNames)
    .option("--occupy <n>", "slots to take on each limit", occupyCount, 1)
    .option("--timeout <seconds>", "give up (exit 1) after this long; default: wait forever", seconds)
    .option(
      "--allow-missing",
      "skip a limit that does not exist, with a warning (Prefect's default), instead of failing",
    )
    .addHelpText("after", RATE_LIMIT_HELP)
    .action(async (names: string[], options: RateLimitOptions & JsonFlags) =>
      execute(names, (context) => rateLimit(context, names, { ...options, json: wantsJson(options) }), {
        occupy: options.occupy,
        waitingFor: RATE_LIMIT,
      }),
    );

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other parse failure has already been printed.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const failure = explain(error, subject);
    const hint = failure.hint === undefined ? "" : `\n  ${failure.hint}`;
    io.stderr.write(`${errorStyle.red("Error:")} ${failure.message}${hint}\n`);
    return failure.exitCode;
  }
}
