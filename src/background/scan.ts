/**
 * The scan: the safety net behind the webhooks. For every target (installation), the PRs merged in
 * the window (github/merged-search.ts); each with no merge record is judged as of its merge
 * (flows/as-of-merge.ts; a verdict changegate recorded for the merged head before the merge
 * stands, as for a webhook merge), recorded with `foundBy: "scan"`, and a non-compliant one is a
 * bypass: the `is non-compliant!` log line and the bypass issue. Idempotent: a PR with a merge
 * record is skipped, and the recorder appends a merge once.
 */
import { randomUUID } from "node:crypto";
import type { AuditStore } from "../audit/database.js";
import { recordedMergeOf } from "../audit/merge-index.js";
import type { MergeRecord, Recorder } from "../audit/recorder.js";
import { NON_COMPLIANT_PHRASE } from "../contract.js";
import { reportBypass } from "../github/bypass-issue.js";
import {
  searchMergedPrs,
  type MergedPr,
  type MergedSearchOptions,
  type MergedSearchQuery,
} from "../github/merged-search.js";
import type { GraphqlReader } from "../github/reader.js";
import { prLabel, type OctokitLike } from "../github/types.js";
import type { TicketLookupService } from "../jira/tickets.js";
import { isBypass, standingVerdict } from "../policy/merge.js";
import { redact } from "../report/redact.js";
import { judgeAsOfMerge } from "../flows/as-of-merge.js";
import { mergeRecordOf } from "../flows/merge.js";
import type { DirectPushStore } from "../audit/direct-push.js";
import { installationRepos, scanPushes } from "./scan-pushes.js";
import type { BranchHeadStore } from "../audit/branch-head.js";

export interface ScanTarget {
  installationId: number;
  account: string;
  accountType: "Organization" | "User";
  octokit: OctokitLike;
  reader: GraphqlReader;
}

export interface ScanLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ScanDeps {
  targets: ScanTarget[];
  store: AuditStore;
  recorder: Recorder;
  appId: number;
  tickets: TicketLookupService | null;
  log: ScanLog;
  now: () => Date;
  search?: MergedSearchOptions;
  /** Progress: told how many merged PRs a target has, then once per PR examined. */
  onFound?: (n: number) => void;
  onExamined?: () => void;
  /** Also look for direct pushes whose push events were missed (background/scan-pushes.ts); absent: merges only. */
  directPushes?: DirectPushStore;
  /** DIRECT_PUSH_RECHECK_MS for the direct pushes' re-read (flows/push-settle.ts; default 15 s), and the wait. */
  directPushRecheckMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Where each branch stood at the last scan: the direct-push scan walks refs from there (audit/branch-head.ts). */
  branchHeads?: BranchHeadStore;
  /** Told when a target (installation) could not be searched: the others go on (metrics). */
  onTargetFailed?: (t: ScanTarget, error: string) => void;
}

export interface ScanWindow {
  from: string;
  to: string;
  repo?: string;
  org?: string;
}

export interface ScanSummary {
  from: string;
  to: string;
  installations: number;
  /** Merged PRs GitHub reports in the window. */
  merged: number;
  /** Of those, already on record (nothing done). */
  alreadyRecorded: number;
  /** Recorded by this scan. */
  recorded: number;
  compliant: number;
  bypasses: { pr: string; url: string; outcome: string; record: string | null }[];
  /** PRs that could not be judged or recorded (tried again by the next scan). */
  failed: { pr: string; error: string }[];
  /** With directPushes: the direct pushes this scan recorded, and branches whose window was over the bound. */
  directPushes?: {
    recorded: { repo: string; branch: string; sha: string; record: string }[];
    truncated: string[];
    forced?: { repo: string; branch: string; before: string; after: string; record: string }[];
    /** The branches the policy gates now, per installation (branch enforcement seeds them). */
    gated?: { installationId: number; repo: string; branch: string; defaultBranch: string }[];
  };
  /** Installations whose merged PRs could not be listed (their direct pushes are still looked for). */
  failedTargets?: number;
}

/** The search scope of one target for this window. */
export function scopeOf(t: ScanTarget, w: ScanWindow): MergedSearchQuery["scope"] {
  if (w.repo) return { repo: w.repo };
  return t.accountType === "User" ? { user: t.account } : { org: t.account };
}

export async function scan(deps: ScanDeps, w: ScanWindow): Promise<ScanSummary> {
  const summary: ScanSummary = {
    from: w.from,
    to: w.to,
    installations: deps.targets.length,
    merged: 0,
    alreadyRecorded: 0,
    recorded: 0,
    compliant: 0,
    bypasses: [],
    failed: [],
  };
  const runId = `scan-${randomUUID()}`;
  for (const t of deps.targets) {
    // One installation whose search fails never stops the others (nor, in the app, the reconcile).
    let prs: MergedPr[];
    try {
      prs = await searchMergedPrs(t.octokit, { scope: scopeOf(t, w), from: w.from, to: w.to }, deps.search);
    } catch (err) {
      const error = redact(err instanceof Error ? err.message : String(err));
      summary.failed.push({ pr: `installation ${t.installationId} (${t.account})`, error });
      summary.failedTargets = (summary.failedTargets ?? 0) + 1;
      deps.onTargetFailed?.(t, error);
      deps.log.error(
        { installation: t.installationId, account: t.account, err: error },
        `the scan could not list the merges of installation ${t.installationId} (${t.account}); the other installations go on, the next scan tries again`,
      );
      prs = [];
    }
    prs.sort(
      (a, b) =>
        (a.mergedAt ?? "").localeCompare(b.mergedAt ?? "") ||
        a.repo.localeCompare(b.repo) ||
        a.number - b.number,
    );
    summary.merged += prs.length;
    deps.onFound?.(prs.length);
    for (const pr of prs) {
      try {
        await examine(deps, t, pr, runId, summary);
      } catch (err) {
        const error = redact(err instanceof Error ? err.message : String(err));
        summary.failed.push({ pr: `${pr.repo}#${pr.number}`, error });
        deps.log.error(
          { pr: `${pr.repo}#${pr.number}`, err: error },
          `the scan could not judge ${pr.repo}#${pr.number}; the next scan tries again`,
        );
      } finally {
        deps.onExamined?.();
      }
    }
    if (deps.directPushes) await scanTargetPushes(deps, deps.directPushes, t, w, runId, summary);
  }
  deps.log.info(
    { ...summary, bypasses: summary.bypasses.length, failed: summary.failed.length },
    `audit scan ${w.from} .. ${w.to}: ${summary.merged} merged, ${summary.alreadyRecorded} on record, ${summary.recorded} recorded now (${summary.bypasses.length} non-compliant), ${summary.failed.length} failed`,
  );
  return summary;
}

async function examine(
  deps: ScanDeps,
  t: ScanTarget,
  found: MergedPr,
  runId: string,
  summary: ScanSummary,
): Promise<void> {
  if (await recordedMergeOf(deps.store, found.repo, found.number)) {
    summary.alreadyRecorded++;
    return;
  }
  const [owner, repo] = found.repo.split("/") as [string, string];
  const ref = { installationId: t.installationId, owner, repo, number: found.number };
  const label = prLabel(ref);
  const readAt = deps.now().toISOString();
  const judged = await judgeAsOfMerge(
    {
      reader: t.reader,
      octokit: t.octokit,
      appId: deps.appId,
      tickets: deps.tickets,
      recorder: deps.recorder,
    },
    ref,
  );
  const pr = judged.evidence.pr;
  const own = (await deps.recorder.verdictsAt(ref, pr.headSha, [ref.number])).get(ref.number);
  const standing = standingVerdict(own, pr.baseRef);
  const outcome: MergeRecord["outcome"] = standing ? standing.outcome : judged.outcome;
  const emergency = standing ? standing.emergency : judged.emergency;
  const gated = judged.gated;
  // As the webhook path writes it (flows/merge.ts), so an emergency merge found late still gets
  // its retroactive review's due time and is watched by the overdue check.
  const merge: MergeRecord = {
    ...mergeRecordOf(
      { at: deps.now().toISOString(), deliveryId: runId, ref },
      pr,
      { outcome, emergency, gated },
      judged.policy?.config ?? null,
    ),
    foundBy: "scan",
    // No verdict stood: what the scan read (at scan time, judged as of the merge) goes on the record.
    ...(standing
      ? {}
      : {
          asOfMerge: {
            outcome: judged.outcome,
            title: judged.verdict?.title ?? judged.problem ?? "",
            read: { at: readAt, evidence: judged.evidence, policy: judged.policy, verdict: judged.verdict },
          },
        }),
  };
  const receipt = await deps.recorder.recordMerge(merge);
  if (receipt?.duplicate) {
    summary.alreadyRecorded++;
    return;
  }
  summary.recorded++;
  if (!isBypass(merge)) {
    summary.compliant++;
    deps.log.info(
      { url: pr.url, outcome },
      `${label} merged (compliant); its merge was missed and is now on record, found by the scan`,
    );
    return;
  }
  const why = standing
    ? `its verdict on ${pr.headSha.slice(0, 7)} was ${outcome}`
    : `judged as of its merge: ${outcome} (${judged.verdict?.title ?? judged.problem ?? ""})`;
  deps.log.warn(
    { mergedBy: pr.mergedBy, url: pr.url, verdict: outcome, head: pr.headSha, foundBy: "scan" },
    `${label} merged by ${pr.mergedBy ?? "unknown"} ${NON_COMPLIANT_PHRASE} ${why} ${pr.url} (found by the scan)`,
  );
  summary.bypasses.push({ pr: label, url: pr.url, outcome, record: receipt?.id ?? null });
  const issueRepo = judged.policy?.config.audit.issue_repo;
  if (issueRepo) {
    try {
      await reportBypass(t.octokit, issueRepo, merge, receipt?.id ?? null);
    } catch (err) {
      deps.log.error(
        { err: redact((err as Error).message), issueRepo },
        `could not list the bypass of ${label} in ${issueRepo}`,
      );
    }
  }
}

/** After the merges (so a missed merge is on record first): the direct pushes of the target's repositories. */
async function scanTargetPushes(
  deps: ScanDeps,
  store: DirectPushStore,
  t: ScanTarget,
  w: ScanWindow,
  runId: string,
  summary: ScanSummary,
): Promise<void> {
  const out = (summary.directPushes ??= { recorded: [], truncated: [], forced: [] });
  let repos: string[];
  try {
    repos = w.repo ? [w.repo] : await installationRepos(t.octokit, w.org);
  } catch (err) {
    const error = redact((err as Error).message);
    summary.failed.push({ pr: `installation ${t.installationId}`, error });
    deps.onTargetFailed?.(t, error);
    deps.log.error(
      { installation: t.installationId, err: error },
      `the scan could not list the repositories of installation ${t.installationId}; the next scan tries again`,
    );
    return;
  }
  for (const repo of repos) {
    try {
      const s = await scanPushes(
        {
          store,
          octokit: t.octokit,
          reader: t.reader,
          installationId: t.installationId,
          now: deps.now,
          log: deps.log,
          recheckMs: deps.directPushRecheckMs,
          sleep: deps.sleep,
          heads: deps.branchHeads,
        },
        repo,
        { from: w.from, to: w.to },
        runId,
      );
      out.recorded.push(...s.recorded);
      out.truncated.push(...s.truncated);
      (out.forced ??= []).push(...s.forced);
      (out.gated ??= []).push(...(s.gated ?? []).map((g) => ({ installationId: t.installationId, ...g })));
    } catch (err) {
      const error = redact(err instanceof Error ? err.message : String(err));
      summary.failed.push({ pr: `${repo} (direct pushes)`, error });
      // Not a complete scan: the last-success metric must not move (its alert fires).
      summary.failedTargets = (summary.failedTargets ?? 0) + 1;
      deps.log.error(
        { repo, err: error },
        `the scan could not look for direct pushes in ${repo}; the next scan tries again`,
      );
    }
  }
}

/** The branches whose history in the window was over the bound: a warning each (the scheduled scan; the CLI prints TRUNCATED and exits 1). */
export function warnTruncated(log: ScanLog, summary: ScanSummary): void {
  for (const t of summary.directPushes?.truncated ?? []) {
    log.warn(
      { branch: t, from: summary.from, to: summary.to },
      `audit scan: the history of ${t} from ${summary.from} to ${summary.to} has more commits than the scan reads; direct pushes past the bound were not examined (run \`changegate audit scan --repo\` on shorter windows)`,
    );
  }
}
