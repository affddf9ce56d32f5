/**
 * The delivery ledger shared by every process (table delivery): a redelivered webhook is processed
 * once (a unique insert), and the evaluations a delivery led to are written down before they run,
 * so a delivery whose process was killed is resumed by the next process that starts.
 */
import type { DeliveryLedger, PendingJob } from "../refs.js";
import type { AuditStore } from "./database.js";

const DELIVERY_RETENTION_MS = 14 * 24 * 3600_000;
const PRUNE_EVERY = 1000;
/** A process that took over an unfinished delivery and died too: another may take it after this. */
const RESUME_LEASE_MS = 10 * 60_000;
/** Ids per batched completion statement (well under SQLite's bound-parameter limit). */
const COMPLETE_CHUNK = 500;
/** Claims per group-committed insert (5 parameters each: far under SQLite's and PostgreSQL's bounds). */
const CLAIM_CHUNK = 200;

export class StoreDeliveryLedger implements DeliveryLedger {
  private claims = 0;

  constructor(private readonly store: AuditStore) {}

  /** true the first time any process claims `deliveryId`, false for every repeat. */
  claim(deliveryId: string): Promise<boolean> {
    return this.claimPending(deliveryId, []);
  }

  /**
   * claim() and pending() in one statement, for a delivery whose jobs are known before it is
   * claimed: the row is written with its jobs, or not at all (a repeat).
   *
   * Group commit: the claims asked for in the same turn of the event loop (up to CLAIM_CHUNK) are
   * written by ONE multi-row insert, so a burst of webhooks costs one commit (one fsync on SQLite)
   * per batch instead of one per delivery. Each caller still resolves only once its row is
   * committed: nothing is acknowledged before that (what a commit of this bookkeeping survives:
   * AuditStore.bookkeeping).
   */
  claimPending(deliveryId: string, jobs: PendingJob[]): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.claimQueue.push({ deliveryId, jobs: jobs.length > 0 ? JSON.stringify(jobs) : null, resolve, reject });
      if (this.claimQueue.length >= CLAIM_CHUNK) void this.flushClaims();
      else if (this.claimQueue.length === 1) setImmediate(() => void this.flushClaims());
    });
  }

  private readonly claimQueue: { deliveryId: string; jobs: string | null; resolve(first: boolean): void; reject(err: unknown): void }[] = [];

  private async flushClaims(): Promise<void> {
    const batch = this.claimQueue.splice(0, CLAIM_CHUNK);
    if (batch.length === 0) return;
    if (this.claimQueue.length > 0) setImmediate(() => void this.flushClaims());
    const now = this.store.now();
    const claimedAt = now.toISOString();
    // One row per id (a repeat inside the batch is a repeat), first occurrence wins.
    const rows = new Map<string, string | null>();
    for (const c of batch) if (!rows.has(c.deliveryId)) rows.set(c.deliveryId, c.jobs);
    let inserted: Set<string>;
    try {
      const r = await this.store.bookkeeping((db) => db
        .insertInto("delivery")
        .values([...rows].map(([delivery_id, jobs]) => ({ delivery_id, claimed_at: claimedAt, jobs, completed_at: null, resumed_at: null })))
        .onConflict((oc) => oc.column("delivery_id").doNothing())
        .returning("delivery_id")
        .execute());
      inserted = new Set(r.map((x) => x.delivery_id));
    } catch (err) {
      for (const c of batch) c.reject(err);
      return;
    }
    for (const c of batch) {
      const first = inserted.delete(c.deliveryId);
      c.resolve(first);
    }
    const before = this.claims;
    this.claims += batch.length;
    if (Math.floor(before / PRUNE_EVERY) !== Math.floor(this.claims / PRUNE_EVERY)) await this.prune(now);
  }

  /** complete() for several deliveries in one statement per COMPLETE_CHUNK ids. */
  async completeMany(deliveryIds: string[]): Promise<void> {
    const at = this.store.now().toISOString();
    for (let i = 0; i < deliveryIds.length; i += COMPLETE_CHUNK) {
      const ids = deliveryIds.slice(i, i + COMPLETE_CHUNK);
      await this.store.bookkeeping((db) => db.updateTable("delivery").set({ completed_at: at }).where("delivery_id", "in", ids).execute());
    }
  }

  /** Which of `deliveryIds` some process has claimed (the redelivery's "already processed"). */
  async processed(deliveryIds: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const unique = [...new Set(deliveryIds)];
    for (let i = 0; i < unique.length; i += COMPLETE_CHUNK) {
      const ids = unique.slice(i, i + COMPLETE_CHUNK);
      const rows = await this.store.db.selectFrom("delivery").select("delivery_id").where("delivery_id", "in", ids).execute();
      for (const r of rows) out.add(r.delivery_id);
    }
    return out;
  }

  private async prune(now: Date): Promise<void> {
    await this.store.db
      .deleteFrom("delivery")
      .where("claimed_at", "<", new Date(now.getTime() - DELIVERY_RETENTION_MS).toISOString())
      .execute()
      .catch(() => {});
  }

  async pending(deliveryId: string, jobs: PendingJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const text = JSON.stringify(jobs);
    const now = this.store.now().toISOString();
    await this.store.bookkeeping((db) =>
      db
        .insertInto("delivery")
        .values({ delivery_id: deliveryId, claimed_at: now, jobs: text, completed_at: null, resumed_at: null })
        .onConflict((oc) => oc.column("delivery_id").doUpdateSet({ jobs: text, completed_at: null }))
        .execute(),
    );
  }

  async complete(deliveryId: string): Promise<void> {
    const at = this.store.now().toISOString();
    await this.store.bookkeeping((db) => db.updateTable("delivery").set({ completed_at: at }).where("delivery_id", "=", deliveryId).execute());
  }

  /**
   * Deliveries whose evaluations never finished, oldest first, taken over by this process: each is
   * handed to one caller (a lease of RESUME_LEASE_MS), so replicas starting together do not all
   * resume the same delivery. A delivery still running on a live replica may be resumed once more:
   * evaluating again is harmless, and a merge is recorded once (recordMerge finds it on record).
   */
  async unfinished(): Promise<{ deliveryId: string; jobs: PendingJob[] }[]> {
    const now = this.store.now();
    const rows = await this.store.db
      .updateTable("delivery")
      .set({ resumed_at: now.toISOString() })
      .where("completed_at", "is", null)
      .where("jobs", "is not", null)
      .where((eb) => eb.or([eb("resumed_at", "is", null), eb("resumed_at", "<", new Date(now.getTime() - RESUME_LEASE_MS).toISOString())]))
      .returning(["delivery_id", "claimed_at", "jobs"])
      .execute();
    return rows
      .sort((a, b) => a.claimed_at.localeCompare(b.claimed_at) || a.delivery_id.localeCompare(b.delivery_id))
      .flatMap((r) => {
        const jobs = parseJobs(r.jobs);
        return jobs ? [{ deliveryId: r.delivery_id, jobs }] : [];
      });
  }
}

/** The jobs column as written by pending(); anything else (a damaged row) is skipped. */
function parseJobs(text: string | null): PendingJob[] | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as unknown;
    if (!Array.isArray(v)) return null;
    return v.filter(
      (j): j is PendingJob =>
        typeof j === "object" &&
        j !== null &&
        typeof j.ref?.installationId === "number" &&
        typeof j.ref?.owner === "string" &&
        typeof j.ref?.repo === "string" &&
        typeof j.ref?.number === "number" &&
        typeof j.event === "string" &&
        typeof j.merge === "boolean",
    );
  } catch {
    return null;
  }
}
