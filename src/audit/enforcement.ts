/**
 * enforcement: the `branch_enforcement` record and its bookkeeping. A record is appended, through the
 * one chain writer, when a gated branch's enforcement CHANGES (state or what is missing), when it is
 * first observed, and when it is observed again after a gap (the previous observation older than the
 * gap bound): so a period's enforcement is a timeline built from records, and a time changegate did
 * not look is visible as a gap. In steady state nothing is appended; the bookkeeping row
 * (branch_enforcement, not evidence) says when the branch was last observed. The decision is made
 * inside the chain's transaction (serialised across replicas), so two replicas observing the same
 * change append one record. No new column: pr_number 0, head_sha "", outcome the state.
 */
import type { Kysely } from "kysely";
import type { Enforcement, EnforcementState, Missing } from "../policy/enforcement.js";
import type { ChainWriter } from "./chain-writer.js";
import { canonicalJson } from "./hash.js";
import type { AuditDatabase } from "./migrations.js";
import { chainOf, normaliseTime } from "./payload.js";
import { changegateVersion } from "./version.js";

export const ENFORCEMENT_KIND = "branch_enforcement" as const;

/** An observation older than this before the next one is a gap in observation (3 hours: the hourly scan missed twice). */
export const OBSERVATION_GAP_MS = 3 * 60 * 60_000;

export interface EnforcementObservation {
  at: string;
  /** What caused the read: a delivery id, "scan-…", "evaluation-…". */
  deliveryId: string;
  /** "repository_ruleset", "branch_protection_rule", "branch_protection_configuration", "scan", "evaluation". */
  trigger: string;
  installationId: number;
  owner: string;
  repo: string;
  branch: string;
  appId: number;
  enforcement: Enforcement;
  /** What was read (github/enforcement.ts): the requests and the facts. */
  read: { requests: string[]; facts: unknown };
}

export interface LastObservation {
  installationId: number;
  repo: string;
  branch: string;
  state: EnforcementState;
  missing: Missing[];
  observedAt: string;
  record: string | null;
}

export interface ObservationReceipt {
  /** The record appended ("owner/name@seq"), null when nothing changed. */
  record: string | null;
  reason: "first" | "changed" | "resumed" | null;
  previous: LastObservation | null;
}

export interface EnforcementStore {
  observe(o: EnforcementObservation): Promise<ObservationReceipt>;
  last(repo: string, branch: string): Promise<LastObservation | null>;
  /** Every branch observed, optionally of one installation or repository. */
  branches(q?: { installationId?: number; repo?: string }): Promise<LastObservation[]>;
}

export interface EnforcementPayload {
  type: typeof ENFORCEMENT_KIND;
  repo: string;
  installationId: number;
  branch: string;
  state: EnforcementState;
  missing: Missing[];
  by: string | null;
  observedAt: string;
  reason: "first" | "changed" | "resumed";
  previous: { state: EnforcementState; observedAt: string; record: string | null } | null;
  gapBoundMs: number;
  trigger: string;
  appId: number;
  read: { requests: string[]; facts: unknown };
  changegateVersion: string;
}

type Db = Kysely<AuditDatabase>;

const sameMissing = (a: Missing[], b: Missing[]) =>
  a.map((m) => m.code).join(",") === b.map((m) => m.code).join(",");

export class ChainEnforcement implements EnforcementStore {
  private readonly version = changegateVersion();
  constructor(
    private readonly writer: ChainWriter,
    private readonly gapMs: number = OBSERVATION_GAP_MS,
  ) {}

  private get db(): Db {
    return this.writer.store.db;
  }

  async observe(o: EnforcementObservation): Promise<ObservationReceipt> {
    const chain = chainOf(o.owner, o.repo);
    const repo = `${o.owner}/${o.repo}`;
    const at = normaliseTime(o.at);
    let previous: LastObservation | null = null;
    let reason: ObservationReceipt["reason"] = null;
    // The decision and the bookkeeping are made inside the chain's transaction: a replica observing
    // the same change meanwhile waits for it and then finds it on the books.
    const appended = await this.writer.append(chain, async (tx) => {
      previous = await lastIn(tx, repo, o.branch);
      const p = previous;
      // An observation older than the one on the books (two reads racing) says nothing new.
      if (p && Date.parse(at) < Date.parse(p.observedAt)) return null;
      if (!p) reason = "first";
      else if (p.state !== o.enforcement.state || !sameMissing(p.missing, o.enforcement.missing))
        reason = "changed";
      else if (Date.parse(at) - Date.parse(p.observedAt) > this.gapMs) reason = "resumed";
      if (reason === null) {
        await this.keep(tx, o, repo, at, p?.record ?? null);
        return null;
      }
      const last = await tx
        .selectFrom("audit_record")
        .select(["seq"])
        .where("chain", "=", chain)
        .orderBy("seq", "desc")
        .limit(1)
        .executeTakeFirst();
      await this.keep(tx, o, repo, at, `${chain}@${(last?.seq ?? 0) + 1}`);
      const payload: EnforcementPayload = {
        type: ENFORCEMENT_KIND,
        repo,
        installationId: o.installationId,
        branch: o.branch,
        state: o.enforcement.state,
        missing: o.enforcement.missing,
        by: o.enforcement.by,
        observedAt: at,
        reason,
        previous: p ? { state: p.state, observedAt: p.observedAt, record: p.record } : null,
        gapBoundMs: this.gapMs,
        trigger: o.trigger,
        appId: o.appId,
        read: o.read,
        changegateVersion: this.version,
      };
      return {
        kind: ENFORCEMENT_KIND,
        recorded_at: at,
        installation_id: o.installationId,
        repo,
        pr_number: 0,
        head_sha: "",
        delivery_id: o.deliveryId,
        outcome: o.enforcement.state,
        sequence: null,
        merged_at: null,
        bypass: null,
        standing_seq: null,
        payload: canonicalJson(payload),
      };
    });
    return { record: appended?.id ?? null, reason, previous };
  }

  private async keep(
    tx: Db,
    o: EnforcementObservation,
    repo: string,
    at: string,
    record: string | null,
  ): Promise<void> {
    const values = {
      installation_id: o.installationId,
      repo,
      state: o.enforcement.state,
      missing: JSON.stringify(o.enforcement.missing),
      observed_at: at,
      record,
      updated_at: this.writer.store.now().toISOString(),
    };
    await tx
      .insertInto("branch_enforcement")
      .values({ repo_key: repo.toLowerCase(), branch: o.branch, ...values })
      .onConflict((oc) => oc.columns(["repo_key", "branch"]).doUpdateSet(values))
      .execute();
  }

  last(repo: string, branch: string): Promise<LastObservation | null> {
    return lastIn(this.db, repo, branch);
  }

  async branches(q: { installationId?: number; repo?: string } = {}): Promise<LastObservation[]> {
    return branchesIn(this.db, q);
  }
}

async function lastIn(db: Db, repo: string, branch: string): Promise<LastObservation | null> {
  const row = await db
    .selectFrom("branch_enforcement")
    .selectAll()
    .where("repo_key", "=", repo.toLowerCase())
    .where("branch", "=", branch)
    .executeTakeFirst();
  return row ? toObservation(row) : null;
}

/** The bookkeeping rows (the app, the CLI, the metric). */
export async function branchesIn(
  db: Db,
  q: { installationId?: number; repo?: string } = {},
): Promise<LastObservation[]> {
  let s = db.selectFrom("branch_enforcement").selectAll();
  if (q.installationId !== undefined) s = s.where("installation_id", "=", q.installationId);
  if (q.repo) s = s.where("repo_key", "=", q.repo.toLowerCase());
  const rows = await s.orderBy("repo_key").orderBy("branch").limit(100_000).execute();
  return rows.map(toObservation);
}

function toObservation(row: AuditDatabase["branch_enforcement"]): LastObservation {
  let missing: Missing[] = [];
  try {
    const m = JSON.parse(row.missing) as unknown;
    if (Array.isArray(m)) missing = m as Missing[];
  } catch {
    /* bookkeeping: an unreadable list is an empty one; the record keeps the truth */
  }
  return {
    installationId: Number(row.installation_id),
    repo: row.repo,
    branch: row.branch,
    state: row.state === "enforced" ? "enforced" : "not_enforced",
    missing,
    observedAt: row.observed_at,
    record: row.record,
  };
}

/** The branch_enforcement records (the CLI, the report), optionally of one repository, in chain order. */
export async function enforcementRecords(
  db: Db,
  q: { repo?: string; to?: string } = {},
): Promise<{ chain: string; seq: number; hash: string; at: string; payload: EnforcementPayload }[]> {
  let s = db
    .selectFrom("audit_record")
    .select(["chain", "seq", "hash", "recorded_at", "payload"])
    .where("kind", "=", ENFORCEMENT_KIND);
  if (q.repo) s = s.where("chain", "=", q.repo.toLowerCase());
  if (q.to) s = s.where("recorded_at", "<", q.to);
  const rows = await s.orderBy("chain").orderBy("seq").limit(1_000_000).execute();
  const out = [];
  for (const r of rows) {
    try {
      const payload = JSON.parse(r.payload) as EnforcementPayload;
      if (payload?.type !== ENFORCEMENT_KIND || typeof payload.branch !== "string") continue;
      out.push({ chain: r.chain, seq: r.seq, hash: r.hash, at: r.recorded_at, payload });
    } catch {
      continue;
    }
  }
  return out;
}
