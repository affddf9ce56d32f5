/**
 * The delivery ledger shared by every process (table delivery): a redelivered webhook is processed
 * once (a unique insert), and the evaluations a delivery led to are written down before they run,
 * so a delivery whose process was killed is resumed by the next process that starts.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { DeliveryLedger, PendingJob } from "../refs.js";
import type { AuditStore } from "./database.js";
import { lockKey } from "./hash.js";

const DELIVERY_RETENTION_MS = 14 * 24 * 3600_000;
const PRUNE_EVERY = 1000;
/** A process that took over an unfinished delivery and died too: another may take it after this. */
const RESUME_LEASE_MS = 10 * 60_000;
/** Ids per batched completion statement (well under SQLite's bound-parameter limit). */
const COMPLETE_CHUNK = 500;
/** Claims per group-committed insert (5 parameters each: far under SQLite's and PostgreSQL's bounds). */
const CLAIM_CHUNK = 200;

/**
 * Who holds a delivery. Every row names the process that claimed it (`claimed_by`, a random id per
 * start); a process resumes a delivery only when its holder is gone. On PostgreSQL a process holds a
 * session advisory lock on its id for as long as it lives (on a connection of the lock pool): the
 * server drops it the moment the process or its connection dies, so "gone" is exact, with no
 * heartbeat to wait out. On SQLite (one process per file) every holder but this process is gone.
 *
 * The window this closes: a replica starting while another evaluates took over the other's deliveries
 * claimed a moment before (no completion yet) and evaluated them a second time.
 */
export class StoreDeliveryLedger implements DeliveryLedger {
  private claims = 0;
  /** This process's id in `claimed_by`. */
  readonly instance: string;
  private alive: Promise<void> | null = null;

  constructor(
    private readonly store: AuditStore,
    options: { instance?: string } = {},
  ) {
    this.instance = options.instance ?? randomUUID();
  }

  /** PostgreSQL: hold the session lock that says this process is alive, before writing a row that names it. */
  private live(): Promise<void> {
    const pool = this.store.pgPool;
    if (!pool) return Promise.resolve();
    if (!this.alive) {
      const held = (this.alive = holdSessionLock(
        pool,
        lockKey("replica", this.instance),
        (release) => this.store.onClose(release),
        () => {
          // The connection broke: the lock is gone with it; the next write takes it again.
          if (this.alive === held) this.alive = null;
        },
      ));
      held.catch(() => this.alive === held && (this.alive = null));
    }
    return this.alive;
  }

  /** Whether the process `owner` still lives (holds its session lock); this process always does. */
  private async holdersGone(owners: string[]): Promise<string[]> {
    const others = owners.filter((o) => o !== this.instance);
    const pool = this.store.pgPool;
    if (!pool) return others; // SQLite: one process per file
    if (others.length === 0) return [];
    const client = await pool.connect();
    const gone: string[] = [];
    try {
      for (const owner of others) {
        const key = lockKey("replica", owner);
        const r = await client.query<{ got: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS got", [
          key,
        ]);
        if (r.rows[0]?.got) {
          gone.push(owner);
          await client.query("SELECT pg_advisory_unlock($1::bigint)", [key]);
        }
      }
    } finally {
      client.release();
    }
    return gone;
  }

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
      this.claimQueue.push({
        deliveryId,
        jobs: jobs.length > 0 ? JSON.stringify(jobs) : null,
        resolve,
        reject,
      });
      if (this.claimQueue.length >= CLAIM_CHUNK) void this.flushClaims();
      else if (this.claimQueue.length === 1) setImmediate(() => void this.flushClaims());
    });
  }

  private readonly claimQueue: {
    deliveryId: string;
    jobs: string | null;
    resolve(first: boolean): void;
    reject(err: unknown): void;
  }[] = [];

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
      await this.live();
      // Rows in one order in every process: two replicas' batches never wait on each other crosswise.
      const values = [...rows]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([delivery_id, jobs]) => ({
          delivery_id,
          claimed_at: claimedAt,
          jobs,
          completed_at: null,
          resumed_at: null,
          claimed_by: this.instance,
        }));
      const r = await this.store.bookkeeping((db) =>
        db
          .insertInto("delivery")
          .values(values)
          .onConflict((oc) => oc.column("delivery_id").doNothing())
          .returning("delivery_id")
          .execute(),
      );
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
      await this.store.bookkeeping((db) =>
        db.updateTable("delivery").set({ completed_at: at }).where("delivery_id", "in", ids).execute(),
      );
    }
  }

  /** Which of `deliveryIds` some process has claimed (the redelivery's "already processed"). */
  async processed(deliveryIds: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const unique = [...new Set(deliveryIds)];
    for (let i = 0; i < unique.length; i += COMPLETE_CHUNK) {
      const ids = unique.slice(i, i + COMPLETE_CHUNK);
      const rows = await this.store.db
        .selectFrom("delivery")
        .select("delivery_id")
        .where("delivery_id", "in", ids)
        .execute();
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
    await this.live();
    await this.store.bookkeeping((db) =>
      db
        .insertInto("delivery")
        .values({
          delivery_id: deliveryId,
          claimed_at: now,
          jobs: text,
          completed_at: null,
          resumed_at: null,
          claimed_by: this.instance,
        })
        .onConflict((oc) =>
          oc.column("delivery_id").doUpdateSet({ jobs: text, completed_at: null, claimed_by: this.instance }),
        )
        .execute(),
    );
  }

  /** A claim whose jobs were never located (nothing was queued): removed, so a redelivery is processed. */
  async release(deliveryId: string): Promise<void> {
    await this.store.bookkeeping((db) =>
      db
        .deleteFrom("delivery")
        .where("delivery_id", "=", deliveryId)
        .where("jobs", "is", null)
        .where("completed_at", "is", null)
        .execute(),
    );
  }

  async complete(deliveryId: string): Promise<void> {
    const at = this.store.now().toISOString();
    await this.store.bookkeeping((db) =>
      db.updateTable("delivery").set({ completed_at: at }).where("delivery_id", "=", deliveryId).execute(),
    );
  }

  /**
   * Deliveries whose evaluations never finished and whose holder is gone (a process that died),
   * oldest first, taken over by this process: each is handed to one caller, so replicas starting
   * together do not all resume the same delivery, and a delivery a live replica is evaluating is left
   * to it. A resumed delivery is held by this process from then on (and, for rows written before
   * holders were recorded, by a lease of RESUME_LEASE_MS).
   */
  async unfinished(): Promise<{ deliveryId: string; jobs: PendingJob[] }[]> {
    const now = this.store.now();
    const leaseOver = new Date(now.getTime() - RESUME_LEASE_MS).toISOString();
    await this.live();
    const candidates = await this.store.db
      .selectFrom("delivery")
      .select("claimed_by")
      .distinct()
      .where("completed_at", "is", null)
      .where("jobs", "is not", null)
      .where((eb) => eb.or([eb("resumed_at", "is", null), eb("resumed_at", "<", leaseOver)]))
      .execute();
    const gone = await this.holdersGone(candidates.flatMap((c) => (c.claimed_by ? [c.claimed_by] : [])));
    const unowned = candidates.some((c) => !c.claimed_by);
    if (gone.length === 0 && !unowned) return [];
    const rows = await this.store.db
      .updateTable("delivery")
      .set({ resumed_at: now.toISOString(), claimed_by: this.instance })
      .where("completed_at", "is", null)
      .where("jobs", "is not", null)
      .where((eb) => eb.or([eb("resumed_at", "is", null), eb("resumed_at", "<", leaseOver)]))
      .where((eb) =>
        eb.or([eb("claimed_by", "is", null), ...(gone.length > 0 ? [eb("claimed_by", "in", gone)] : [])]),
      )
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

/**
 * Take a session advisory lock on a connection of `pool` and keep that connection for as long as the
 * process lives (`onClose` gives it back, destroyed, which ends the lock). `onBroken` is told when the
 * connection fails (the server ended the lock).
 */
async function holdSessionLock(
  pool: pg.Pool,
  key: string,
  onClose: (release: () => Promise<void>) => void,
  onBroken: () => void,
): Promise<void> {
  const client = await pool.connect();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    client.release(true);
  };
  client.on("error", () => {
    onBroken();
    void release();
  });
  try {
    await client.query("SELECT pg_advisory_lock($1::bigint)", [key]);
  } catch (err) {
    await release();
    throw err;
  }
  onClose(release);
}
