/**
 * completion-batch: deliveries whose evaluations have all finished, marked complete in the ledger
 * in batches (one statement per batch, not one per delivery) — under a sustained stream of
 * webhooks this halves the store statements per delivery. A batch leaves after `delayMs` or once
 * `max` ids are waiting, whichever comes first; flush() sends what waits (idle, shutdown).
 * A batch lost to a kill or a store failure only means those deliveries are resumed at the next
 * start-up: evaluating a PR again is harmless, and a merge is recorded once.
 */
export interface CompletionBatchOptions {
  /** Marks every id complete (one statement). */
  write(ids: string[]): Promise<void>;
  delayMs: number;
  max: number;
  onError(err: unknown, ids: string[]): void;
}

export class CompletionBatch {
  private ids: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: CompletionBatchOptions) {}

  add(deliveryId: string): void {
    this.ids.push(deliveryId);
    if (this.ids.length >= this.options.max) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.options.delayMs);
      this.timer.unref();
    }
  }

  /** Ids waiting for the next batch. */
  get waiting(): number {
    return this.ids.length;
  }

  /** Send what waits now; resolves once every batch sent so far has been written (or failed). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.ids;
    if (batch.length > 0) {
      this.ids = [];
      this.chain = this.chain
        .then(() => this.options.write(batch))
        .catch((err: unknown) => this.options.onError(err, batch));
    }
    return this.chain;
  }
}
