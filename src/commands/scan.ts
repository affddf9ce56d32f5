/**
 * `changegate audit scan --since DATE [--until DATE] [--org ORG] [--repo OWNER/NAME] [--json]`:
 * find the merges the webhooks missed and put them on record (src/background/scan.ts). GitHub access:
 * src/github/cli-auth.ts. Direct pushes too, unless --no-direct-pushes. Exit 0 when every merged PR
 * is on record (bypasses found are reported, on record, and not an error of the scan); 1 when some
 * PR could not be judged or a branch's history was truncated.
 */
import { SqlBranchHeads } from "../audit/branch-head.js";
import { ChainDirectPush } from "../audit/direct-push.js";
import { ChainWriter } from "../audit/chain-writer.js";
import { AuditStore } from "../audit/database.js";
import { createJiraTicketService } from "../jira/client.js";
import { jiraConfigFromEnv } from "../jira/env.js";
import { redact } from "../report/redact.js";
import { terminalLine } from "../report/terminal.js";
import { scan, type ScanLog, type ScanSummary } from "../background/scan.js";
import { usage } from "./errors.js";
import { CredentialsError, githubTargets } from "../github/cli-auth.js";
import { growingProgress } from "./progress.js";
import { directPushRecheckFromEnv } from "../flows/push-settle.js";

export interface ScanIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  now: () => Date;
}

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

const REPO = /^[\w.-]+\/[\w.-]+$/;
const OWNER = /^[\w.-]+$/;

/** `parsePeriod` is the CLI's (day or instant; the end day counts whole). */
export async function scanCommand(
  io: ScanIo,
  opts: ScanOpts,
  parsePeriod: (from: string, to: string) => { from: string; to: string },
): Promise<number> {
  const window = parsePeriod(opts.since, opts.until ?? io.now().toISOString());
  if (opts.repo !== undefined && !REPO.test(opts.repo))
    throw usage(`--repo ${JSON.stringify(opts.repo)}: expected owner/name`);
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
  let recheckMs: number;
  try {
    recheckMs = directPushRecheckFromEnv(io.env);
  } catch (err) {
    throw usage((err as Error).message);
  }
  const jira = jiraConfigFromEnv(io.env as NodeJS.ProcessEnv);
  const store = await AuditStore.open(opts.database ?? io.env.DATABASE_URL, {
    cwd: io.cwd,
    connectTimeoutMs: 10_000,
    poolSize: 2,
    lockPoolSize: 1,
  });
  const progress = opts.json ? null : growingProgress(io.stderr, "scanning");
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
        appId: Number(io.env.APP_ID ?? 0),
        tickets: jira ? createJiraTicketService(jira) : null,
        log,
        now: io.now,
        search: io.env.CHANGEGATE_SEARCH_PACE_MS ? { paceMs: Number(io.env.CHANGEGATE_SEARCH_PACE_MS) } : {},
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
    io.stdout.write(`${JSON.stringify({ kind: "changegate-scan", ...summary })}\n`);
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
