/**
 * What an audit record says, as plain JSON: built from the pipeline's EvaluationRecord and
 * MergeRecord. Pure (no store, no I/O) so the exact content of a record is easy to test.
 *
 * Left out on purpose: the PR body and full commit messages (free text that can carry pasted
 * secrets; where a ticket key was found is kept in tickets.refs[].foundIn).
 */
import type { AsOfMergeRead, EvaluationRecord, MergeGroupRecord, MergeRecord } from "./recorder.js";
import type {
  CiCheck,
  CommitInfo,
  PolicySource,
  ReviewState,
  TicketEvidence,
  Verdict,
} from "../policy/types.js";
import type { Config } from "../config/schema.js";
import { unattributedCommits } from "../policy/approvals.js";
import { emergencyDeclaration } from "../policy/emergency.js";

export interface ReviewEvidence {
  login: string | null;
  bot: boolean;
  state: ReviewState;
  submittedAt: string | null;
  commitOid: string | null;
  authorCanPush: boolean;
  url: string;
}

export interface EvaluationPayload {
  type: "evaluation";
  at: string;
  deliveryId: string;
  event: string;
  installationId: number;
  repo: string;
  number: number;
  url: string;
  title: string;
  author: string | null;
  base: string;
  headRef: string;
  headSha: string;
  draft: boolean;
  labels: string[];
  /** What the check says: success, failure or pending. */
  outcome: EvaluationRecord["outcome"];
  error: string | null;
  emergency: boolean;
  /**
   * Who applied the emergency label and when (newest LabeledEvent), and whether the emergency rules
   * applied because of it. Absent from records written before changegate recorded declarers; null
   * when the PR did not carry the label (or was not evaluated).
   */
  emergencyDeclaredBy?: string | null;
  emergencyDeclaredAt?: string | null;
  emergencyDeclarationAccepted?: boolean | null;
  /** The head the declaration was made on (the PR's head when the label was applied); null = unknown. Records since issue 20. */
  emergencyDeclaredOn?: string | null;
  /** Non-merge commits with an author or committer tied to no GitHub account (absent from older records). */
  unattributedCommits?: { oid: string; who: string[] }[];
  gated: boolean | null;
  /** Per rule: status, summary, what was missing, and the lines it judged (reviewers, checks, tickets). */
  verdict: Verdict | null;
  evidence: {
    reviews: ReviewEvidence[];
    checks: CiCheck[];
    tickets: TicketEvidence;
    commits: Pick<CommitInfo, "oid" | "headline" | "authors" | "committer" | "isMerge" | "unlinked">[];
  };
  policy: { source: PolicySource; config: Config } | null;
  sequence: number | null;
  changegateVersion: string;
}

export interface StandingVerdict {
  /** The evaluation record (same chain) that stood for the merged head; null when there was none. */
  seq: number;
  hash: string;
  outcome: string;
  at: string;
}

/**
 * A merge record's payload: the MergeRecord it was made from (one type, not a copy of its fields),
 * with the PR named by its parts instead of `ref`, and what recording added. `outcome`: records made
 * before shared-head checks (changegate 0.1) hold the check run's state instead of the PR's own verdict.
 */
export type MergePayload = Omit<MergeRecord, "ref" | "gated" | "asOfMerge"> & {
  type: "merge";
  installationId: number;
  repo: string;
  number: number;
  gated: boolean | null;
  bypass: boolean;
  standing: StandingVerdict | null;
  /** The scan's judgement as of the merge, when no verdict stood (absent otherwise). */
  asOfMerge?: AsOfMergePayload;
  changegateVersion: string;
};

/**
 * Evidence of a merge found by the scan, read at scan time (what the scan marks so). How each part
 * was judged as of the merge (docs/audit.md): approvals from reviews submitted by the merge; CI from
 * results created and completed by the merge (later ones never count); the emergency label from
 * label events by the merge; tickets as Jira has them at scan time (their state at the merge is not
 * known).
 */
export const READ_AT_SCAN_TIME = ["approvals", "ci", "emergency", "tickets"] as const;

export interface AsOfMergePayload {
  outcome: string;
  title: string;
  /** When the scan read the evidence below (absent from records made before the scan kept it). */
  readAt?: string;
  /** What was read at scan time: every part of `evaluation` (READ_AT_SCAN_TIME). */
  readAtScanTime?: string[];
  /** The scan's read, as an evaluation record says it (event "audit scan"); absent from older records. */
  evaluation?: EvaluationPayload;
}

export type RecordPayload = EvaluationPayload | MergePayload;

/** The chain a PR's records belong to: its repository. */
export function chainOf(owner: string, repo: string): string {
  return `${owner}/${repo}`.toLowerCase();
}

/** JSON round trip through plain data: drops undefined, turns class instances into plain objects. */
function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export function evaluationPayload(rec: EvaluationRecord, version: string): EvaluationPayload {
  const e = rec.evidence;
  // The verdict's word; when evaluation failed, what the policy and evidence said about the label.
  const declared = rec.verdict
    ? rec.verdict.declaration
    : rec.policy
      ? emergencyDeclaration(rec.policy.config, e)
      : undefined;
  const declaration = declared?.labelled ? declared : null;
  return {
    type: "evaluation",
    at: rec.at,
    deliveryId: rec.deliveryId,
    event: rec.event,
    installationId: rec.ref.installationId,
    repo: `${rec.ref.owner}/${rec.ref.repo}`,
    number: rec.ref.number,
    url: e.pr.url,
    title: e.pr.title,
    author: e.pr.author?.login ?? null,
    base: e.pr.baseRef,
    headRef: e.pr.headRef,
    headSha: e.pr.headSha,
    draft: e.pr.isDraft,
    labels: [...e.pr.labels],
    outcome: rec.outcome,
    error: rec.error,
    emergency: rec.verdict?.emergency ?? false,
    emergencyDeclaredBy: declaration?.declarer ?? null,
    emergencyDeclaredAt: declaration?.at ?? null,
    emergencyDeclarationAccepted: declaration?.accepted ?? null,
    emergencyDeclaredOn: declaration?.declaredOn ?? null,
    unattributedCommits: unattributedCommits(e).map((u) => ({ oid: u.oid, who: [...u.who] })),
    gated: rec.verdict?.gated ?? null,
    verdict: rec.verdict ? plain(rec.verdict) : null,
    evidence: {
      reviews: e.reviews.map((r) => ({
        login: r.author?.login ?? null,
        bot: r.author?.isBot ?? false,
        state: r.state,
        submittedAt: r.submittedAt,
        commitOid: r.commitOid,
        authorCanPush: r.authorCanPush,
        url: r.url,
      })),
      checks: plain(e.checks),
      tickets: plain(e.tickets),
      commits: e.commits.map((c) => ({
        oid: c.oid,
        headline: c.headline,
        authors: [...c.authors],
        committer: c.committer,
        isMerge: c.isMerge,
        ...(c.unlinked ? { unlinked: [...c.unlinked] } : {}),
      })),
    },
    policy: rec.policy ? plain({ source: rec.policy.source, config: rec.policy.config }) : null,
    sequence: rec.sequence ?? null,
    changegateVersion: version,
  };
}

export function mergePayload(
  rec: MergeRecord,
  bypass: boolean,
  standing: StandingVerdict | null,
  version: string,
): MergePayload {
  return {
    type: "merge",
    at: rec.at,
    deliveryId: rec.deliveryId,
    installationId: rec.ref.installationId,
    repo: `${rec.ref.owner}/${rec.ref.repo}`,
    number: rec.ref.number,
    url: rec.url,
    title: rec.title,
    author: rec.author,
    headSha: rec.headSha,
    mergedBy: rec.mergedBy,
    mergedAt: rec.mergedAt,
    mergeCommitSha: rec.mergeCommitSha,
    ...(rec.baseRef ? { baseRef: rec.baseRef } : {}),
    outcome: rec.outcome,
    emergency: rec.emergency,
    gated: rec.gated ?? null,
    bypass,
    standing,
    ...(rec.foundBy ? { foundBy: rec.foundBy } : {}),
    ...(rec.asOfMerge ? { asOfMerge: asOfMergePayload(rec, rec.asOfMerge, version) } : {}),
    ...(rec.retroReview ? { retroReview: { ...rec.retroReview } } : {}),
    changegateVersion: version,
  };
}

function asOfMergePayload(
  rec: MergeRecord,
  a: NonNullable<MergeRecord["asOfMerge"]>,
  version: string,
): AsOfMergePayload {
  const out: AsOfMergePayload = { outcome: a.outcome, title: a.title };
  if (!a.read) return out;
  const evaluation = evaluationPayload(asEvaluation(rec, a, a.read), version);
  return { ...out, readAt: a.read.at, readAtScanTime: [...READ_AT_SCAN_TIME], evaluation };
}

function asEvaluation(
  rec: MergeRecord,
  a: NonNullable<MergeRecord["asOfMerge"]>,
  read: AsOfMergeRead,
): EvaluationRecord {
  return {
    at: read.at,
    deliveryId: rec.deliveryId,
    event: "audit scan",
    ref: rec.ref,
    evidence: read.evidence,
    policy: read.policy,
    verdict: read.verdict,
    outcome: a.outcome,
    error: read.verdict ? null : a.title,
  };
}

/** A merge group record's payload (record kind "merge_group"). */
export function mergeGroupPayload(rec: MergeGroupRecord, version: string): Record<string, unknown> {
  return {
    type: "merge_group",
    at: rec.at,
    deliveryId: rec.deliveryId,
    installationId: rec.ref.installationId,
    repo: `${rec.ref.owner}/${rec.ref.repo}`,
    number: rec.ref.number,
    action: rec.action,
    reason: rec.reason,
    baseRef: rec.baseRef,
    baseSha: rec.baseSha,
    headSha: rec.headSha,
    prs: rec.prs,
    outcome: rec.outcome,
    error: rec.error,
    changegateVersion: version,
  };
}

/** ISO-8601 UTC in one shape (toISOString), so stored times sort as text; throws on garbage. */
export function normaliseTime(value: string): string {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`not a time: ${JSON.stringify(value)}`);
  return d.toISOString();
}
