/**
 * Deliveries: a delivery id (X-GitHub-Delivery) is processed once, and a delivery whose
 * evaluations never finished (the process was killed) is picked up again at start-up.
 *
 * In one process a bounded in-memory ledger does it; the audit store provides a durable one shared
 * by every replica.
 */
import type { DeliveryLedger, PendingJob } from "../refs.js";
export type { DeliveryLedger, PendingJob } from "../refs.js";

export class MemoryDeliveryLedger implements DeliveryLedger {
  private readonly seen = new Set<string>();
  private readonly open = new Map<string, PendingJob[]>();
  constructor(private readonly max = 10_000) {}

  async claim(deliveryId: string): Promise<boolean> {
    if (this.seen.has(deliveryId)) return false;
    this.seen.add(deliveryId);
    if (this.seen.size > this.max) {
      // Sets iterate in insertion order: drop the oldest.
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }

  async release(deliveryId: string): Promise<void> {
    if (!this.open.has(deliveryId)) this.seen.delete(deliveryId);
  }

  async processed(deliveryIds: string[]): Promise<Set<string>> {
    return new Set(deliveryIds.filter((id) => this.seen.has(id)));
  }

  async pending(deliveryId: string, jobs: PendingJob[]): Promise<void> {
    if (jobs.length > 0) this.open.set(deliveryId, jobs);
  }

  async complete(deliveryId: string): Promise<void> {
    this.open.delete(deliveryId);
  }

  async unfinished(): Promise<{ deliveryId: string; jobs: PendingJob[] }[]> {
    return [...this.open.entries()].map(([deliveryId, jobs]) => ({ deliveryId, jobs }));
  }
}
