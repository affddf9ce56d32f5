/**
 * after-merge: what the audit trail keeps about a merge after it happened, each as a record of its
 * own kind in the PR's chain (no new column; merge records are never touched):
 *   retro_review       the retroactive review of an emergency merge (who, when, how, how late)
 *   retro_overdue      an emergency merge whose retroactive review was not made in time
 *   ticket_transition  the tickets moved (or not) to tickets.transition_on_merge
 * First writer wins: the check for an earlier retro_review/retro_overdue record and the append
 * run in one chain transaction (PostgreSQL advisory lock per chain, SQLite BEGIN IMMEDIATE), so
 * replicas and restarts record each once. Appends go through ChainWriter (the one writer).
 */
import type { Kysely } from "kysely";
import type { TicketTransitionResult } from "../policy/transition.js";
import type { PrRef } from "../refs.js";
import type { ChainWriter } from "./chain-writer.js";
import type { AfterMergeKind, AuditDatabase } from "./migrations.js";
import { chainOf, type MergePayload } from "./payload.js";
import type { RetroReviewTerms } from "./recorder.js";
import { changegateVersion } from "./version.js";
import { normaliseRow, type AuditRow } from "./reader.js";
import { recordColumns } from "./row.js";

/** An emergency (or any) merge as on record, with its retroactive review state. */
export interface MergeOnRecord {
  record: string;
  seq: number;
  ref: PrRef;
  headSha: string;
  url: string;
  title: string;
  author: string | null;
  mergedBy: string | null;
  mergedAt: string;
  emergency: boolean;
  bypass: boolean;
  retroReview: RetroReviewTerms | null;
  reviewed: { by: string; at: string; record: string } | null;
  overdue: boolean;
}

export interface RetroReviewRecord {
  at: string;
  deliveryId: string;
  ref: PrRef;
  headSha: string;
  by: string;
  reviewedAt: string;
  via: "review" | "comment";
  url: string;
  /** A `/changegate approve` comment: its id, so the record names the exact comment (its creation time is reviewedAt). */
  commentId?: number;
  dueAt: string;
  /** ms past due when reviewed (0: in time). */
  lateMs: number;
}

export interface OverdueRecord {
  at: string;
  ref: PrRef;
  headSha: string;
  dueAt: string;
  lateMs: number;
}

export interface TransitionRecord {
  at: string;
  deliveryId: string;
  ref: PrRef;
  headSha: string;
  target: string;
  results: TicketTransitionResult[];
}

export interface AfterMergeReceipt {
  id: string;
  /** A retroactive review or overdue mark was on record already: nothing appended. */
  duplicate: boolean;
}

export interface AfterMergeStore {
  mergeOnRecord(ref: PrRef, headSha: string): Promise<MergeOnRecord | null>;
  recordRetroReview(rec: RetroReviewRecord): Promise<AfterMergeReceipt>;
  /** Appends nothing when the merge was reviewed or marked overdue already. */
  recordOverdue(rec: OverdueRecord): Promise<AfterMergeReceipt>;
  recordTransitions(rec: TransitionRecord): Promise<AfterMergeReceipt>;
  /** Emergency merges whose review was due before `now`, neither reviewed nor marked overdue (at most `limit`). */
  overdueMerges(now: Date, limit?: number): Promise<MergeOnRecord[]>;
  /** How many emergency merges' reviews are due before `now` and not made (overdue marked or not): the open overdue reviews (a metric). */
  openOverdueCount?(now: Date): Promise<number>;
}

type Db = Kysely<AuditDatabase>;
const RETRO_KINDS: AfterMergeKind[] = ["retro_review", "retro_overdue"];

export class ChainAfterMerge implements AfterMergeStore {
  private readonly version = changegateVersion();
  constructor(private readonly writer: ChainWriter) {}

  private get db(): Db {
    return this.writer.store.db;
  }

  async mergeOnRecord(ref: PrRef, headSha: string): Promise<MergeOnRecord | null> {
    return mergeOnRecordIn(this.db, ref, headSha);
  }

  async recordRetroReview(rec: RetroReviewRecord): Promise<AfterMergeReceipt> {
    return this.appendOnce(
      rec.ref,
      rec.headSha,
      ["retro_review"],
      "retro_review",
      rec.at,
      rec.deliveryId,
      rec.lateMs > 0 ? "reviewed_late" : "reviewed",
      {
        type: "retro_review",
        at: rec.at,
        repo: `${rec.ref.owner}/${rec.ref.repo}`,
        number: rec.ref.number,
        installationId: rec.ref.installationId,
        headSha: rec.headSha,
        reviewedBy: rec.by,
        reviewedAt: rec.reviewedAt,
        via: rec.via,
        url: rec.url,
        ...(rec.commentId !== undefined
          ? { commentId: rec.commentId, commentCreatedAt: rec.reviewedAt }
          : {}),
        dueAt: rec.dueAt,
        lateMs: rec.lateMs,
        changegateVersion: this.version,
      },
    );
  }

  async recordOverdue(rec: OverdueRecord): Promise<AfterMergeReceipt> {
    return this.appendOnce(
      rec.ref,
      rec.headSha,
      RETRO_KINDS,
      "retro_overdue",
      rec.at,
      "overdue-check",
      "overdue",
      {
        type: "retro_overdue",
        at: rec.at,
        repo: `${rec.ref.owner}/${rec.ref.repo}`,
        number: rec.ref.number,
        installationId: rec.ref.installationId,
        headSha: rec.headSha,
        dueAt: rec.dueAt,
        lateMs: rec.lateMs,
        changegateVersion: this.version,
      },
    );
  }

  async recordTransitions(rec: TransitionRecord): Promise<AfterMergeReceipt> {
    const failed = rec.results.some((r) => r.result === "failed");
    return this.appendOnce(
      rec.ref,
      rec.headSha,
      ["ticket_transition"],
      "ticket_transition",
      rec.at,
      rec.deliveryId,
      failed ? "failed" : "moved",
      {
        type: "ticket_transition",
        at: rec.at,
        repo: `${rec.ref.owner}/${rec.ref.repo}`,
        number: rec.ref.number,
        installationId: rec.ref.installationId,
        headSha: rec.headSha,
        target: rec.target,
        results: rec.results.map((r) => ({ ...r })),
        changegateVersion: this.version,
      },
    );
  }

  async openOverdueCount(now: Date): Promise<number> {
    return (await this.dueWithout(["retro_review"], now, 100_000)).length;
  }

  async overdueMerges(now: Date, limit = 500): Promise<MergeOnRecord[]> {
    return this.dueWithout(RETRO_KINDS, now, limit);
  }

  /** Merges with a retroactive review due before `now` and no record of `kinds` for them. */
  private async dueWithout(kinds: AfterMergeKind[], now: Date, limit: number): Promise<MergeOnRecord[]> {
    const rows = await this.db
      .selectFrom("audit_record as m")
      .select([
        "m.chain",
        "m.seq",
        "m.payload",
        "m.installation_id",
        "m.pr_number",
        "m.head_sha",
        "m.merged_at",
      ])
      .where("m.kind", "=", "merge")
      .where("m.payload", "like", '%"retroReview":{%')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("audit_record as f")
              .select("f.seq")
              .whereRef("f.chain", "=", "m.chain")
              .whereRef("f.pr_number", "=", "m.pr_number")
              .whereRef("f.installation_id", "=", "m.installation_id")
              .whereRef("f.head_sha", "=", "m.head_sha")
              .where("f.kind", "in", kinds),
          ),
        ),
      )
      .orderBy("m.merged_at")
      .limit(5000)
      .execute();
    const out: MergeOnRecord[] = [];
    for (const r of rows) {
      const m = toMerge({ chain: r.chain, seq: Number(r.seq), payload: r.payload, merged_at: r.merged_at });
      if (!m?.retroReview || Date.parse(m.retroReview.dueAt) > now.getTime()) continue;
      out.push(m);
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Append a record of `kind` about the merge of `ref` at `headSha`, unless one of `unlessKinds`
   * is on record for it already (checked inside the chain transaction: the first writer wins).
   */
  private async appendOnce(
    ref: PrRef,
    headSha: string,
    unlessKinds: AfterMergeKind[],
    kind: AfterMergeKind,
    at: string,
    deliveryId: string,
    outcome: string,
    payload: Record<string, unknown>,
  ): Promise<AfterMergeReceipt> {
    const chain = chainOf(ref.owner, ref.repo);
    let existing: string | null = null;
    const appended = await this.writer.append(chain, async (tx) => {
      const merge = await mergeRow(tx, ref, headSha);
      const prior = await tx
        .selectFrom("audit_record")
        .select("seq")
        .where("chain", "=", chain)
        .where("pr_number", "=", ref.number)
        .where("installation_id", "=", ref.installationId)
        .where("head_sha", "=", headSha)
        .where("kind", "in", unlessKinds)
        .orderBy("seq")
        .limit(1)
        .executeTakeFirst();
      if (prior && kind !== "ticket_transition") {
        existing = `${chain}@${prior.seq}`;
        return null;
      }
      return recordColumns({
        kind,
        at,
        ref,
        headSha,
        deliveryId,
        outcome,
        // The merge record this one is about.
        standingSeq: merge?.seq ?? null,
        payload: { ...payload, mergeRecord: merge ? `${chain}@${merge.seq}` : null },
      });
    });
    if (appended) return { id: appended.id, duplicate: false };
    return { id: existing!, duplicate: true };
  }
}

/** The records made about `merge` (a merge row) after it: for the export's after-merge columns. */
export async function afterMergeRows(
  db: Db,
  merge: { chain: string; pr_number: number; installation_id: number; head_sha: string },
): Promise<AuditRow[]> {
  const rows = await db
    .selectFrom("audit_record")
    .selectAll()
    .where("chain", "=", merge.chain)
    .where("pr_number", "=", merge.pr_number)
    .where("installation_id", "=", merge.installation_id)
    .where("head_sha", "=", merge.head_sha)
    .where("kind", "in", ["retro_review", "retro_overdue", "ticket_transition"] satisfies AfterMergeKind[])
    .orderBy("seq")
    .execute();
  return rows.map(normaliseRow);
}

async function mergeRow(db: Db, ref: PrRef, headSha: string) {
  return db
    .selectFrom("audit_record")
    .select(["chain", "seq", "payload", "merged_at"])
    .where("chain", "=", chainOf(ref.owner, ref.repo))
    .where("pr_number", "=", ref.number)
    .where("installation_id", "=", ref.installationId)
    .where("kind", "=", "merge")
    .where("head_sha", "=", headSha)
    .orderBy("seq")
    .limit(1)
    .executeTakeFirst();
}

async function mergeOnRecordIn(db: Db, ref: PrRef, headSha: string): Promise<MergeOnRecord | null> {
  const row = await mergeRow(db, ref, headSha);
  if (!row) return null;
  const m = toMerge({ ...row, seq: Number(row.seq) });
  if (!m) return null;
  const follow = await db
    .selectFrom("audit_record")
    .select(["seq", "kind", "payload"])
    .where("chain", "=", row.chain)
    .where("pr_number", "=", ref.number)
    .where("installation_id", "=", ref.installationId)
    .where("head_sha", "=", headSha)
    .where("kind", "in", RETRO_KINDS)
    .orderBy("seq")
    .execute();
  for (const f of follow) {
    if (f.kind === "retro_overdue") m.overdue = true;
    if (f.kind === "retro_review" && !m.reviewed) {
      const p = JSON.parse(f.payload) as { reviewedBy: string; reviewedAt: string };
      m.reviewed = { by: p.reviewedBy, at: p.reviewedAt, record: `${row.chain}@${f.seq}` };
    }
  }
  return m;
}

function toMerge(row: {
  chain: string;
  seq: number;
  payload: string;
  merged_at: string | null;
}): MergeOnRecord | null {
  let p: MergePayload;
  try {
    p = JSON.parse(row.payload) as MergePayload;
  } catch {
    return null;
  }
  const [owner, repo] = p.repo.split("/") as [string, string];
  return {
    record: `${row.chain}@${row.seq}`,
    seq: row.seq,
    ref: { installationId: Number(p.installationId), owner, repo, number: p.number },
    headSha: p.headSha,
    url: p.url,
    title: p.title,
    author: p.author,
    mergedBy: p.mergedBy,
    mergedAt: row.merged_at ?? p.mergedAt ?? p.at,
    emergency: p.emergency,
    bypass: p.bypass,
    retroReview: p.retroReview ?? null,
    reviewed: null,
    overdue: false,
  };
}
