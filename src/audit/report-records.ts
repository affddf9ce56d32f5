/**
 * The HTML report's records beyond the merge rows (commands/report.ts): the direct pushes of the
 * period (direct_push records, audit/direct-push.ts) and the retroactive reviews of its emergency
 * merges (retro_review records, audit/after-merge.ts), as the report model's plain lists.
 */
import type { Kysely } from "kysely";
import type { DirectPush, RetroReview } from "../report/audit-report-model.js";
import { directPushRows, parsePayload } from "./direct-push.js";
import type { AuditDatabase } from "./migrations.js";

type Db = Kysely<AuditDatabase>;

export async function reportDirectPushes(db: Db, q: { from: string; to: string; repo?: string | null }): Promise<DirectPush[]> {
  const rows = await directPushRows(db, { from: q.from, to: q.to, ...(q.repo ? { repo: q.repo } : {}) });
  return rows.map((r) => ({ repo: r.repo, at: r.merged_at ?? r.recorded_at, pusher: parsePayload(r.payload)?.pusher ?? null, sha: r.head_sha }));
}

/** The retro_review records of these merged PRs (any time after the merge), by PR. */
export async function reportRetroReviews(db: Db, merges: { repo: string; pr: number; emergency: boolean }[]): Promise<RetroReview[]> {
  const out: RetroReview[] = [];
  const wanted = merges.filter((m) => m.emergency);
  for (let i = 0; i < wanted.length; i += 200) {
    const slice = wanted.slice(i, i + 200);
    const rows = await db
      .selectFrom("audit_record")
      .select(["chain", "repo", "pr_number", "payload"])
      .where("kind", "=", "retro_review")
      .where((eb) => eb.or(slice.map((m) => eb.and([eb("chain", "=", m.repo.toLowerCase()), eb("pr_number", "=", m.pr)]))))
      .orderBy("seq")
      .execute();
    for (const r of rows) {
      let p: { reviewedBy?: unknown; reviewedAt?: unknown } = {};
      try {
        p = JSON.parse(r.payload) as typeof p;
      } catch {
        continue;
      }
      if (typeof p.reviewedAt !== "string") continue;
      out.push({ repo: r.repo, pr: r.pr_number, at: p.reviewedAt, reviewer: typeof p.reviewedBy === "string" ? p.reviewedBy : null });
    }
  }
  return out;
}
