/**
 * The chain writer: the pipeline's Recorder and the only writer of audit_record. Records are
 * append-only and hash-chained, one chain per repository (lower-cased "owner/name"): each record
 * stores the previous record's hash and its own hash over all its columns (hash.ts). Appending to a
 * chain is serialised across processes (AuditStore.inChainTransaction: an advisory lock per chain
 * on PostgreSQL, BEGIN IMMEDIATE on SQLite). A failure to record rejects; the pipeline then fails
 * closed (the check does not go green).
 */
import { sql, type Kysely } from "kysely";
import { prKey, type PrRef } from "../refs.js";
import { isBypass } from "../policy/merge.js";
import type { AuditStore } from "./database.js";
import { GENESIS_HASH, recordHash, type HashedColumns } from "./hash.js";
import type { AuditDatabase } from "./migrations.js";
import {
  chainOf,
  evaluationPayload,
  mergeGroupPayload,
  mergePayload,
  type StandingVerdict,
} from "./payload.js";
import type {
  EvaluationRecord,
  MergeGroupRecord,
  MergeRecord,
  OwnVerdict,
  Recorder,
  RepoRef,
} from "./recorder.js";
import { recordColumns } from "./row.js";
import { closePr, indexEvaluation } from "./ticket-index.js";
import { changegateVersion } from "./version.js";

export interface AppendedRecord {
  chain: string;
  seq: number;
  hash: string;
  /** "owner/name@seq": how the CLI and the bypass issue name a record. */
  id: string;
}

export interface MergeRecorded extends AppendedRecord {
  bypass: boolean;
  standing: StandingVerdict | null;
  /** The merge was on record already (a resumed or repeated delivery): nothing was appended. */
  duplicate: boolean;
}

export class ChainWriter implements Recorder {
  private readonly version = changegateVersion();

  constructor(readonly store: AuditStore) {}

  /**
   * Append an evaluation, with the PR's next evaluation sequence unless the record brings one, and
   * bring the ticket index in step in the same transaction. Resolves with the record's id and hash.
   */
  async recordEvaluation(rec: EvaluationRecord): Promise<AppendedRecord> {
    const { ref } = rec;
    const chain = chainOf(ref.owner, ref.repo);
    return this.append(
      chain,
      // The sequence is taken inside the chain's transaction: one commit (one fsync on SQLite) per
      // evaluation instead of two, and a failed append burns no sequence number.
      async (tx) => {
        const sequence = rec.sequence ?? (await this.nextSequence(ref, tx));
        const payload = evaluationPayload({ ...rec, sequence }, this.version);
        return recordColumns({
          kind: "evaluation",
          at: rec.at,
          ref,
          headSha: rec.evidence.pr.headSha,
          deliveryId: rec.deliveryId,
          outcome: rec.outcome,
          sequence,
          payload,
        });
      },
      (tx) => indexEvaluation(tx, rec, this.store.now().toISOString()),
    );
  }

  /**
   * Append a merge once (a repeated delivery finds it on record: `duplicate`), with the evaluation
   * that stood for the merged head and whether the merge bypassed the gate (isBypass); the PR
   * leaves the ticket index in the same transaction.
   */
  async recordMerge(rec: MergeRecord): Promise<MergeRecorded> {
    const { ref } = rec;
    const chain = chainOf(ref.owner, ref.repo);
    const bypass = isBypass(rec);
    let standing: StandingVerdict | null = null;
    let existing: AppendedRecord | null = null;
    const appended = await this.append(
      chain,
      async (tx) => {
        // A merge happens once: a resumed or repeated delivery finds it on record and appends nothing.
        const prior = await tx
          .selectFrom("audit_record")
          .select(["seq", "hash", "standing_seq"])
          .where("chain", "=", chain)
          .where("pr_number", "=", ref.number)
          .where("installation_id", "=", ref.installationId)
          .where("kind", "=", "merge")
          .where("head_sha", "=", rec.headSha)
          .orderBy("seq")
          .limit(1)
          .executeTakeFirst();
        if (prior) {
          existing = { chain, seq: prior.seq, hash: prior.hash, id: `${chain}@${prior.seq}` };
          return null;
        }
        const s = await tx
          .selectFrom("audit_record")
          .select(["seq", "hash", "outcome", "recorded_at"])
          .where("chain", "=", chain)
          .where("pr_number", "=", ref.number)
          .where("installation_id", "=", ref.installationId)
          .where("kind", "=", "evaluation")
          .where("head_sha", "=", rec.headSha)
          .orderBy("sequence", "desc")
          .orderBy("seq", "desc")
          .limit(1)
          .executeTakeFirst();
        standing = s ? { seq: s.seq, hash: s.hash, outcome: s.outcome, at: s.recorded_at } : null;
        const payload = mergePayload(rec, bypass, standing, this.version);
        return recordColumns({
          kind: "merge",
          at: rec.at,
          ref,
          headSha: rec.headSha,
          deliveryId: rec.deliveryId,
          outcome: rec.outcome,
          mergedAt: rec.mergedAt ?? rec.at,
          bypass,
          standingSeq: standing?.seq ?? null,
          payload,
        });
      },
      (tx) => closePr(tx, ref, this.store.now().toISOString()),
    );
    if (appended) return { ...appended, bypass, standing, duplicate: false };
    return { ...existing!, bypass, standing: null, duplicate: true };
  }

  /** Append a merge group's verdict or end (kind "merge_group"; no sequence, not a merge). */
  async recordMergeGroup(rec: MergeGroupRecord): Promise<AppendedRecord> {
    const { ref } = rec;
    return this.append(chainOf(ref.owner, ref.repo), async () =>
      recordColumns({
        kind: "merge_group",
        at: rec.at,
        ref,
        headSha: rec.headSha,
        deliveryId: rec.deliveryId,
        outcome: rec.outcome,
        payload: mergeGroupPayload(rec, this.version),
      }),
    );
  }

  /**
   * Each PR's own verdict at `headSha`: its latest recorded evaluation of that head (the one that saw
   * the newest evidence). The shared-head check and the merge record are decided from these.
   */
  async verdictsAt(repo: RepoRef, headSha: string, numbers: number[]): Promise<Map<number, OwnVerdict>> {
    const out = new Map<number, OwnVerdict>();
    if (numbers.length === 0) return out;
    const rows = await this.store.db
      .selectFrom("audit_record")
      .select(["pr_number", "sequence", "seq", "outcome", "payload"])
      .where("chain", "=", chainOf(repo.owner, repo.repo))
      .where("pr_number", "in", numbers)
      .where("installation_id", "=", repo.installationId)
      .where("kind", "=", "evaluation")
      .where("head_sha", "=", headSha)
      .orderBy("sequence", "desc")
      .orderBy("seq", "desc")
      .execute();
    for (const r of rows) {
      if (out.has(r.pr_number)) continue;
      const p = JSON.parse(r.payload) as {
        base?: string;
        gated?: boolean | null;
        emergency?: boolean;
        error?: string | null;
        verdict?: { title?: string } | null;
      };
      out.set(r.pr_number, {
        number: r.pr_number,
        headSha,
        base: p.base ?? "",
        outcome: r.outcome as OwnVerdict["outcome"],
        gated: p.gated ?? null,
        emergency: p.emergency ?? false,
        title: p.verdict?.title ?? p.error ?? "",
      });
    }
    return out;
  }

  /**
   * The head an emergency declaration (its LabeledEvent at `labelledAt`) was made on, from this
   * PR's evaluation records (the newest that established it); null when none did.
   */
  async declaredOn(ref: PrRef, labelledAt: string): Promise<string | null> {
    return declaredOnIn(this.store.db, ref, labelledAt);
  }

  /**
   * The next evaluation sequence of a PR (1, 2, …), atomically across processes (table
   * pr_sequence). recordEvaluation takes one when the record brings none (the pipeline does not
   * today, so it is taken at recording time); verdictsAt and the merge's standing evaluation pick
   * the evaluation with the biggest sequence of a head.
   */
  async nextSequence(ref: PrRef, tx: Kysely<AuditDatabase> = this.store.db): Promise<number> {
    const r = await tx
      .insertInto("pr_sequence")
      .values({ pr_key: prKey(ref), seq: 1 })
      .onConflict((oc) => oc.column("pr_key").doUpdateSet({ seq: sql<number>`pr_sequence.seq + 1` }))
      .returning("seq")
      .executeTakeFirstOrThrow();
    return Number(r.seq);
  }

  /**
   * Append one record to `chain` inside a transaction that holds the chain: the previous record is
   * read, the new one hashed and inserted, the chain's head entry appended, and `after` run, atomically.
   */
  /** Also used by after-merge.ts (retroactive reviews, overdue marks, ticket transitions). */
  async append<P extends Omit<HashedColumns, "chain" | "seq" | "prev_hash"> | null>(
    chain: string,
    prepare: (tx: Kysely<AuditDatabase>) => Promise<P>,
    after?: (tx: Kysely<AuditDatabase>) => Promise<void>,
  ): Promise<P extends null ? AppendedRecord | null : AppendedRecord> {
    type R = P extends null ? AppendedRecord | null : AppendedRecord;
    return this.store.inChainTransaction(chain, async (tx) => {
      const last = await tx
        .selectFrom("audit_record")
        .select(["seq", "hash"])
        .where("chain", "=", chain)
        .orderBy("seq", "desc")
        .limit(1)
        .executeTakeFirst();
      const columns = await prepare(tx);
      if (columns === null) return null as R;
      const row: HashedColumns = {
        ...columns,
        chain,
        seq: (last?.seq ?? 0) + 1,
        prev_hash: last?.hash ?? GENESIS_HASH,
      };
      const hash = recordHash(row);
      await tx
        .insertInto("audit_record")
        .values({ ...row, hash })
        .execute();
      const updatedAt = this.store.now().toISOString();
      // The head log is insert-only (migration 0006): one row per record, the highest seq is the head.
      await tx
        .insertInto("audit_chain")
        .values({ chain, seq: row.seq, hash, updated_at: updatedAt })
        .execute();
      if (after) await after(tx);
      return { chain, seq: row.seq, hash, id: `${chain}@${row.seq}` } as R;
    });
  }
}

/** ChainWriter.declaredOn on a store's database (also `changegate check`, which opens the store read-only). */
export async function declaredOnIn(
  db: Kysely<AuditDatabase>,
  ref: PrRef,
  labelledAt: string,
): Promise<string | null> {
  // A GitHub timestamp: nothing in it can act as a LIKE wildcard; anything else is not looked up.
  if (!/^[0-9][0-9T:.+-]{9,40}Z?$/.test(labelledAt)) return null;
  const rows = await db
    .selectFrom("audit_record")
    .select(["payload"])
    .where("chain", "=", chainOf(ref.owner, ref.repo))
    .where("pr_number", "=", ref.number)
    .where("installation_id", "=", ref.installationId)
    .where("kind", "=", "evaluation")
    .where("payload", "like", `%"emergencyDeclaredAt":"${labelledAt}"%`)
    .orderBy("seq", "desc")
    .limit(50)
    .execute();
  for (const r of rows) {
    const p = JSON.parse(r.payload) as { emergencyDeclaredAt?: unknown; emergencyDeclaredOn?: unknown };
    if (p.emergencyDeclaredAt === labelledAt && typeof p.emergencyDeclaredOn === "string")
      return p.emergencyDeclaredOn;
  }
  return null;
}
