/**
 * merge-shas: which of some commits are the merge commit or the head of a merge on record into a
 * branch of a repository. A push to a gated branch can arrive before GitHub links its merge commit
 * to the PR; if the merge is on record already (the `pull_request.closed` webhook, or the scan),
 * that commit is the merge's, not a direct push (flows/push-settle.ts).
 *
 * The merge record keeps `headSha` in its column and `mergeCommitSha`/`baseRef` in its payload
 * (`baseRef` since issue 11's direct pushes; an older record has none and covers nothing here:
 * fail closed, GitHub's re-read decides). The payload is searched by its canonical text
 * (`"mergeCommitSha":"<sha>"`, a sha being 40 hex, nothing to escape), then parsed and compared
 * exactly: user text in a payload (a title) is JSON-escaped and cannot forge the key. Read-only.
 */
import type { Kysely } from "kysely";
import type { AuditDatabase } from "./migrations.js";

const SHA = /^[0-9a-f]{40}$/;
/** Shas per statement (each is one LIKE term). */
const CHUNK = 50;

export async function mergedShasOnRecord(
  db: Kysely<AuditDatabase>,
  repo: string,
  branch: string,
  shas: readonly string[],
): Promise<Set<string>> {
  const wanted = [...new Set(shas)].filter((s) => SHA.test(s));
  const out = new Set<string>();
  const chain = repo.toLowerCase();
  for (let i = 0; i < wanted.length; i += CHUNK) {
    const part = wanted.slice(i, i + CHUNK);
    const rows = await db
      .selectFrom("audit_record")
      .select(["head_sha", "payload"])
      .where("chain", "=", chain)
      .where("kind", "=", "merge")
      .where((eb) =>
        eb.or([
          eb("head_sha", "in", part),
          ...part.map((s) => eb("payload", "like", `%"mergeCommitSha":"${s}"%`)),
        ]),
      )
      .limit(10_000)
      .execute();
    const set = new Set(part);
    for (const r of rows) {
      const p = parse(r.payload);
      if (!p || p.baseRef !== branch) continue;
      if (set.has(r.head_sha)) out.add(r.head_sha);
      if (typeof p.mergeCommitSha === "string" && set.has(p.mergeCommitSha)) out.add(p.mergeCommitSha);
    }
  }
  return out;
}

function parse(text: string): { baseRef?: unknown; mergeCommitSha?: unknown } | null {
  try {
    const p = JSON.parse(text) as unknown;
    return p && typeof p === "object" ? (p as { baseRef?: unknown; mergeCommitSha?: unknown }) : null;
  } catch {
    return null;
  }
}
