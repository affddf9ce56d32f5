/**
 * The read side of the audit trail, for `changegate audit export | verify | show`: chains and their
 * heads, a chain's records in order, a PR's records, merges in a period with the evaluation that
 * stood for each. It never writes.
 */
import {
  AUDIT_RECORD_COLUMN_NAMES,
  AUDIT_RECORD_COLUMNS,
  type AuditRecordColumn,
  type AuditRecordTable,
} from "./migrations.js";
import type { Selectable } from "kysely";
import type { AuditStore } from "./database.js";

export type AuditRow = Selectable<AuditRecordTable>;

export class AuditReader {
  constructor(private readonly store: AuditStore) {}

  /** Every chain, sorted. */
  async chains(): Promise<string[]> {
    const a = await this.store.db.selectFrom("audit_chain").select("chain").distinct().execute();
    const b = await this.store.db.selectFrom("audit_record").select("chain").distinct().execute();
    return [...new Set([...a, ...b].map((r) => r.chain))].sort();
  }

  /** Each chain's head: its newest entry in the insert-only head log (audit_chain, one row per record). */
  async chainHeads(): Promise<{ chain: string; seq: number; hash: string }[]> {
    const rows = await this.store.db
      .selectFrom("audit_chain as c")
      .select(["c.chain", "c.seq", "c.hash"])
      .where("c.seq", "=", (eb) =>
        eb
          .selectFrom("audit_chain as n")
          .select((e) => e.fn.max("n.seq").as("m"))
          .whereRef("n.chain", "=", "c.chain"),
      )
      .orderBy("c.chain")
      .execute();
    return rows.map((r) => ({ chain: r.chain, seq: Number(r.seq), hash: r.hash }));
  }

  async chainHead(chain: string): Promise<{ seq: number; hash: string } | null> {
    const r = await this.store.db
      .selectFrom("audit_chain")
      .select(["seq", "hash"])
      .where("chain", "=", chain)
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
    return r ? { seq: Number(r.seq), hash: r.hash } : null;
  }

  /** The record at one position of a chain, or null (checkpoint verification). */
  async recordAt(chain: string, seq: number): Promise<AuditRow | null> {
    const r = await this.store.db
      .selectFrom("audit_record")
      .selectAll()
      .where("chain", "=", chain)
      .where("seq", "=", seq)
      .executeTakeFirst();
    return r ? normaliseRow(r) : null;
  }

  async countRecords(chain?: string): Promise<number> {
    let q = this.store.db.selectFrom("audit_record").select((eb) => eb.fn.countAll<number>().as("n"));
    if (chain) q = q.where("chain", "=", chain);
    const r = await q.executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** A chain's records in order, a page at a time. */
  async *chainRecords(chain: string, pageSize = 1000): AsyncGenerator<AuditRow> {
    let after = 0;
    for (;;) {
      const rows = await this.store.db
        .selectFrom("audit_record")
        .selectAll()
        .where("chain", "=", chain)
        .where("seq", ">", after)
        .orderBy("seq")
        .limit(pageSize)
        .execute();
      for (const r of rows) yield normaliseRow(r);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  /** Every record of one PR (repo is "owner/name", any case), in chain order. */
  async prRecords(repo: string, number: number): Promise<AuditRow[]> {
    const rows = await this.store.db
      .selectFrom("audit_record")
      .selectAll()
      .where("chain", "=", repo.toLowerCase())
      .where("pr_number", "=", number)
      .orderBy("seq")
      .execute();
    return rows.map(normaliseRow);
  }

  async countMerges(q: MergeQuery): Promise<number> {
    let s = this.store.db
      .selectFrom("audit_record")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("kind", "=", "merge")
      .where("merged_at", ">=", q.from)
      .where("merged_at", "<", q.to);
    if (q.repo) s = s.where("chain", "=", q.repo.toLowerCase());
    return Number((await s.executeTakeFirstOrThrow()).n);
  }

  /**
   * Merge records with merged_at in [from, to) (ISO instants), optionally of one repository, sorted
   * by merged_at, repository, PR, each with the evaluation that stood for the merged head.
   */
  async *merges(
    q: MergeQuery,
    pageSize = 500,
  ): AsyncGenerator<{ merge: AuditRow; standing: AuditRow | null }> {
    let after: AuditRow | null = null;
    for (;;) {
      let s = this.store.db
        .selectFrom("audit_record as m")
        .leftJoin("audit_record as e", (j) =>
          j.onRef("e.chain", "=", "m.chain").onRef("e.seq", "=", "m.standing_seq"),
        )
        .selectAll("m")
        .select(STANDING_ALIASES)
        .where("m.kind", "in", q.directPushes ? ["merge", "direct_push"] : ["merge"])
        .where("m.merged_at", ">=", q.from)
        .where("m.merged_at", "<", q.to);
      if (q.repo) s = s.where("m.chain", "=", q.repo.toLowerCase());
      if (after) {
        const a: AuditRow = after;
        s = s.where((eb) =>
          eb(
            eb.refTuple("m.merged_at", "m.chain", "m.pr_number", "m.seq"),
            ">",
            eb.tuple(a.merged_at!, a.chain, a.pr_number, a.seq),
          ),
        );
      }
      const rows = await s
        .orderBy("m.merged_at")
        .orderBy("m.chain")
        .orderBy("m.pr_number")
        .orderBy("m.seq")
        .limit(pageSize)
        .execute();
      for (const r of rows) {
        const merge = normaliseRow(r);
        const standing = standingOf(r as unknown as Record<string, unknown>);
        yield { merge, standing };
      }
      if (rows.length < pageSize) return;
      after = normaliseRow(rows[rows.length - 1]!);
    }
  }
}

export interface MergeQuery {
  /** ISO instants: merged_at >= from and < to. */
  from: string;
  to: string;
  repo?: string | null;
  /** Also yield direct_push records (pushes to gated branches without a merged PR): the export's change rows. */
  directPushes?: boolean;
}

/** Same JS types from both drivers (PostgreSQL's bigint arrives as a number via the type parser). */
export function normaliseRow(r: AuditRow): AuditRow {
  const row: Record<string, unknown> = {};
  for (const c of AUDIT_RECORD_COLUMN_NAMES) row[c] = normaliseValue(c, (r as Record<string, unknown>)[c]);
  return row as AuditRow;
}

function normaliseValue(c: AuditRecordColumn, v: unknown): unknown {
  switch (AUDIT_RECORD_COLUMNS[c]) {
    case "integer":
      return Number(v);
    case "integer?":
      return v === null || v === undefined ? null : Number(v);
    case "text?":
      return v ?? null;
    case "text":
      return v;
  }
}

/** The standing evaluation's columns in the merge query, each as e_<column> (e.seq as e_seq, …). */
const STANDING_ALIASES = AUDIT_RECORD_COLUMN_NAMES.map((c) => `e.${c} as e_${c}` as const) as never;

/** The standing evaluation of a merge row of that query, or null when none stood (no e_seq). */
function standingOf(r: Record<string, unknown>): AuditRow | null {
  if (r.e_seq === null || r.e_seq === undefined) return null;
  const row: Record<string, unknown> = {};
  for (const c of AUDIT_RECORD_COLUMN_NAMES) row[c] = r[`e_${c}`];
  return normaliseRow(row as AuditRow);
}
