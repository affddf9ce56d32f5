#!/usr/bin/env node
/**
 * The `changegate` command, for auditors and ops:
 *   changegate config check [FILE]               validate a policy file (key path and line of each problem)
 *   changegate config schema [--out FILE]        the policy's JSON Schema
 *   changegate check owner/name#N                evaluate one PR and print its digest; posts nothing
 *   changegate rehearse --policy F --repo R --since D  past merges against a proposed policy (src/commands/rehearse.ts)
 *   changegate audit export --from --to …        the population of merged changes in a period
 *   changegate audit show owner/name#N           every record of one PR
 *   changegate audit verify [--checkpoints F]    walk the hash chains (and check them against signed checkpoints)
 *   changegate audit checkpoint [--out F]        sign every chain head and publish it (src/commands/checkpoint.ts)
 *   changegate audit report --from --to --out    the auditor's HTML report (src/commands/report.ts)
 *   changegate audit sample --from --to --size --seed --out DIR  a reproducible sample with evidence (src/commands/sample.ts)
 *   changegate db migrate [--grant-app-role R]   migrations as the owner role (src/commands/db.ts)
 * The store is DATABASE_URL or --database (same forms as the app). Exit codes: 0 ok; 1 the thing
 * checked is bad (policy invalid, chain broken, PR unknown) or the command failed; 2 bad arguments;
 * 3 the database cannot be reached or holds no audit trail; 4 (check owner/name#N) GitHub or Jira failed.
 *
 * `main(argv, io)` is the whole program (tests call it); the last lines run it as the bin.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import cliProgress from "cli-progress";
import { Command, CommanderError, Option } from "commander";
import { CONFIG_PATH } from "./contract.js";
import { checkPr, looksLikePr } from "./commands/check-pr.js";
import { configCheck } from "./commands/config-check.js";
import { configSchemaCommand } from "./commands/config-schema.js";
import {
  EXPORT_FORMATS,
  writeExport,
  type ExportFormat,
  type ExportManifest,
  type Progress,
  CSV_COLUMNS,
} from "./audit/export.js";
import { parsePrArgument, renderPrRecords } from "./audit/show.js";
import { AuditStore, StoreError } from "./audit/database.js";
import { AuditReader } from "./audit/reader.js";
import { populationRows } from "./audit/population.js";
import { verifyChains } from "./audit/verify.js";
import { changegateVersion } from "./audit/version.js";
import { redact } from "./report/redact.js";
import "./ops/secrets.js"; // the environment's secret values are redacted by default
import { CommandError } from "./commands/errors.js";
import { CredentialsError } from "./github/cli-auth.js";
import { scanCommand, type ScanOpts } from "./commands/scan.js";
import { completenessCommand, type CompletenessOpts } from "./commands/completeness.js";
import { registerDb } from "./commands/db.js";
import { rehearseCommand, type RehearseOpts } from "./commands/rehearse.js";
import { registerReport } from "./commands/report.js";
import { registerSample } from "./commands/sample.js";
import {
  checkpointVerifyOptions,
  registerCheckpoint,
  verifyWithCheckpoints,
  wantsCheckpoints,
  type VerifyCheckpointOpts,
} from "./commands/checkpoint.js";

export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  now: () => Date;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, database: 3 } as const;

/** Exports at least this large show a progress bar (when stderr is a terminal). */
export const PROGRESS_THRESHOLD = 2000;

class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

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
    if (err instanceof CliError || err instanceof CommandError) return err.exitCode;
    if (err instanceof CredentialsError) return EXIT.usage;
    if (err instanceof StoreError) return err.kind === "config" ? EXIT.usage : EXIT.database;
    return EXIT.failed;
  }
}

function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
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

  const databaseOption = () =>
    new Option(
      "--database <url>",
      "audit store: sqlite:PATH, postgres://… (default: $DATABASE_URL, else sqlite:./data/changegate.db)",
    );

  program
    .command("check")
    .description(
      "evaluate one pull request as the app would and print its digest and verdict; posts and records nothing (exit 0 compliant, 1 not)",
    )
    .argument("[pr]", "owner/name#N or the PR's URL (credentials: APP_ID + PRIVATE_KEY, or GITHUB_TOKEN)")
    .option("--json", "print one JSON object (verdict, title, digest) instead of text")
    .action(async (target: string | undefined, opts: { json?: boolean }) => {
      // owner/name#N, a URL, or anything with a # was meant as a PR (checkPr says what is wrong with it).
      if (target !== undefined && (looksLikePr(target) || /#|^https?:\/\//i.test(target)))
        return setExit(await checkPr(io, target, opts));
      // Before `check` evaluated PRs it validated a policy file: that still works, with a note.
      const file = target ?? CONFIG_PATH;
      io.stderr.write(
        `note: validating a policy is now \`changegate config check ${file}\`; \`changegate check\` without owner/name#N will stop validating files in a later version\n`,
      );
      setExit(await configCheck(io, file, opts));
    });

  program
    .command("rehearse")
    .description(
      "judge the PRs merged in a window against a proposed policy, as of their merge: which would have been blocked and why; posts and records nothing (exit 0 none, 1 some)",
    )
    .requiredOption(
      "--policy <file>",
      "the proposed policy file (checked as `config check` does; the org's enforce: floors still apply)",
    )
    .requiredOption("--repo <owner/name>", "the repository whose merges to rehearse")
    .requiredOption("--since <date>", "start of the window: YYYY-MM-DD (00:00 UTC) or an ISO time with zone")
    .option("--until <date>", "end of the window (a day counts whole); default: now")
    .option("--json", "print the rehearsal as one JSON object")
    .addOption(databaseOption())
    .addHelpText(
      "after",
      "\nGitHub: APP_ID + PRIVATE_KEY, or GITHUB_TOKEN. Today's recorded outcomes come from the audit store when there is one (read only). Exit 4 when GitHub failed.",
    )
    .action(async (opts: RehearseOpts) => setExit(await rehearseCommand(io, opts, parsePeriod)));

  const config = program
    .command("config")
    .description("the policy file: validate it offline, print its JSON Schema");
  config
    .command("check")
    .description(
      `validate a policy file with the app's own schema (default ${CONFIG_PATH}); each problem with its key path and line; exit 1 when invalid`,
    )
    .argument("[file]", "the policy file", CONFIG_PATH)
    .option(
      "--json",
      "print one JSON object ({ file, valid, checkedAs, problems: [{ path, line, message }] })",
    )
    .addOption(
      new Option(
        "--org",
        "check it as the owner's .github repository's file: enforce: floors allowed and validated",
      ).conflicts("repo"),
    )
    .addOption(new Option("--repo", "check it as a repository's own file (enforce: is an error)"))
    .addHelpText(
      "after",
      "\nWithout --org/--repo, .github/changegate.yml at the root of a checkout of a repository named .github (git remote origin, else GITHUB_REPOSITORY, else the directory's name) is checked as the org file." +
        "\nWith GITHUB_ACTIONS=true each problem is also printed as an ::error annotation on the file and line.",
    )
    .action(async (file: string, opts: { json?: boolean; org?: boolean; repo?: boolean }) =>
      setExit(await configCheck(io, file, opts)),
    );
  config
    .command("schema")
    .description("print the policy's JSON Schema (for editors: # yaml-language-server: $schema=…)")
    .option("--out <file>", "write it to this file instead of stdout")
    .action((opts: { out?: string }) => setExit(configSchemaCommand(io, opts)));

  const audit = program
    .command("audit")
    .description("the audit trail: export the population of changes, show one PR, verify the hash chains");

  audit
    .command("export")
    .description(
      "export every merged pull request of a period, one row per change, sorted by merged_at, repository, PR",
    )
    .requiredOption(
      "--from <date>",
      "start of the period: YYYY-MM-DD (00:00 UTC) or an ISO time with zone, inclusive",
    )
    .requiredOption(
      "--to <date>",
      "end of the period: YYYY-MM-DD (that whole day, UTC) or an ISO time with zone, exclusive",
    )
    .option("--repo <owner/name>", "only this repository")
    .addOption(new Option("--format <format>", "output format").choices([...EXPORT_FORMATS]).default("csv"))
    .option(
      "--out <file>",
      "write here (atomically: a temporary file renamed when complete); default: stdout",
    )
    .option("--bom", "start a CSV with a UTF-8 byte order mark (for Excel)")
    .addOption(databaseOption())
    .addHelpText(
      "after",
      [
        "",
        "Completeness facts (query, generation time, changegate version, database, row count, chain heads):",
        "  json   - a manifest first, the row count and complete:true last",
        "  ndjson - a manifest line first, an end line with the row count last",
        "  csv    - a sidecar FILE.manifest.json with the CSV's sha256 (with --out); on stderr otherwise",
        `CSV columns: ${CSV_COLUMNS.join(", ")}`,
      ].join("\n"),
    )
    .action(async (opts: ExportOpts) => setExit(await exportCommand(io, opts)));

  audit
    .command("show")
    .description("every audit record of one pull request, oldest first")
    .argument("<pr>", "owner/name#N (or the PR's URL)")
    .option("--json", "print the records as JSON lines (the stored content) instead of text")
    .addOption(databaseOption())
    .action(async (pr: string, opts: { json?: boolean; database?: string }) =>
      setExit(await showCommand(io, pr, opts)),
    );

  checkpointVerifyOptions(
    audit
      .command("verify")
      .description("walk every hash chain; exit 1 naming the first record of each chain that does not match")
      .addOption(databaseOption()),
  ).action(async (opts: VerifyCheckpointOpts) =>
    setExit(wantsCheckpoints(opts) ? await verifyWithCheckpoints(io, opts) : await verifyCommand(io, opts)),
  );

  registerCheckpoint(audit, io, setExit, databaseOption);
  registerReport(audit, io, setExit, databaseOption);
  registerSample(audit, io, setExit, databaseOption);
  registerDb(program, io, setExit, databaseOption);

  audit
    .command("scan")
    .description(
      "find merges (and their non-compliance) that the webhooks missed: judge each unrecorded merged PR as of its merge and record it",
    )
    .requiredOption("--since <date>", "start of the window: YYYY-MM-DD (00:00 UTC) or an ISO time with zone")
    .option("--until <date>", "end of the window (a day counts whole); default: now")
    .option("--org <org>", "only this organisation's installation")
    .option("--repo <owner/name>", "only this repository")
    .option("--json", "print the summary as one JSON object")
    .option(
      "--direct-pushes",
      "also find direct pushes to gated branches that the push webhooks missed (each gated branch's history in the window; the default)",
    )
    .option("--no-direct-pushes", "skip the direct pushes: merges only")
    .addOption(databaseOption())
    .addHelpText(
      "after",
      "\nGitHub: APP_ID + PRIVATE_KEY (every installation), or GITHUB_TOKEN with --org/--repo. Exit 1 when some PR could not be judged.",
    )
    .action(async (opts: ScanOpts) => setExit(await scanCommand(io, opts, parsePeriod)));

  audit
    .command("completeness")
    .description(
      "compare, per repository, the merges GitHub reports in a period with the merge records; exit 1 when not complete",
    )
    .requiredOption(
      "--from <date>",
      "start of the period: YYYY-MM-DD (00:00 UTC) or an ISO time with zone, inclusive",
    )
    .requiredOption(
      "--to <date>",
      "end of the period: YYYY-MM-DD (that whole day, UTC) or an ISO time with zone, exclusive",
    )
    .option("--repo <owner/name>", "only this repository")
    .option("--org <org>", "only this organisation's installation")
    .option("--out <file>", "write the JSON report here")
    .option(
      "--beside <export-file>",
      "write the JSON report beside this export: x.csv -> x.completeness.json",
    )
    .option("--json", "print the JSON report instead of text")
    .addOption(databaseOption())
    .action(async (opts: CompletenessOpts) => setExit(await completenessCommand(io, opts, parsePeriod)));

  return program;
}

// ------------------------------------------------------------------ export

interface ExportOpts {
  from: string;
  to: string;
  repo?: string;
  format: ExportFormat;
  out?: string;
  bom?: boolean;
  database?: string;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * --from/--to: a day (YYYY-MM-DD, UTC; --to includes that whole day) or an instant with a zone.
 * Returns the half-open period [from, to) as ISO instants.
 */
export function parsePeriod(fromArg: string, toArg: string): { from: string; to: string } {
  const from = parseDateArg(fromArg, "--from", false);
  const to = parseDateArg(toArg, "--to", true);
  if (from >= to)
    throw new CliError(EXIT.usage, `--from ${fromArg} is not before --to ${toArg}: the period is empty`);
  return { from, to };
}

function parseDateArg(arg: string, name: string, endOfDay: boolean): string {
  const a = arg.trim();
  const day = DAY.exec(a);
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const t = new Date(Date.UTC(y, m - 1, d));
    if (t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) {
      throw new CliError(EXIT.usage, `${name} ${arg}: no such day`);
    }
    if (endOfDay) t.setUTCDate(t.getUTCDate() + 1);
    return t.toISOString();
  }
  if (INSTANT.test(a)) {
    const t = new Date(a);
    if (!Number.isNaN(t.getTime())) return t.toISOString();
  }
  throw new CliError(
    EXIT.usage,
    `${name} ${JSON.stringify(arg)}: expected a day (2026-01-31) or a time with a zone (2026-01-31T12:00:00Z)`,
  );
}

async function openForReading(io: CliIo, database: string | undefined): Promise<AuditStore> {
  return AuditStore.open(database ?? io.env.DATABASE_URL, {
    migrate: false,
    mustExist: true,
    cwd: io.cwd,
    connectTimeoutMs: 10_000,
    poolSize: 2,
    lockPoolSize: 1,
  });
}

async function exportCommand(io: CliIo, opts: ExportOpts): Promise<number> {
  const period = parsePeriod(opts.from, opts.to);
  if (opts.repo !== undefined && !/^[\w.-]+\/[\w.-]+$/.test(opts.repo)) {
    throw new CliError(EXIT.usage, `--repo ${JSON.stringify(opts.repo)}: expected owner/name`);
  }
  let out: string | null = null;
  if (opts.out !== undefined) {
    out = resolve(io.cwd, opts.out);
    const dir = dirname(out);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new CliError(EXIT.usage, `--out ${opts.out}: the directory ${dir} does not exist`);
    if (existsSync(out) && statSync(out).isDirectory())
      throw new CliError(EXIT.usage, `--out ${opts.out} is a directory`);
  }

  const store = await openForReading(io, opts.database);
  const reader = new AuditReader(store);
  try {
    const query = { from: period.from, to: period.to, repo: opts.repo ?? null };
    const total = await reader.countMerges(query);
    const manifest: ExportManifest = {
      kind: "changegate audit export",
      changegateVersion: changegateVersion(),
      generatedAt: io.now().toISOString(),
      database: store.description,
      query: { ...query, fromArgument: opts.from, toArgument: opts.to, format: opts.format },
      population: `every pull request merged with merged_at >= ${period.from} and < ${period.to}${opts.repo ? ` in ${opts.repo}` : ""}, as recorded by changegate, one row per merged pull request, and one per direct push to a gated branch (change_type direct_push)`,
      sort: "merged_at, then repository, then pull request number",
      columns: CSV_COLUMNS,
      chainHeads: await reader.chainHeads(),
    };
    const progress =
      io.stderr.isTTY && total >= PROGRESS_THRESHOLD ? progressBar(io, total, "exporting") : null;
    const result = await writeExport(populationRows(store, query), manifest, {
      format: opts.format,
      out,
      stdout: io.stdout,
      progress,
      bom: opts.bom ?? false,
    });
    if (out) {
      io.stderr.write(
        `exported ${result.rows} merged change${result.rows === 1 ? "" : "s"} to ${result.files.join(" and ")} (sha256 ${result.sha256})\n`,
      );
    } else if (opts.format === "csv") {
      io.stderr.write(
        `${JSON.stringify({ ...manifest, rows: result.rows, complete: true, sha256: result.sha256 })}\n`,
      );
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

function progressBar(io: CliIo, total: number, what: string): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr as NodeJS.WritableStream,
      format: `${what} [{bar}] {percentage}% {value}/{total}`,
      etaBuffer: 100,
      clearOnComplete: false,
      hideCursor: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let stopped = false;
  return {
    increment: () => bar.increment(),
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

// ------------------------------------------------------------------ show / verify

async function showCommand(
  io: CliIo,
  arg: string,
  opts: { json?: boolean; database?: string },
): Promise<number> {
  const pr = parsePrArgument(arg);
  if (!pr)
    throw new CliError(EXIT.usage, `${JSON.stringify(arg)}: expected owner/name#N, e.g. acme/payments#12`);
  const store = await openForReading(io, opts.database);
  const reader = new AuditReader(store);
  try {
    const rows = await reader.prRecords(pr.repo, pr.number);
    if (rows.length === 0) {
      io.stderr.write(`no audit records for ${pr.repo}#${pr.number} in ${store.description}\n`);
      return EXIT.failed;
    }
    if (opts.json) {
      for (const r of rows) {
        io.stdout.write(
          `${JSON.stringify({ record: `${r.chain}@${r.seq}`, hash: r.hash, prev_hash: r.prev_hash, ...JSON.parse(r.payload) })}\n`,
        );
      }
    } else {
      io.stdout.write(renderPrRecords(pr.repo, pr.number, rows));
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

async function verifyCommand(io: CliIo, opts: { database?: string }): Promise<number> {
  const store = await openForReading(io, opts.database);
  const reader = new AuditReader(store);
  try {
    const total = io.stderr.isTTY ? await reader.countRecords() : 0;
    const progress = total >= PROGRESS_THRESHOLD ? progressBar(io, total, "verifying") : null;
    let report;
    try {
      report = await verifyChains(reader, progress ? () => progress.increment() : undefined);
    } finally {
      progress?.stop();
    }
    for (const p of report.problems) io.stderr.write(`MISMATCH ${p.record}: ${p.message}\n`);
    if (!report.ok) {
      io.stderr.write(
        `audit trail verification FAILED: ${report.problems.length} of ${report.chains} chain${report.chains === 1 ? "" : "s"} broken (first: ${report.problems[0]!.record}); ${report.records} records read in ${store.description}\n`,
      );
      return EXIT.failed;
    }
    io.stdout.write(
      `audit trail OK: ${report.records} record${report.records === 1 ? "" : "s"} in ${report.chains} chain${report.chains === 1 ? "" : "s"} verified (${store.description})\n`,
    );
    if (report.heads.length > 0) {
      io.stdout.write("chain heads (keep them: a later verify must reach at least these):\n");
      for (const h of report.heads) io.stdout.write(`  ${h.chain}@${h.seq} ${h.hash}\n`);
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
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
