#!/usr/bin/env node
/**
 * The `changegate` command, for auditors and ops:
 *   changegate config check [FILE]               validate a policy file (key path and line of each problem)
 *   changegate config schema [--out FILE]        the policy's JSON Schema
 *   changegate check owner/name#N                evaluate one PR and print its digest; posts nothing
 *   changegate rehearse --policy F --repo R --since D  past merges against a proposed policy
 *   changegate audit export --from --to …        the population of merged changes in a period
 *   changegate audit show owner/name#N           every record of one PR
 *   changegate audit verify [--checkpoints F]    walk the hash chains (and check them against signed checkpoints)
 *   changegate audit checkpoint [--out F]        sign every chain head and publish it
 *   changegate audit report --from --to --out    the auditor's HTML report
 *   changegate audit sample --from --to --size --seed --out DIR  a reproducible sample with evidence
 *   changegate audit scan --since …              record the merges the webhooks missed
 *   changegate audit completeness --from --to …  GitHub's merges against the records
 *   changegate db migrate [--grant-app-role R]   migrations as the owner role
 * Each command is a module in src/commands/ that registers itself; their plumbing (io, errors and
 * exit codes, the period, the store, the progress bar) is src/commands/kit.ts. This file only
 * builds the program, registers the commands, runs it and maps errors to exit codes.
 * The store is DATABASE_URL or --database (same forms as the app). Exit codes: 0 ok; 1 the thing
 * checked is bad (policy invalid, chain broken, PR unknown) or the command failed; 2 bad arguments;
 * 3 the database cannot be reached or holds no audit trail; 4 (check owner/name#N) GitHub or Jira failed.
 *
 * `main(argv, io)` is the whole program (tests call it); the last lines run it as the bin.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { StoreError } from "./audit/database.js";
import { changegateVersion } from "./audit/version.js";
import { redact } from "./report/redact.js";
import "./ops/secrets.js"; // the environment's secret values are redacted by default
import { CredentialsError } from "./github/cli-auth.js";
import { SettingsError } from "./settings.js";
import { registerCheck } from "./commands/check-pr.js";
import { registerCheckpoint } from "./commands/checkpoint.js";
import { registerCompleteness } from "./commands/completeness.js";
import { registerConfigCheck } from "./commands/config-check.js";
import { registerConfigSchema } from "./commands/config-schema.js";
import { registerDb } from "./commands/db.js";
import { registerExport } from "./commands/export.js";
import { CliError, EXIT, type CliIo, type SetExit } from "./commands/kit.js";
import { registerRehearse } from "./commands/rehearse.js";
import { registerReport } from "./commands/report.js";
import { registerSample } from "./commands/sample.js";
import { registerEnforcement } from "./commands/enforcement.js";
import { registerScan } from "./commands/scan.js";
import { registerShow } from "./commands/show.js";
import { registerVerify } from "./commands/verify.js";

// Tests and tools import these from here.
export { CliError, EXIT, parsePeriod, PROGRESS_THRESHOLD, type CliIo } from "./commands/kit.js";

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: () => new Date(),
  };
}

/** Run the command line; resolves with the exit code (never throws, never calls process.exit). */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage; // commander printed why
    const message = redact(err instanceof Error ? err.message : String(err));
    io.stderr.write(`changegate: ${message}\n`);
    if (err instanceof CliError) return err.exitCode;
    if (err instanceof CredentialsError || err instanceof SettingsError) return EXIT.usage;
    if (err instanceof StoreError) return err.kind === "config" ? EXIT.usage : EXIT.database;
    return EXIT.failed;
  }
}

function buildProgram(io: CliIo, setExit: SetExit): Command {
  const program = new Command("changegate")
    .description(
      "changegate: SOC 2 change-management gate for pull requests (policy checks and the audit trail)",
    )
    .version(changegateVersion(), "-V, --version")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      "\nExit codes: 0 ok; 1 invalid policy, non-compliant PR, broken chain, unknown PR or failed command; 2 bad arguments; 3 database unreachable or not a changegate audit trail; 4 GitHub or Jira failed (check owner/name#N).",
    );

  registerCheck(program, io, setExit);
  registerRehearse(program, io, setExit);

  const config = program
    .command("config")
    .description("the policy file: validate it offline, print its JSON Schema");
  registerConfigCheck(config, io, setExit);
  registerConfigSchema(config, io, setExit);

  const audit = program
    .command("audit")
    .description("the audit trail: export the population of changes, show one PR, verify the hash chains");
  registerExport(audit, io, setExit);
  registerShow(audit, io, setExit);
  registerVerify(audit, io, setExit);
  registerCheckpoint(audit, io, setExit);
  registerReport(audit, io, setExit);
  registerSample(audit, io, setExit);
  registerEnforcement(audit, io, setExit);
  registerDb(program, io, setExit);
  registerScan(audit, io, setExit);
  registerCompleteness(audit, io, setExit);

  return program;
}

// ------------------------------------------------------------------ the bin

function invokedDirectly(): boolean {
  try {
    return (
      process.argv[1] !== undefined &&
      realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  // `changegate audit export … | head`: the reader went away; stop quietly (the output is incomplete: exit 1).
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(EXIT.failed);
    throw err;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`changegate: ${redact(String(err))}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
