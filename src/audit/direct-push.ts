/**
 * direct-push: the `direct_push` record, a change that reached a gated branch without a merged pull
 * request (commits pushed straight to it, or a force push that rewrote it). One record per push, on
 * the repository's chain, with pr_number 0 and head_sha the pushed `after` commit; merged_at holds
 * when it reached the branch (so the export's window finds it) and bypass is 1 (non-compliant).
 * First writer wins: the same push — the same delivery, or the same (repository, branch, before,
 * after): a redelivery, another replica, a second scan — is found inside the chain transaction
 * (serialised per chain across replicas) and nothing is appended (pushSeenBefore). A force push
 * back to an `after` already on record (a reset to an old commit) has another `before`: it is a
 * change of its own and is recorded. No new column.
 */
import type { Kysely } from "kysely";
import type { ChainWriter } from "./chain-writer.js";
import type { AuditDatabase } from "./migrations.js";
import { chainOf } from "./payload.js";
import { normaliseRow, type AuditRow } from "./reader.js";
import { recordColumns } from "./row.js";
import { changegateVersion } from "./version.js";
import { mergedShasOnRecord } from "./merge-shas.js";

export interface DirectPushRecord {
  at: string;
  deliveryId: string;
  installationId: number;
  owner: string;
  repo: string;
  branch: string;
  /** Who pushed (GitHub's pusher name), null when unknown (the scan: the commit's author is given instead). */
  pusher: string | null;
  /** The branch's commit before the push (null when unknown: found by the scan). */
  before: string | null;
  after: string;
  forced: boolean;
  /** The pushed commits that belong to no pull request merged into the branch. */
  commitsWithoutPr: string[];
  /** How many commits were examined (every commit the payload lists, at most 2,048, and `after`). */
  examined: number;
  /** When it reached the branch (ISO); see pushedAtIsWhenFound. */
  pushedAt: string;
  /** Which policy gated the branch: "owner/name:.github/changegate.yml", "defaults", or "invalid policy (…)". */
  policySource: string;
  foundBy?: "scan";
  /** The scan: the commit's author login/name, when GitHub gave one. */
  author?: string | null;
  /** The payload listed 2,048 commits (GitHub's limit): the push may hold more, never examined (recorded for that alone). */
  listTruncated?: boolean;
  /**
   * A push found by the scan (a force push, or a commit found between the head on record and
   * today's head) that GitHub's repository activity did not date: `pushedAt` is when the scan found
   * it (it reached the branch earlier), `pusher` null. Absent on other records (older records lack
   * it: written before the activity was read).
   */
  pushedAtIsWhenFound?: boolean;
  /**
   * A commit found by the scan between the head on record and today's head: the commit's own date
   * (the pusher's to choose), kept beside `pushedAt` (when its push reached the branch, or when the
   * scan found it). Absent on other records.
   */
  committedAt?: string;
}

export interface DirectPushReceipt {
  id: string;
  /** This push was on record already (the same delivery, or the same repository, branch, before and after): nothing appended. */
  duplicate: boolean;
}

export interface DirectPushStore {
  recordDirectPush(rec: DirectPushRecord): Promise<DirectPushReceipt>;
  /** Every commit sha a direct_push record of `repo` (owner/name) names (its after and its commits without PR). */
  recordedPushShas(repo: string): Promise<Set<string>>;
  /** Of `shas`, those that are the merge commit or head of a merge on record into `branch` of `repo` (audit/merge-shas.ts). */
  mergedOnRecord?(repo: string, branch: string, shas: readonly string[]): Promise<Set<string>>;
}

export const DIRECT_PUSH_KIND = "direct_push" as const;

type Db = Kysely<AuditDatabase>;

export class ChainDirectPush implements DirectPushStore {
  private readonly version = changegateVersion();
  constructor(private readonly writer: ChainWriter) {}

  private get db(): Db {
    return this.writer.store.db;
  }

  async recordDirectPush(rec: DirectPushRecord): Promise<DirectPushReceipt> {
    const chain = chainOf(rec.owner, rec.repo);
    let existing: string | null = null;
    const appended = await this.writer.append(chain, async (tx) => {
      const priors = await tx
        .selectFrom("audit_record")
        .select(["seq", "delivery_id", "payload"])
        .where("chain", "=", chain)
        .where("kind", "=", DIRECT_PUSH_KIND)
        .where("head_sha", "=", rec.after)
        .orderBy("seq")
        .limit(1000)
        .execute();
      const prior = priors.find((p) =>
        pushSeenBefore(rec, { deliveryId: p.delivery_id, payload: parsePayload(p.payload) }),
      );
      if (prior) {
        existing = `${chain}@${prior.seq}`;
        return null;
      }
      return recordColumns({
        kind: DIRECT_PUSH_KIND,
        at: rec.at,
        // No pull request: number 0.
        ref: { installationId: rec.installationId, owner: rec.owner, repo: rec.repo, number: 0 },
        headSha: rec.after,
        deliveryId: rec.deliveryId,
        outcome: rec.forced ? "force_push" : "direct_push",
        mergedAt: rec.pushedAt,
        bypass: true,
        payload: {
          type: DIRECT_PUSH_KIND,
          at: rec.at,
          repo: `${rec.owner}/${rec.repo}`,
          installationId: rec.installationId,
          branch: rec.branch,
          pusher: rec.pusher,
          before: rec.before,
          after: rec.after,
          forced: rec.forced,
          commitsWithoutPr: [...rec.commitsWithoutPr],
          examined: rec.examined,
          pushedAt: rec.pushedAt,
          policySource: rec.policySource,
          ...(rec.foundBy ? { foundBy: rec.foundBy } : {}),
          ...(rec.author !== undefined ? { author: rec.author } : {}),
          ...(rec.listTruncated ? { listTruncated: true } : {}),
          ...(rec.pushedAtIsWhenFound ? { pushedAtIsWhenFound: true } : {}),
          ...(rec.committedAt !== undefined ? { committedAt: rec.committedAt } : {}),
          changegateVersion: this.version,
        },
      });
    });
    if (appended) return { id: appended.id, duplicate: false };
    return { id: existing!, duplicate: true };
  }

  mergedOnRecord(repo: string, branch: string, shas: readonly string[]): Promise<Set<string>> {
    return mergedShasOnRecord(this.db, repo, branch, shas);
  }

  async recordedPushShas(repo: string): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom("audit_record")
      .select(["head_sha", "payload"])
      .where("chain", "=", repo.toLowerCase())
      .where("kind", "=", DIRECT_PUSH_KIND)
      .execute();
    const out = new Set<string>();
    for (const r of rows) {
      out.add(r.head_sha);
      const p = parsePayload(r.payload);
      for (const s of p?.commitsWithoutPr ?? []) out.add(s);
    }
    return out;
  }
}

/**
 * Is `rec` a push already on record as `prior` (a direct_push row with the same repository and
 * `after`)? The same delivery, or the same (branch, before): a redelivery, another replica, a
 * second scan. And a scan's record (before unknown) of the branch is the same arrival of `after` as
 * a later non-forced delivery of its push (GitHub redelivered after the scan found it). Anything
 * else — a force push back to this `after` from another `before` — is a change of its own.
 */
export function pushSeenBefore(
  rec: Pick<DirectPushRecord, "deliveryId" | "branch" | "before" | "forced">,
  prior: { deliveryId: string | null; payload: DirectPushPayload | null },
): boolean {
  if (prior.deliveryId !== null && prior.deliveryId === rec.deliveryId) return true;
  const p = prior.payload;
  if (!p || p.branch !== rec.branch) return false;
  if ((p.before ?? null) === (rec.before ?? null)) return true;
  return p.foundBy === "scan" && p.before === null && !rec.forced;
}

/** direct_push rows with merged_at in [from, to) (the export), optionally of one repository, by time. */
export async function directPushRows(
  db: Db,
  q: { from: string; to: string; repo?: string },
): Promise<AuditRow[]> {
  let s = db
    .selectFrom("audit_record")
    .selectAll()
    .where("kind", "=", DIRECT_PUSH_KIND)
    .where("merged_at", ">=", q.from)
    .where("merged_at", "<", q.to);
  if (q.repo) s = s.where("chain", "=", q.repo.toLowerCase());
  const rows = await s.orderBy("merged_at").orderBy("chain").orderBy("seq").limit(100_000).execute();
  return rows.map(normaliseRow);
}

/** A direct_push record's payload as stored: the record without its columns (`examined` absent on early records). */
export type DirectPushPayload = Omit<
  DirectPushRecord,
  "at" | "deliveryId" | "installationId" | "owner" | "repo" | "examined"
> & { examined?: number };

export function parsePayload(text: string): DirectPushPayload | null {
  try {
    const p = JSON.parse(text) as DirectPushPayload;
    return p && typeof p === "object" && Array.isArray(p.commitsWithoutPr) ? p : null;
  } catch {
    return null;
  }
}
