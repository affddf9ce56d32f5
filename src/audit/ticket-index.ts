/**
 * The durable Jira key → PR index (table ticket_pr), shared by every replica. ChainWriter keeps it
 * in step inside the transaction that records an evaluation or a merge (`indexEvaluation`,
 * `closePr`); the Jira webhook and the periodic ticket re-check read it (StoreTicketIndex). It is an
 * index, not an audit record: rows are replaced and never hashed.
 */
import type { Kysely } from "kysely";
import { ticketIndexEntry } from "../policy/tickets.js";
import type { PrRef, TicketIndex } from "../refs.js";
import type { AuditStore } from "./database.js";
import type { AuditDatabase } from "./migrations.js";
import { chainOf } from "./payload.js";
import type { EvaluationRecord } from "./recorder.js";

export class StoreTicketIndex implements TicketIndex {
  constructor(private readonly store: AuditStore) {}

  /** Open PRs whose latest evaluation referenced the Jira key. */
  async prsForKey(key: string): Promise<PrRef[]> {
    if (key.trim() === "") return [];
    const rows = await this.store.db
      .selectFrom("ticket_pr")
      .select(["installation_id", "owner", "repo", "pr_number"])
      .where("ticket_key", "=", key.trim().toUpperCase())
      .where("open", "=", 1)
      .orderBy("repo_key")
      .orderBy("pr_number")
      .orderBy("installation_id")
      .execute();
    return rows.map((r) => ({
      installationId: Number(r.installation_id),
      owner: r.owner,
      repo: r.repo,
      number: r.pr_number,
    }));
  }

  /** Open PRs whose only failing rule is tickets (the periodic ticket re-check's list). */
  async waitingOnTickets(): Promise<PrRef[]> {
    const rows = await this.store.db
      .selectFrom("ticket_pr")
      .select(["installation_id", "owner", "repo", "pr_number"])
      .distinct()
      .where("waiting", "=", 1)
      .where("open", "=", 1)
      .orderBy("owner")
      .orderBy("repo")
      .orderBy("pr_number")
      .orderBy("installation_id")
      .execute();
    return rows.map((r) => ({
      installationId: Number(r.installation_id),
      owner: r.owner,
      repo: r.repo,
      number: r.pr_number,
    }));
  }
}

/**
 * A PR's keys are replaced by those of its latest evaluation (none when the policy skips the
 * tickets rule), and `waiting` marks PRs whose only failing rule is tickets (ticketIndexEntry).
 */
export async function indexEvaluation(
  tx: Kysely<AuditDatabase>,
  rec: EvaluationRecord,
  updatedAt: string,
): Promise<void> {
  const { ref } = rec;
  const repoKey = chainOf(ref.owner, ref.repo);
  const entry = ticketIndexEntry(rec.verdict, rec.evidence.tickets.refs);
  const waiting = entry.waiting ? 1 : 0;
  const open = rec.evidence.pr.state === "OPEN" ? 1 : 0;
  const keys = entry.keys;
  if (keys.length === 0 && waiting) keys.push("");
  let stale = tx
    .deleteFrom("ticket_pr")
    .where("installation_id", "=", ref.installationId)
    .where("repo_key", "=", repoKey)
    .where("pr_number", "=", ref.number);
  if (keys.length > 0) stale = stale.where("ticket_key", "not in", keys);
  await stale.execute();
  for (const key of keys) {
    await tx
      .insertInto("ticket_pr")
      .values({
        installation_id: ref.installationId,
        repo_key: repoKey,
        owner: ref.owner,
        repo: ref.repo,
        pr_number: ref.number,
        ticket_key: key,
        open,
        waiting,
        updated_at: updatedAt,
      })
      .onConflict((oc) =>
        oc
          .columns(["installation_id", "repo_key", "pr_number", "ticket_key"])
          .doUpdateSet({ open, waiting, owner: ref.owner, repo: ref.repo, updated_at: updatedAt }),
      )
      .execute();
  }
}

/** A merged PR leaves the index (no re-evaluation when its tickets move). */
export async function closePr(tx: Kysely<AuditDatabase>, ref: PrRef, updatedAt: string): Promise<void> {
  await tx
    .updateTable("ticket_pr")
    .set({ open: 0, waiting: 0, updated_at: updatedAt })
    .where("installation_id", "=", ref.installationId)
    .where("repo_key", "=", chainOf(ref.owner, ref.repo))
    .where("pr_number", "=", ref.number)
    .execute();
}
