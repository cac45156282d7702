#!/usr/bin/env node
// `gcl`, the command line of edge-gcl (docs/cli.md): wires the real process into `run()`.
import { nodeIo } from "./io";
import { run } from "./run";

process.exitCode = await run(process.argv.slice(2), nodeIo());
