/**
 * `changegate rehearse --policy FILE --repo owner/name --since DATE [--until DATE] [--json]`: judge
 * every PR merged in the window (github/merged-search.ts) as of its merge (flows/as-of-merge.ts)
 * against a proposed policy, and print which would have been blocked and why
 * (report/rehearsal.ts). The way to roll out a stricter policy without surprising anyone.
 *
 * The FILE is checked first, offline, exactly as `changegate config check` does (same messages,
 * exit 1, before any GitHub call); then loaded as the repository's file with the org's `enforce:`
 * floors on top (config/load.ts, one read of owner/.github), as the app would. No writes: GitHub
 * is only read (search, GraphQL, the declarer's REST read), the audit store only read (today's
 * recorded outcome, when a store is there).
 *
 * Exit codes (as `changegate check`'s): 0 none would have been blocked; 1 some would (or the FILE is
 * invalid); 2 bad arguments or credentials; 3 the named store cannot be read; 4 GitHub failed (the
 * search, or some PR could not be judged: the rehearsal is incomplete).
 */
import { loadSettings } from "../settings.js";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import type { Command } from "commander";
import type { AuditStore } from "../audit/database.js";
import { recordedMergeOutcomeOf } from "../audit/merge-index.js";
import { loadPolicy } from "../config/load.js";
import { CONFIG_PATH } from "../contract.js";
import { cliGithub, CredentialsError, type CliGithub } from "../github/cli-auth.js";
import { readFile } from "../github/gather.js";
import { searchMergedPrs } from "../github/merged-search.js";
import { createReader } from "../github/reader.js";
import type { Policy } from "../policy/types.js";
import { redact } from "../report/redact.js";
import {
  firstUnmet,
  rehearsedOutcome,
  renderRehearsal,
  type Rehearsal,
  type RehearsalRow,
} from "../report/rehearsal.js";
import { judgeAsOfMerge } from "../flows/as-of-merge.js";
import type { PrRef } from "../refs.js";
import { declaredOnIn } from "../audit/chain-writer.js";
import { cliTickets } from "./cli-tickets.js";
import { configCheck } from "./config-check.js";
import {
  databaseOption,
  EXIT,
  openForReading,
  parsePeriod,
  progressBar,
  type CliIo,
  type SetExit,
} from "./kit.js";

export const REHEARSE_EXIT = {
  none: EXIT.ok,
  blocked: EXIT.failed,
  usage: EXIT.usage,
  database: EXIT.database,
  github: EXIT.github,
} as const;

export interface RehearseOpts {
  policy: string;
  repo: string;
  since: string;
  until?: string;
  json?: boolean;
  database?: string;
}

const REPO = /^[\w.-]+\/[\w.-]+$/;

export function registerRehearse(program: Command, io: CliIo, setExit: SetExit): void {
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
    .action(async (opts: RehearseOpts) => setExit(await rehearseCommand(io, opts)));
}

export async function rehearseCommand(io: CliIo, opts: RehearseOpts): Promise<number> {
  const fail = (code: number, message: string) => {
    io.stderr.write(`changegate: ${redact(message)}\n`);
    return code;
  };
  const window = parsePeriod(opts.since, opts.until ?? io.now().toISOString());
  if (!REPO.test(opts.repo) || opts.repo.split("/").some((p) => /^\.+$/.test(p)))
    return fail(REHEARSE_EXIT.usage, `--repo ${JSON.stringify(opts.repo)}: expected owner/name`);
  const [owner, name] = opts.repo.split("/") as [string, string];

  // 1. The proposed file, offline, as `config check` checks it: its messages, its exit code.
  const checked = await quietConfigCheck(io, opts.policy);
  if (checked.code !== 0) {
    io.stdout.write(checked.stdout);
    io.stderr.write(checked.stderr);
    return checked.code;
  }
  const jira = cliTickets(io.env);
  if ("problem" in jira) return fail(REHEARSE_EXIT.usage, jira.problem);
  const tickets = jira.tickets;

  // 2. GitHub: the app's installation on the repository, or a token.
  let github: CliGithub;
  try {
    github = await cliGithub(io.env, owner, name);
  } catch (err) {
    if (err instanceof CredentialsError) return fail(REHEARSE_EXIT.usage, err.message);
    return fail(REHEARSE_EXIT.github, `could not authenticate to GitHub: ${(err as Error).message}`);
  }
  const reader = createReader(github.installationId, github.tokenSource, {
    retries: 2,
    maxRetryAfterSeconds: 60,
    timeoutMs: 30_000,
  });
  const notes: string[] = [`read as ${github.via}; nothing is posted or recorded`];
  if (github.appId === 0)
    notes.push(
      `APP_ID is not set: changegate's own check run on a merged head may count as CI (set APP_ID to the app's id)`,
    );
  if (!tickets)
    notes.push(
      "JIRA_* is not set: where the proposed policy requires tickets, they cannot be verified (fail closed: blocked)",
    );

  // 3. The proposed file as the repository's, with the org's floors (and _extends) as the app would load it.
  let policy: Policy;
  try {
    const repoInfo = z
      .object({ default_branch: z.string().min(1).max(255) })
      .parse((await github.octokit.request("GET /repos/{owner}/{repo}", { owner, repo: name })).data);
    const orgText = await readFile(reader, `${owner}/.github`, CONFIG_PATH);
    const loaded = await loadPolicy(
      {
        repoFile: { repo: `${owner}/${name}`, path: opts.policy, text: checked.text },
        orgFile: orgText === null ? null : { repo: `${owner}/.github`, path: CONFIG_PATH, text: orgText },
        defaultBranch: repoInfo.default_branch,
      },
      (repo, path) => readFile(reader, repo, path),
    );
    if (!loaded.ok) {
      io.stderr.write(`${opts.policy}: cannot be rehearsed on ${opts.repo}: ${loaded.problem.file}\n`);
      for (const i of loaded.problem.issues)
        io.stderr.write(`  ${i.path === "" ? "(file)" : i.path}: ${i.message}\n`);
      return REHEARSE_EXIT.blocked;
    }
    policy = loaded.policy;
  } catch (err) {
    return fail(
      REHEARSE_EXIT.github,
      `could not read ${opts.repo} or its org policy: ${(err as Error).message}`,
    );
  }

  // 4. Today's outcomes, read-only, when there is a store (named: it must open; default: if present).
  let store: AuditStore | null = null;
  const named = opts.database ?? loadSettings(io.env, ["store"]).store.databaseUrl;
  const paceMs = loadSettings(io.env, ["cli"]).cli.searchPaceMs;
  try {
    store = await openForReading(io, opts.database);
  } catch (err) {
    if (named)
      return fail(REHEARSE_EXIT.database, `the audit store cannot be read: ${(err as Error).message}`);
    notes.push("no audit store here (DATABASE_URL or --database): today's recorded outcomes are not shown");
  }

  const progress = opts.json ? null : progressBar(io.stderr, "rehearsing");
  const rows: RehearsalRow[] = [];
  try {
    let prs;
    try {
      const search = paceMs !== null ? { paceMs } : {};
      prs = await searchMergedPrs(
        github.octokit,
        { scope: { repo: opts.repo }, from: window.from, to: window.to },
        search,
      );
    } catch (err) {
      return fail(
        REHEARSE_EXIT.github,
        `could not list the merges of ${opts.repo}: ${(err as Error).message}`,
      );
    }
    prs.sort((a, b) => (a.mergedAt ?? "").localeCompare(b.mergedAt ?? "") || a.number - b.number);
    progress?.add(prs.length);
    // Which commit an emergency was declared on is on the record: without a store, no emergency is honoured.
    const recorder = store
      ? { declaredOn: (ref: PrRef, at: string) => declaredOnIn(store!.db, ref, at) }
      : undefined;
    const deps = {
      reader,
      octokit: github.octokit,
      appId: github.appId,
      tickets,
      ...(recorder ? { recorder } : {}),
    };
    for (const pr of prs) {
      const label = `${pr.repo}#${pr.number}`;
      const recorded = store ? await recordedMergeOutcomeOf(store, pr.repo, pr.number) : null;
      const [o, n] = pr.repo.split("/") as [string, string];
      try {
        const judged = await judgeAsOfMerge(
          deps,
          { installationId: github.installationId, owner: o, repo: n, number: pr.number },
          { policy },
        );
        const outcome = rehearsedOutcome(judged.verdict);
        rows.push({
          pr: label,
          url: pr.url,
          mergedAt: judged.evidence.pr.mergedAt ?? pr.mergedAt,
          mergedBy: judged.evidence.pr.mergedBy,
          recorded: recorded ? (recorded.bypass ? `${recorded.outcome} (bypass)` : recorded.outcome) : null,
          rehearsed: outcome,
          conclusion: judged.outcome,
          reason:
            outcome === "blocked"
              ? judged.verdict
                ? firstUnmet(judged.verdict)
                : (judged.problem ?? "no verdict")
              : null,
        });
      } catch (err) {
        rows.push({
          pr: label,
          url: pr.url,
          mergedAt: pr.mergedAt,
          mergedBy: null,
          recorded: recorded?.outcome ?? null,
          rehearsed: "error",
          conclusion: null,
          reason: redact((err as Error).message),
        });
      } finally {
        progress?.increment();
      }
    }
  } finally {
    progress?.stop();
    await store?.close();
  }

  const rehearsal: Rehearsal = {
    kind: "changegate-rehearsal",
    repo: opts.repo,
    from: window.from,
    to: window.to,
    policy: { file: opts.policy, source: policy.source.location },
    floors: policy.floors ? { location: policy.floors.location, changed: policy.floors.notes } : null,
    merges: rows.length,
    blocked: rows.filter((r) => r.rehearsed === "blocked").length,
    errors: rows.filter((r) => r.rehearsed === "error").length,
    rows,
    notes,
  };
  if (opts.json) io.stdout.write(`${JSON.stringify(rehearsal)}\n`);
  else {
    for (const n of notes) io.stderr.write(`note: ${n}\n`);
    io.stdout.write(renderRehearsal(rehearsal));
  }
  if (rehearsal.errors > 0) return REHEARSE_EXIT.github;
  return rehearsal.blocked > 0 ? REHEARSE_EXIT.blocked : REHEARSE_EXIT.none;
}

/** `config check` on the file with its output held back (shown only when the file is not valid); the file's text when valid. */
async function quietConfigCheck(
  io: CliIo,
  file: string,
): Promise<{ code: number; stdout: string; stderr: string; text: string }> {
  let stdout = "";
  let stderr = "";
  let text = "";
  const code = await configCheck(
    {
      ...io,
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
    },
    file,
  );
  if (code === 0) {
    text = readFileSync(resolve(io.cwd, file), "utf8");
  }
  return { code, stdout, stderr, text };
}
