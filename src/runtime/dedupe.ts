/**
 * Deliveries: a delivery id (X-GitHub-Delivery) is processed once, and a delivery whose
 * evaluations never finished (the process was killed) is picked up again at start-up.
 *
 * In one process a bounded in-memory ledger does it; the audit store provides a durable one shared
 * by every replica.
 */
import type { PrRef } from "../github/types.js";

/** What a delivery asked for: enough to run it again after a crash. */
export interface PendingJob {
  ref: PrRef;
  event: string;
  expectedHead: string | null;
  merge: boolean;
}

export interface DeliveryLedger {
  /** true the first time an id is claimed (by any process), false for every repeat. */
  claim(deliveryId: string): Promise<boolean>;
  /** The evaluations the delivery led to, recorded before they run. */
  pending(deliveryId: string, jobs: PendingJob[]): Promise<void>;
  /** Every evaluation of the delivery has finished. */
  complete(deliveryId: string): Promise<void>;
  /** Deliveries with recorded jobs that never completed (oldest first). */
  unfinished(): Promise<{ deliveryId: string; jobs: PendingJob[] }[]>;
}

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
