/**
 * Background-job leases (table background_lease): one replica at a time runs a job such as the
 * webhook redelivery (background/redelivery.ts). A lease is taken by an upsert that only succeeds when
 * no row exists or the row's lease has expired, so two replicas asking at once get one answer each:
 * one holds it, the other does not. The holder writes the job's `position` (where its run got to)
 * when it lets go; a holder whose lease expired and was taken over writes nothing.
 */
import type { AuditStore } from "./database.js";

export interface Lease {
  /** The position the previous holder left (null the first time). */
  position: string | null;
}

export class StoreLease {
  constructor(
    private readonly store: AuditStore,
    /** The job's name (the row). */
    private readonly name: string,
    /** Who asks: unique per process (host, pid, random). */
    private readonly holder: string,
  ) {}

  /** Take the lease for `ttlMs`, or null when another holder's lease has not expired. */
  async acquire(ttlMs: number): Promise<Lease | null> {
    const now = this.store.now();
    const at = now.toISOString();
    const until = new Date(now.getTime() + ttlMs).toISOString();
    const row = await this.store.db
      .insertInto("background_lease")
      .values({ name: this.name, holder: this.holder, expires_at: until, position: null, updated_at: at })
      .onConflict((oc) =>
        oc
          .column("name")
          .doUpdateSet({ holder: this.holder, expires_at: until, updated_at: at })
          .where("background_lease.expires_at", "<=", at),
      )
      .returning(["holder", "position"])
      .executeTakeFirst();
    if (!row || row.holder !== this.holder) return null;
    return { position: row.position };
  }

  /**
   * Let the lease go now, leaving `position` for the next holder (undefined: unchanged). Writes
   * nothing when this process no longer holds it (it expired and another replica took it).
   */
  async release(position?: string | null): Promise<boolean> {
    const at = this.store.now().toISOString();
    const r = await this.store.db
      .updateTable("background_lease")
      .set({ expires_at: at, updated_at: at, ...(position !== undefined ? { position } : {}) })
      .where("name", "=", this.name)
      .where("holder", "=", this.holder)
      .where("expires_at", ">", at)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
