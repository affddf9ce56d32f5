/**
 * `changegate audit verify`: walk every chain from its first record and check, record by record,
 * that positions run 1, 2, 3… without a gap, that each record names the previous record's hash, and
 * that each record's hash matches its content; then that the chain head (the last seq and hash the
 * store wrote) matches the last record, which catches records removed from the end.
 *
 * What it cannot catch on its own: someone rewriting a whole chain tail and its head consistently.
 * Keep the chain heads an export prints (its manifest) and compare them later; see docs/audit.md.
 */
import { GENESIS_HASH, recordHash } from "./hash.js";
import type { AuditReader, AuditRow } from "./reader.js";

export interface ChainProblem {
  chain: string;
  /** The seq of the first record that does not match (for a missing record: the seq expected). */
  seq: number;
  /** "owner/name@seq" */
  record: string;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  chains: number;
  records: number;
  /** The first problem of each broken chain, in chain order. */
  problems: ChainProblem[];
  heads: { chain: string; seq: number; hash: string }[];
}

export async function verifyChains(
  store: AuditReader,
  onRecord?: (n: number) => void,
): Promise<VerifyReport> {
  const chains = await store.chains();
  const problems: ChainProblem[] = [];
  const heads: VerifyReport["heads"] = [];
  let records = 0;
  for (const chain of chains) {
    const r = await verifyChain(store, chain, () => {
      records++;
      onRecord?.(records);
    });
    if (r.problem) problems.push(r.problem);
    if (r.last) heads.push({ chain, seq: r.last.seq, hash: r.last.hash });
  }
  return { ok: problems.length === 0, chains: chains.length, records, problems, heads };
}

async function verifyChain(
  store: AuditReader,
  chain: string,
  onRecord: () => void,
): Promise<{ problem: ChainProblem | null; last: { seq: number; hash: string } | null }> {
  const problem = (seq: number, message: string): ChainProblem => ({
    chain,
    seq,
    record: `${chain}@${seq}`,
    message,
  });
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let last: AuditRow | null = null;
  for await (const row of store.chainRecords(chain)) {
    onRecord();
    if (row.seq !== expectedSeq) {
      const missing = row.seq > expectedSeq;
      return {
        problem: problem(
          expectedSeq,
          missing
            ? `record ${expectedSeq}${row.seq - expectedSeq > 1 ? `–${row.seq - 1}` : ""} is missing (the next record is ${row.seq}): records were removed`
            : `record ${row.seq} appears out of order after ${expectedSeq - 1}`,
        ),
        last: last && { seq: last.seq, hash: last.hash },
      };
    }
    if (row.prev_hash !== prevHash) {
      return {
        problem: problem(
          row.seq,
          `record ${row.seq} does not follow record ${row.seq - 1}: its previous-record hash ${short(row.prev_hash)} is not ${short(prevHash)} (a record before it was changed, removed or inserted)`,
        ),
        last: last && { seq: last.seq, hash: last.hash },
      };
    }
    const actual = recordHash(row);
    if (actual !== row.hash) {
      return {
        problem: problem(
          row.seq,
          `record ${row.seq} was altered: its content hashes to ${short(actual)}, not to the stored ${short(row.hash)}`,
        ),
        last: last && { seq: last.seq, hash: last.hash },
      };
    }
    prevHash = row.hash;
    expectedSeq++;
    last = row;
  }
  const head = await store.chainHead(chain);
  if (!last) {
    return {
      problem: head
        ? problem(1, `the chain head says ${head.seq} records, but the chain has none: records were removed`)
        : null,
      last: null,
    };
  }
  if (!head)
    return {
      problem: problem(
        last.seq,
        "the chain has no head entry (audit_chain): the store's bookkeeping was removed",
      ),
      last,
    };
  if (head.seq !== last.seq || head.hash !== last.hash) {
    if (head.seq > last.seq) {
      return {
        problem: problem(
          last.seq + 1,
          `the chain ends at record ${last.seq} but its head says ${head.seq}: records ${last.seq + 1}–${head.seq} were removed`,
        ),
        last,
      };
    }
    return {
      problem: problem(
        last.seq,
        `the chain head (record ${head.seq}, ${short(head.hash)}) does not match the last record (${last.seq}, ${short(last.hash)})`,
      ),
      last,
    };
  }
  return { problem: null, last };
}

function short(hash: string): string {
  return hash.slice(0, 12);
}
