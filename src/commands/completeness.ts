/**
 * `changegate audit completeness --from --to [--repo] [--org] [--out FILE | --beside EXPORT]`: per
 * repository, the merges GitHub reports for the window (github/merged-search.ts) against the merge
 * records (audit/merge-index.ts), compared by audit/completeness.ts. Prints the counts and every
 * difference; writes the JSON report to --out, or beside an export (x.csv → x.completeness.json).
 * Exit 0 complete, 1 not complete. The text adds one line per gated branch not in force (or not
 * observed) for part of the window (audit enforcement has the periods); the JSON stays the contract.
 */
import { loadSettings } from "../settings.js";
import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  compareMerges,
  completenessPathBeside,
  enforcementGapLines,
  renderCompleteness,
  type GithubMerge,
} from "../audit/completeness.js";
import { recordedMergesIn } from "../audit/merge-index.js";
import { searchMergedPrs } from "../github/merged-search.js";
import { scopeOf } from "../background/scan.js";
import { CredentialsError, githubTargets } from "../github/cli-auth.js";
import {
  checkRepo,
  databaseOption,
  openForReading,
  parsePeriod,
  periodOptions,
  usage,
  type CliIo,
  type SetExit,
} from "./kit.js";
import { enforcementReport } from "./enforcement.js";

export interface CompletenessOpts {
  from: string;
  to: string;
  repo?: string;
  org?: string;
  out?: string;
  beside?: string;
  json?: boolean;
  database?: string;
}

export function registerCompleteness(audit: Command, io: CliIo, setExit: SetExit): void {
  periodOptions(
    audit
      .command("completeness")
      .description(
        "compare, per repository, the merges GitHub reports in a period with the merge records; exit 1 when not complete",
      ),
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
    .action(async (opts: CompletenessOpts) => setExit(await completenessCommand(io, opts)));
}

export async function completenessCommand(io: CliIo, opts: CompletenessOpts): Promise<number> {
  const period = parsePeriod(opts.from, opts.to);
  checkRepo(opts.repo);
  if (opts.out && opts.beside) throw usage("--out and --beside both name where the report goes: give one");
  const target = opts.out
    ? resolve(io.cwd, opts.out)
    : opts.beside
      ? completenessPathBeside(resolve(io.cwd, opts.beside))
      : null;
  if (target) {
    const dir = dirname(target);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw usage(`the directory ${dir} does not exist`);
  }
  let targets;
  try {
    targets = await githubTargets(io.env, { org: opts.org, repo: opts.repo });
  } catch (err) {
    if (err instanceof CredentialsError) throw usage(err.message);
    throw err;
  }
  const store = await openForReading(io, opts.database);
  const github: GithubMerge[] = [];
  const accounts = new Set<string>();
  let records;
  let enforcement;
  try {
    const paceMs = loadSettings(io.env, ["cli"]).cli.searchPaceMs;
    const search = paceMs !== null ? { paceMs } : {};
    for (const t of targets) {
      accounts.add(t.account.toLowerCase());
      const found = await searchMergedPrs(
        t.octokit,
        { scope: scopeOf(t, { ...period, repo: opts.repo }), from: period.from, to: period.to },
        search,
      );
      github.push(
        ...found.map((f) => ({ repo: f.repo, number: f.number, mergedAt: f.mergedAt, url: f.url })),
      );
    }
    records = (await recordedMergesIn(store, { ...period, repo: opts.repo ?? null })).filter((r) =>
      accounts.has(r.chain.split("/")[0]!),
    );
    // The gated branches of the same accounts whose check was not in force for part of the window.
    enforcement = (await enforcementReport(store, period, opts.repo ?? null, io.now())).branches.filter((b) =>
      accounts.has(b.repo.split("/")[0]!.toLowerCase()),
    );
  } finally {
    await store.close();
  }
  const report = compareMerges(
    { ...period, generatedAt: io.now().toISOString() },
    github,
    records,
    opts.repo ? [opts.repo] : [],
  );
  io.stdout.write(
    opts.json
      ? `${JSON.stringify(report, null, 2)}\n`
      : renderCompleteness(report) + enforcementGapLines(period, enforcement).join("\n") + "\n",
  );
  if (target) {
    const tmp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    io.stderr.write(`completeness report written to ${target}\n`);
  }
  return report.complete ? 0 : 1;
}
