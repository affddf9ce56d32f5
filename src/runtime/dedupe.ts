/**
 * Duplicate deliveries (same X-GitHub-Delivery) are processed once. In one process a bounded
 * in-memory set does it; the audit store can provide a shared one for several replicas.
 */
export interface DeliveryLedger {
  /** true the first time an id is claimed, false for every repeat. */
  claim(deliveryId: string): Promise<boolean>;
}

export class MemoryDeliveryLedger implements DeliveryLedger {
  private readonly seen = new Set<string>();
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
}
