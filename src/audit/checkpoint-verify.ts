/**
 * `changegate audit verify --checkpoints`: the store against signed checkpoints. Every chain head a
 * trusted checkpoint states must still be in the store: the record at that position exists and
 * has that hash. Otherwise the chain was deleted (no records left), truncated (reported with the
 * first missing position), or rewritten. Plus `checkpointStatement`: what `audit checkpoint` signs.
 */
import type { AuditReader } from "./reader.js";
import type { ChainHead, CheckpointStatement, SignedCheckpoint } from "./checkpoint.js";

export interface CheckpointFinding {
  chain: string;
  /** The first position missing (or, for a rewritten record, the position whose hash differs). */
  position: number;
  kind: "deleted" | "truncated" | "rewritten";
  message: string;
  /** The checkpoint that stated the head. */
  checkpoint: number;
}

/** The statement for the store now (sequence and time given by the caller). */
export async function checkpointStatement(
  reader: AuditReader,
  meta: { database: string; sequence: number; at: string; changegateVersion: string },
  only?: (chain: string) => boolean,
): Promise<Omit<CheckpointStatement, "kind" | "format" | "keyId">> {
  const chains: ChainHead[] = (await reader.chainHeads()).filter((h) => !only || only(h.chain));
  return { ...meta, chains };
}

export async function verifyAgainstCheckpoints(
  reader: AuditReader,
  checkpoints: SignedCheckpoint[],
): Promise<{ findings: CheckpointFinding[]; heads: number }> {
  // Each distinct stated head once; the newest checkpoint stating it is the one named.
  const heads = new Map<string, { head: ChainHead; checkpoint: number }>();
  for (const cp of checkpoints) {
    for (const h of cp.statement.chains)
      heads.set(`${h.chain}\u0000${h.seq}\u0000${h.hash}`, { head: h, checkpoint: cp.statement.sequence });
  }
  const findings: CheckpointFinding[] = [];
  const reported = new Set<string>();
  const sorted = [...heads.values()].sort(
    (a, b) => a.head.chain.localeCompare(b.head.chain) || a.head.seq - b.head.seq,
  );
  for (const { head, checkpoint } of sorted) {
    if (reported.has(head.chain)) continue;
    const row = await reader.recordAt(head.chain, head.seq);
    if (row && row.hash === head.hash) continue;
    reported.add(head.chain);
    if (row) {
      findings.push({
        chain: head.chain,
        position: head.seq,
        kind: "rewritten",
        checkpoint,
        message: `record ${head.seq} of ${head.chain} hashes to ${row.hash.slice(0, 12)}, but checkpoint #${checkpoint} signed ${head.hash.slice(0, 12)}: the chain was rewritten`,
      });
      continue;
    }
    const first = await firstMissing(reader, head.chain, head.seq);
    if (first === 1 && (await reader.countRecords(head.chain)) === 0) {
      findings.push({
        chain: head.chain,
        position: 1,
        kind: "deleted",
        checkpoint,
        message: `chain ${head.chain} is gone: checkpoint #${checkpoint} signed ${head.seq} records, the store has none (first missing position 1)`,
      });
    } else {
      findings.push({
        chain: head.chain,
        position: first,
        kind: "truncated",
        checkpoint,
        message: `chain ${head.chain} is truncated: checkpoint #${checkpoint} signed ${head.seq} records, record ${first} is missing (first missing position ${first})`,
      });
    }
  }
  return { findings, heads: heads.size };
}

/** The first position in 1..upTo without a record. */
async function firstMissing(reader: AuditReader, chain: string, upTo: number): Promise<number> {
  let expected = 1;
  for await (const row of reader.chainRecords(chain)) {
    if (row.seq !== expected || expected > upTo) break;
    expected++;
  }
  return Math.min(expected, upTo);
}
