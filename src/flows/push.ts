/**
 * push events: a change that reaches a gated branch without a merged pull request. The payload
 * (parsed with zod, bounded) says which branch, who pushed, before/after, forced, and the commits
 * (GitHub lists at most 2,048); GitHub's read (github/push-facts.ts: one GraphQL query per 21
 * commits, every listed commit examined) says the policy and which pull requests each commit belongs
 * to; policy/direct-push.ts decides. A payload listing 2,048 commits may be cut short by GitHub: it is
 * never judged compliant (recorded, saying why: `listTruncated`). A direct push is
 * recorded (`direct_push`, audit/direct-push.ts), logged with the `is non-compliant!` phrase, counted
 * as a bypass, and listed in audit.issue_repo's bypass issue. Ignored: tag pushes, deleted
 * branches, ungated branches. A redelivery (or the scan) finds the record for the same delivery or
 * (repo, branch, before, after) and repeats nothing. The policy is read as the pipeline reads it
 * (HEAD of the default branch) AND, for a push to the default branch, at `before` (in the same
 * request): a push that rewrites the policy file cannot ungate itself (policy/push-gate.ts: gated
 * when either gates; an invalid or unknown policy gates every branch: fail closed).
 *
 * Commits without a merged PR are settled first (flows/push-settle.ts): the merge commit of a
 * merge on record is the merge's, and the rest are read again once after DIRECT_PUSH_RECHECK_MS
 * (GitHub may not have linked a just-merged PR's merge commit yet). Only what is left is recorded.
 */
import type { Logger } from "pino";
import { z } from "zod";
import type { DirectPushRecord, DirectPushStore } from "../audit/direct-push.js";
import { NON_COMPLIANT_PHRASE } from "../contract.js";
import { listInBypassIssue } from "../github/bypass-issue.js";
import { MAX_PUSH_PAYLOAD_COMMITS, pushFactsAll, SHA } from "../github/push-facts.js";
import { policyPoint, unknownPoint } from "../github/push-policy.js";
import type { GraphqlReader } from "../github/reader.js";
import type { OctokitLike } from "../github/types.js";
import { judgePush } from "../policy/direct-push.js";
import { pushGate, type PolicyPoint } from "../policy/push-gate.js";
import { directPushEntry } from "../report/direct-push.js";
import { redact, redactError } from "../report/redact.js";
import { DEFAULT_DIRECT_PUSH_RECHECK_MS, settleUncovered } from "./push-settle.js";
import type { BranchHeadStore } from "../audit/branch-head.js";

export interface DirectPushDeps {
  store: DirectPushStore;
  octokitFor(installationId: number): Promise<OctokitLike>;
  readerFor(installationId: number, octokit: OctokitLike): GraphqlReader;
  now(): Date;
  log: Logger;
  /** Counted as a bypass (the bypasses metric). */
  onDirectPush?: () => void;
  /** DIRECT_PUSH_RECHECK_MS: the wait before commits without a PR are read again (default 15 s; 0: no wait, still one read). */
  recheckMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** The scan's bookkeeping: an examined push that continues the head on record moves it (audit/branch-head.ts). */
  heads?: BranchHeadStore;
}

export type PushOutcome = "ignored" | "not_gated" | "compliant" | "recorded" | "duplicate";

const sha = z.string().regex(SHA, "expected a 40-hex commit sha");
const payloadSchema = z.object({
  ref: z.string().min(1).max(1024),
  before: sha,
  after: sha,
  forced: z.boolean().optional().default(false),
  deleted: z.boolean().optional().default(false),
  created: z.boolean().optional().default(false),
  pusher: z
    .object({ name: z.string().max(200).nullable().optional() })
    .nullable()
    .optional(),
  installation: z.object({ id: z.number().int().positive() }),
  repository: z.object({
    name: z.string().min(1).max(100),
    owner: z.object({
      login: z.string().min(1).max(100).optional(),
      name: z.string().min(1).max(100).optional(),
    }),
    pushed_at: z.union([z.number(), z.string()]).nullable().optional(),
  }),
  // GitHub lists at most 2,048 commits; anything longer is not GitHub's payload.
  commits: z
    .array(z.object({ id: sha }))
    .max(MAX_PUSH_PAYLOAD_COMMITS)
    .optional()
    .default([]),
});

const ZERO = "0".repeat(40);

export async function handlePush(
  deps: DirectPushDeps,
  deliveryId: string,
  payload: unknown,
): Promise<PushOutcome> {
  const parsed = payloadSchema.safeParse(payload);
  if (!parsed.success) {
    deps.log.warn(
      { delivery: deliveryId, problem: z.prettifyError(parsed.error).slice(0, 500) },
      "push event without the fields changegate needs: ignored",
    );
    return "ignored";
  }
  const p = parsed.data;
  const outcome = await examinePush(deps, deliveryId, p);
  // Examined (whatever the verdict): the scan need not walk these commits again. Only a push that
  // continues the head on record moves it; a push whose delivery was lost in between never is skipped.
  const owner = p.repository.owner.login ?? p.repository.owner.name;
  if (deps.heads && outcome !== "ignored" && owner && !p.created && p.before !== ZERO) {
    await deps.heads
      .advance(`${owner}/${p.repository.name}`, p.ref.slice("refs/heads/".length), p.before, p.after)
      .catch((err: unknown) => {
        deps.log.warn(
          { err: redactError(err), delivery: deliveryId },
          "could not note the branch's new head for the scan (the scan walks these commits again)",
        );
      });
  }
  return outcome;
}

async function examinePush(
  deps: DirectPushDeps,
  deliveryId: string,
  p: z.infer<typeof payloadSchema>,
): Promise<PushOutcome> {
  // Tag pushes and deleted branches change no branch's content: ignored (documented in docs/policy.md, "Events").
  if (!p.ref.startsWith("refs/heads/") || p.deleted || p.after === ZERO) return "ignored";
  const owner = p.repository.owner.login ?? p.repository.owner.name;
  if (!owner) return "ignored";
  const branch = p.ref.slice("refs/heads/".length);
  const repo = { owner, repo: p.repository.name };
  const label = `${owner}/${p.repository.name}`;
  // Every listed commit is examined (21 a request); a list at GitHub's limit may be cut short.
  const shas = [...new Set([...p.commits.map((c) => c.id), p.after])];
  const listTruncated = p.commits.length >= MAX_PUSH_PAYLOAD_COMMITS;
  const octokit = await deps.octokitFor(p.installation.id);
  const reader = deps.readerFor(p.installation.id, octokit);
  const before = p.created || p.before === ZERO ? undefined : p.before;
  const facts = await pushFactsAll(reader, repo, shas, before ? { before } : {});
  const now = await policyPoint(reader, label, facts.configFiles, null);
  // The policy before the push: the default branch's file at `before` (a push elsewhere, or one
  // creating the branch, does not change the default branch's policy: now is then before too).
  let earlier: PolicyPoint | null = null;
  if (facts.before && branch === facts.configFiles.defaultBranch) {
    earlier = facts.before.known
      ? await policyPoint(
          reader,
          label,
          { ...facts.configFiles, repoFile: facts.before.repoFile },
          { sha: facts.before.sha, when: "before the push" },
        )
      : unknownPoint(facts.before.sha, "before the push");
  }
  const gate = pushGate(branch, facts.configFiles.defaultBranch, now, earlier);
  const config = now.config ?? earlier?.config ?? null;
  const { gated, policySource } = gate;
  if (!gated) return "not_gated";
  let judged = judgePush({
    repo: label,
    branch,
    gated,
    forced: p.forced,
    commits: facts.commits,
    listTruncated,
  });
  if (judged.withoutPr.length > 0) {
    const settled = await settleUncovered(
      {
        store: deps.store,
        reader,
        recheckMs: deps.recheckMs ?? DEFAULT_DIRECT_PUSH_RECHECK_MS,
        sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      },
      label,
      judged.withoutPr.map((sha) => ({ branch, sha })),
    );
    if (settled.merges.length > 0) {
      deps.log.info(
        { repo: label, branch, after: p.after, merges: settled.merges },
        `push to ${label} ${branch}: ${settled.merges.length} commit(s) without a PR at first belong to a merge (on record, or linked by GitHub since)`,
      );
    }
    const still = new Set(settled.remaining.map((c) => c.sha));
    // Judged again on the commits still without a merged PR (a force push is recorded regardless).
    judged = judgePush({
      repo: label,
      branch,
      gated,
      forced: p.forced,
      commits: facts.commits.filter((c) => still.has(c.sha)),
      listTruncated,
    });
  }
  if (!judged.record) {
    deps.log.info(
      { repo: label, branch, after: p.after },
      `push to ${label} ${branch}: ${judged.why} (compliant)`,
    );
    return "compliant";
  }
  const rec: DirectPushRecord = {
    at: deps.now().toISOString(),
    deliveryId,
    installationId: p.installation.id,
    ...repo,
    branch,
    pusher: p.pusher?.name ?? null,
    before: p.created ? null : p.before,
    after: p.after,
    forced: p.forced,
    commitsWithoutPr: judged.withoutPr,
    examined: shas.length,
    pushedAt: pushedAt(p.repository.pushed_at, deps.now()),
    policySource,
    ...(listTruncated ? { listTruncated: true } : {}),
  };
  const receipt = await deps.store.recordDirectPush(rec);
  if (receipt.duplicate) {
    deps.log.info(
      { repo: label, branch, after: p.after, record: receipt.id },
      `push to ${label} ${branch} is on record already (${receipt.id}): nothing repeated`,
    );
    return "duplicate";
  }
  deps.onDirectPush?.();
  deps.log.warn(
    {
      repo: label,
      branch,
      pusher: rec.pusher,
      before: rec.before,
      after: rec.after,
      forced: rec.forced,
      commits: rec.commitsWithoutPr.length,
      record: receipt.id,
    },
    `${p.forced ? "force push" : "direct push"} to ${label} ${branch} by ${rec.pusher ?? "unknown"} ${NON_COMPLIANT_PHRASE} ${judged.why}`,
  );
  const issueRepo = config?.audit.issue_repo;
  if (issueRepo) {
    try {
      await listInBypassIssue(octokit, issueRepo, label, directPushEntry(rec, receipt.id));
    } catch (err) {
      deps.log.error(
        { err: redactError(err), issueRepo },
        `could not list the direct push to ${label} ${branch} in ${redact(issueRepo)}`,
      );
    }
  }
  return "recorded";
}

/** GitHub's repository.pushed_at (unix seconds on push events), else now. */
function pushedAt(v: number | string | null | undefined, now: Date): string {
  const t = typeof v === "number" ? v * 1000 : typeof v === "string" ? Date.parse(v) : NaN;
  return Number.isFinite(t) && t > 0 ? new Date(t).toISOString() : now.toISOString();
}
