/**
 * branch-head: the scan's bookkeeping of where each gated branch stood (table branch_head; not
 * evidence, not on a hash chain: losing a row only makes the next scan fall back to its window).
 * The scan (background/scan-pushes.ts) reads the head it saw last, examines the commits reachable from
 * today's head and not from it, and then moves it; a walk over its bound is kept as walk_* and
 * continued by the next run. An examined push webhook moves the head only when it continues it
 * (`before` is the head on record, no walk pending): a push whose delivery was lost in between is
 * never skipped.
 */
import type { Kysely } from "kysely";
import type { AuditDatabase } from "./migrations.js";

export interface PendingWalk {
  /** The head being walked down from. */
  target: string;
  /** Where the walk stops: the head on record (or the merge base of a force push). */
  stop: string;
  /** The history cursor to continue from (null: from the start). */
  cursor: string | null;
}

export interface BranchHead {
  head: string;
  walk: PendingWalk | null;
}

export interface BranchHeadStore {
  get(repo: string, branch: string): Promise<BranchHead | null>;
  set(repo: string, branch: string, state: BranchHead): Promise<void>;
  /** Move the head from `before` to `after` only if `before` is the head on record and no walk is pending (a push webhook). */
  advance(repo: string, branch: string, before: string, after: string): Promise<boolean>;
}

const SHA = /^[0-9a-f]{40}$/;

export class SqlBranchHeads implements BranchHeadStore {
  constructor(
    private readonly db: Kysely<AuditDatabase>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(repo: string, branch: string): Promise<BranchHead | null> {
    const row = await this.db
      .selectFrom("branch_head")
      .selectAll()
      .where("repo_key", "=", repo.toLowerCase())
      .where("branch", "=", branch)
      .executeTakeFirst();
    if (!row || !SHA.test(row.head_sha)) return null;
    const walk =
      row.walk_target && row.walk_stop && SHA.test(row.walk_target) && SHA.test(row.walk_stop)
        ? { target: row.walk_target, stop: row.walk_stop, cursor: row.walk_cursor }
        : null;
    return { head: row.head_sha, walk };
  }

  async set(repo: string, branch: string, state: BranchHead): Promise<void> {
    const values = {
      head_sha: state.head,
      walk_target: state.walk?.target ?? null,
      walk_stop: state.walk?.stop ?? null,
      walk_cursor: state.walk?.cursor ?? null,
      updated_at: this.now().toISOString(),
    };
    await this.db
      .insertInto("branch_head")
      .values({ repo_key: repo.toLowerCase(), branch, ...values })
      .onConflict((oc) => oc.columns(["repo_key", "branch"]).doUpdateSet(values))
      .execute();
  }

  async advance(repo: string, branch: string, before: string, after: string): Promise<boolean> {
    const r = await this.db
      .updateTable("branch_head")
      .set({ head_sha: after, updated_at: this.now().toISOString() })
      .where("repo_key", "=", repo.toLowerCase())
      .where("branch", "=", branch)
      .where("head_sha", "=", before)
      .where("walk_target", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
