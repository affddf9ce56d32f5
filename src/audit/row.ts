/**
 * The one builder of an audit_record row: every writer (chain-writer's evaluation, merge and merge
 * group; after-merge's retro_review, retro_overdue and ticket_transition; direct-push) says what
 * its record is about, and this turns it into the columns. The chain writer adds chain, seq and
 * prev_hash and hashes the row (hash.ts: every column in AUDIT_RECORD_COLUMNS but `hash`).
 *
 * The mapping is fixed by the records already written (test/audit/writer-pin.test.ts pins their
 * hashes): times normalised to toISOString(), `repo` as "owner/name" in the case given, bypass as
 * 1/0, absent facts as null, the payload as canonical JSON.
 */
import type { PrRef } from "../refs.js";
import { canonicalJson, type HashedColumns } from "./hash.js";
import type { AuditRecordTable } from "./migrations.js";
import { normaliseTime } from "./payload.js";

/** The columns a writer gives; the chain writer adds chain, seq and prev_hash (and the hash). */
export type RecordColumns = Omit<HashedColumns, "chain" | "seq" | "prev_hash">;

export interface RecordFacts {
  kind: AuditRecordTable["kind"];
  /** When it was recorded (any time Date parses; stored normalised). */
  at: string;
  /** The PR it is about (number 0 for a direct push: no PR). */
  ref: PrRef;
  headSha: string;
  deliveryId: string;
  outcome: string;
  /** Evaluations: the per-PR evaluation sequence. */
  sequence?: number | null;
  /** Merges and direct pushes: when the change reached the branch (stored normalised). */
  mergedAt?: string | null;
  /** Merges and direct pushes: whether it bypassed the gate. */
  bypass?: boolean | null;
  /** Merges: the evaluation that stood; after-merge records: the merge record they are about. */
  standingSeq?: number | null;
  /** Plain data; stored as canonical JSON. */
  payload: unknown;
}

export function recordColumns(f: RecordFacts): RecordColumns {
  return {
    kind: f.kind,
    recorded_at: normaliseTime(f.at),
    installation_id: f.ref.installationId,
    repo: `${f.ref.owner}/${f.ref.repo}`,
    pr_number: f.ref.number,
    head_sha: f.headSha,
    delivery_id: f.deliveryId,
    outcome: f.outcome,
    sequence: f.sequence ?? null,
    merged_at: f.mergedAt == null ? null : normaliseTime(f.mergedAt),
    bypass: f.bypass == null ? null : Number(f.bypass),
    standing_seq: f.standingSeq ?? null,
    payload: canonicalJson(f.payload),
  };
}
