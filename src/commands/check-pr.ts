/**
 * `changegate check owner/name#N` (or the PR's URL): evaluate one pull request as the app would,
 * and print the digest and the verdict, posting nothing and recording nothing.
 *
 * It runs the app's own stages: `gather` (the one GraphQL read) and the pipeline's `judge`
 * (policy → declarer → tickets → evaluate → render), with the app's credentials or a GITHUB_TOKEN
 * (github/cli-auth.ts) and the app's Jira settings (JIRA_* from the environment, as for `npm start`).
 * No publish, no recorder: the only writes are the installation token's creation by GitHub's auth.
 *
 * Exit codes: 0 compliant (or not gated); 1 not compliant (failing, waiting for CI, or an invalid
 * policy); 2 bad arguments or credentials; 4 the PR could not be evaluated (GitHub or Jira failed).
 */
import { loadSettings } from "../settings.js";
import type { Command } from "commander";
import { parsePrArgument } from "../audit/show.js";
import { CHECK_NAME, CONFIG_PATH } from "../contract.js";
import { cliGithub, CredentialsError } from "../github/cli-auth.js";
import { gather, type Gathered } from "../github/gather.js";
import { createReader } from "../github/reader.js";
import { redact } from "../report/redact.js";
import { digestForTerminal, terminalLine } from "../report/terminal.js";
import { judge, newJob } from "../flows/evaluate-pr.js";
import { StageError } from "../intake/job.js";
import { cliTickets } from "./cli-tickets.js";
import { declaredOnIn } from "../audit/chain-writer.js";
import type { PrRef } from "../refs.js";
import { configCheck } from "./config-check.js";
import { EXIT, openForReading, type CliIo, type SetExit } from "./kit.js";

/**
 * The app's record of which commit each emergency declaration was made on (src/flows/declared-on.ts),
 * from the audit store DATABASE_URL names, opened read-only (no migration, never created). Without
 * it an emergency label is not honoured here, and a note says why.
 */
async function declarationsOnRecord(io: CliIo, notes: string[]) {
  const url = loadSettings(io.env, ["store"]).store.databaseUrl;
  if (!url) {
    notes.push(
      "DATABASE_URL is not set: which commit an emergency label was applied on is on the app's audit record, so an emergency declaration is not honoured here",
    );
    return null;
  }
  try {
    const store = await openForReading(io, url);
    return {
      declaredOn: (ref: PrRef, at: string) => declaredOnIn(store.db, ref, at),
      close: () => store.close(),
    };
  } catch (err) {
    notes.push(
      `the audit store could not be opened (${redact((err as Error).message)}): an emergency declaration is not honoured here`,
    );
    return null;
  }
}

export const CHECK_PR_EXIT = {
  compliant: EXIT.ok,
  notCompliant: EXIT.failed,
  usage: EXIT.usage,
  error: EXIT.github,
} as const;

/** `changegate check owner/name#N`; `changegate check [FILE]` still validates a policy file, with a note. */
export function registerCheck(program: Command, io: CliIo, setExit: SetExit): void {
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
}

/** owner/name#N or a pull request URL. */
export function looksLikePr(arg: string): boolean {
  return parsePrArgument(arg) !== null;
}

export interface CheckPrOptions {
  json?: boolean;
}

export async function checkPr(io: CliIo, arg: string, opts: CheckPrOptions = {}): Promise<number> {
  const pr = parsePrArgument(arg);
  if (!pr) {
    io.stderr.write(`changegate: ${JSON.stringify(arg)}: expected owner/name#N or a pull request URL\n`);
    return CHECK_PR_EXIT.usage;
  }
  const [owner, repo] = pr.repo.split("/") as [string, string];
  if (/^\.+$/.test(owner) || /^\.+$/.test(repo)) {
    // "../x#1" would walk up the API's URL path: not a repository name GitHub allows.
    io.stderr.write(`changegate: ${JSON.stringify(arg)}: not a repository name\n`);
    return CHECK_PR_EXIT.usage;
  }
  const fail = (code: number, message: string) => {
    io.stderr.write(`changegate: ${redact(message)}\n`);
    return code;
  };

  let github;
  const jira = cliTickets(io.env);
  if ("problem" in jira) return fail(CHECK_PR_EXIT.usage, jira.problem);
  const tickets = jira.tickets;
  try {
    github = await cliGithub(io.env, owner, repo);
  } catch (err) {
    if (err instanceof CredentialsError) return fail(CHECK_PR_EXIT.usage, err.message);
    return fail(CHECK_PR_EXIT.error, `could not authenticate to GitHub: ${(err as Error).message}`);
  }
  const ref = { installationId: github.installationId, owner, repo, number: pr.number };
  const job = newJob({ ref, deliveryId: "changegate-cli", event: "cli.check" });
  const reader = createReader(github.installationId, github.tokenSource, {
    retries: 2,
    maxRetryAfterSeconds: 60,
    timeoutMs: 30_000,
  });
  const notes: string[] = [`read as ${github.via}; nothing is posted or recorded`];

  let gathered: Gathered;
  let judgement;
  try {
    const read = await gather(reader, ref, github.appId);
    // Without the app's id its own check run would count as CI: leave out check runs named like it.
    gathered =
      github.appId === 0
        ? {
            ...read,
            evidence: {
              ...read.evidence,
              checks: read.evidence.checks.filter((c) => !(c.kind === "check_run" && c.name === CHECK_NAME)),
            },
          }
        : read;
    if (github.appId === 0) {
      notes.push(
        `APP_ID is not set: check runs named "${CHECK_NAME}" are not counted as CI (set APP_ID to the app's id to tell its own apart exactly)`,
      );
    }
    if (gathered.evidence.pr.state !== "OPEN") {
      notes.push(
        `the PR is ${gathered.evidence.pr.state.toLowerCase()}: the app no longer evaluates it; this is how it would judge it now`,
      );
    }
    // Which commit an emergency label was applied on is on the app's record: read it when DATABASE_URL names the store.
    const recorder = await declarationsOnRecord(io, notes);
    try {
      judgement = await judge(
        { tickets, declarations: recorder ?? {} },
        { job, reader, octokit: github.octokit },
        gathered,
      );
    } finally {
      await recorder?.close();
    }
  } catch (err) {
    const original = err instanceof StageError ? err.original : err;
    const stage = err instanceof StageError ? ` (${err.stage})` : "";
    return fail(
      CHECK_PR_EXIT.error,
      `could not evaluate ${pr.repo}#${pr.number}${stage}: ${original instanceof Error ? original.message : String(original)}`,
    );
  }

  const { report, verdict } = judgement;
  const conclusion = verdict?.conclusion ?? "failure";
  const outcome =
    verdict === null
      ? "invalid policy"
      : !verdict.gated
        ? "not gated"
        : conclusion === "success"
          ? "compliant"
          : conclusion === "pending"
            ? "waiting for CI"
            : "not compliant";
  const code = conclusion === "success" ? CHECK_PR_EXIT.compliant : CHECK_PR_EXIT.notCompliant;
  if (opts.json) {
    io.stdout.write(
      `${JSON.stringify({
        pr: `${pr.repo}#${pr.number}`,
        head: gathered.evidence.pr.headSha,
        state: gathered.evidence.pr.state,
        outcome,
        conclusion,
        title: report.check.title,
        digest: report.check.summary,
        reads: reader.reads,
        notes,
      })}\n`,
    );
    return code;
  }
  for (const n of notes) io.stderr.write(`note: ${n}\n`);
  io.stdout.write(digestForTerminal(report.check.summary));
  io.stdout.write(
    `\n${pr.repo}#${pr.number} at ${gathered.evidence.pr.headSha.slice(0, 12)}: ${outcome.toUpperCase()} — ${terminalLine(report.check.title)}\n`,
  );
  return code;
}
