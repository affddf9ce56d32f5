/**
 * `changegate audit scan --since DATE [--until DATE] [--org ORG] [--repo OWNER/NAME] [--json]`:
 * find the merges the webhooks missed and put them on record (src/background/scan.ts). GitHub access:
 * src/github/cli-auth.ts. Direct pushes too, unless --no-direct-pushes. Exit 0 when every merged PR
 * is on record (bypasses found are reported, on record, and not an error of the scan); 1 when some
 * PR could not be judged or a branch's history was truncated.
 */
import { loadSettings } from "../settings.js";
import type { Command } from "commander";
import { SqlBranchHeads } from "../audit/branch-head.js";
import { ChainDirectPush } from "../audit/direct-push.js";
import { ChainWriter } from "../audit/chain-writer.js";
import { AuditStore } from "../audit/database.js";
import { createJiraTicketService } from "../jira/client.js";
import { redact } from "../report/redact.js";
import { terminalLine } from "../report/terminal.js";
import { scan, type ScanLog, type ScanSummary } from "../background/scan.js";
import { CredentialsError, githubTargets } from "../github/cli-auth.js";
import {
  checkRepo,
  databaseOption,
  parsePeriod,
  progressBar,
  usage,
  type CliIo,
  type SetExit,
} from "./kit.js";

export interface ScanOpts {
  since: string;
  until?: string;
  org?: string;
  repo?: string;
  json?: boolean;
  database?: string;
  /** The gated branches' histories too (background/scan-pushes.ts): on unless --no-direct-pushes (false); --direct-pushes is accepted. */
  directPushes?: boolean;
}

const OWNER = /^[\w.-]+$/;

export function registerScan(audit: Command, io: CliIo, setExit: SetExit): void {
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
    .action(async (opts: ScanOpts) => setExit(await scanCommand(io, opts)));
}

/** The window: --since to --until (or now), as `parsePeriod` reads --from/--to. */
export async function scanCommand(io: CliIo, opts: ScanOpts): Promise<number> {
  const window = parsePeriod(opts.since, opts.until ?? io.now().toISOString());
  checkRepo(opts.repo);
  if (opts.org !== undefined && !OWNER.test(opts.org))
    throw usage(`--org ${JSON.stringify(opts.org)}: expected an organisation name`);
  if (opts.org && opts.repo && opts.repo.split("/")[0]!.toLowerCase() !== opts.org.toLowerCase())
    throw usage(`--repo ${opts.repo} is not in --org ${opts.org}`);
  let targets;
  try {
    targets = await githubTargets(io.env, { org: opts.org, repo: opts.repo });
  } catch (err) {
    if (err instanceof CredentialsError) throw usage(err.message);
    throw err;
  }
  const settings = loadSettings(io.env, ["background", "jira", "store", "github", "cli"]);
  const recheckMs = settings.background.directPushRecheckMs;
  const jira = settings.jira;
  const store = await AuditStore.open(opts.database ?? settings.store.databaseUrl, {
    cwd: io.cwd,
    connectTimeoutMs: 10_000,
    poolSize: 2,
    lockPoolSize: 1,
  });
  const progress = opts.json ? null : progressBar(io.stderr, "scanning");
  const line = (level: string) => (obj: object, msg: string) => {
    // Author names, titles and branch names are untrusted: no control character reaches the terminal.
    if (!progress) io.stderr.write(`${level}${terminalLine(redact(msg))}\n`);
  };
  const log: ScanLog = { info: line(""), warn: line("WARN "), error: line("ERROR ") };
  let summary: ScanSummary;
  const recorder = new ChainWriter(store);
  try {
    summary = await scan(
      {
        targets,
        store,
        recorder,
        appId: settings.github.appId ?? 0,
        tickets: jira ? createJiraTicketService(jira) : null,
        log,
        now: io.now,
        search: settings.cli.searchPaceMs !== null ? { paceMs: settings.cli.searchPaceMs } : {},
        onFound: (n) => progress?.add(n),
        onExamined: () => progress?.increment(),
        ...(opts.directPushes !== false
          ? {
              directPushes: new ChainDirectPush(recorder),
              directPushRecheckMs: recheckMs,
              branchHeads: new SqlBranchHeads(store.db),
            }
          : {}),
      },
      { from: window.from, to: window.to, repo: opts.repo, org: opts.org },
    );
  } finally {
    progress?.stop();
    await store.close();
  }
  if (opts.json) {
    // `gated` is the app's (it seeds branch enforcement); the command's JSON keeps its documented shape.
    const { gated: _gated, ...pushes } = summary.directPushes ?? {};
    const shown = summary.directPushes ? { ...summary, directPushes: pushes } : summary;
    io.stdout.write(`${JSON.stringify({ kind: "changegate-scan", ...shown })}\n`);
  } else {
    const out = (text: string) => io.stdout.write(`${terminalLine(text)}\n`);
    out(
      `audit scan ${summary.from} .. ${summary.to}: ${summary.installations} installation${summary.installations === 1 ? "" : "s"}, ${summary.merged} merged PR${summary.merged === 1 ? "" : "s"}, ${summary.alreadyRecorded} already on record, ${summary.recorded} recorded now (${summary.compliant} compliant, ${summary.bypasses.length} non-compliant), ${summary.failed.length} failed`,
    );
    for (const b of summary.bypasses)
      out(`  NON-COMPLIANT ${b.pr} (${b.outcome}) ${b.url} record ${b.record ?? "?"}`);
    for (const d of summary.directPushes?.recorded ?? [])
      out(`  NON-COMPLIANT direct push ${d.repo} ${d.branch} ${d.sha.slice(0, 12)} record ${d.record}`);
    for (const f of summary.directPushes?.forced ?? [])
      out(
        `  NON-COMPLIANT force push ${f.repo} ${f.branch} ${f.before.slice(0, 12)} -> ${f.after.slice(0, 12)} record ${f.record}`,
      );
    for (const t of summary.directPushes?.truncated ?? [])
      out(`  TRUNCATED ${t}: more commits than the scan reads in one window; scan a shorter window`);
    for (const f of summary.failed) out(`  FAILED ${f.pr}: ${f.error}`);
  }
  return summary.failed.length > 0 || (summary.directPushes?.truncated.length ?? 0) > 0 ? 1 : 0;
}
