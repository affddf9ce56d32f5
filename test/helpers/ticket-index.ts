/**
 * An in-memory Jira key → PR index for tests (the app uses the audit store's StoreTicketIndex),
 * and a Recorder wrapper that keeps it in step with every evaluation and merge. Moved from
 * src/jira/webhook.ts (issue 10): src/jira imports nothing from src/audit.
 */
import type { EvaluationRecord, MergeReceipt, MergeRecord, Recorder } from "../../src/audit/recorder.js";
import { ticketIndexEntry } from "../../src/policy/tickets.js";
import { prKey, type PrRef, type TicketIndex } from "../../src/refs.js";

/** In-memory key → PR index (tests; the audit store's index is the durable one). */
export class MemoryTicketIndex implements TicketIndex {
  private readonly byKey = new Map<string, Map<string, PrRef>>();
  private readonly byPr = new Map<string, { ref: PrRef; keys: Set<string>; waiting: boolean }>();

  /**
   * Record what a PR references now. `open: false` (closed or merged) removes it. `waitingOnTickets`
   * marks PRs whose only failing rule is tickets, for the periodic re-check.
   */
  update(ref: PrRef, keys: string[], open: boolean, waitingOnTickets = false): void {
    const id = prKey(ref);
    const old = this.byPr.get(id);
    if (old) {
      for (const k of old.keys) {
        const prs = this.byKey.get(k);
        prs?.delete(id);
        if (prs?.size === 0) this.byKey.delete(k);
      }
      this.byPr.delete(id);
    }
    const upper = new Set(keys.map((k) => k.trim().toUpperCase()).filter((k) => k.length > 0));
    if (!open || (upper.size === 0 && !waitingOnTickets)) return;
    this.byPr.set(id, { ref, keys: upper, waiting: waitingOnTickets });
    for (const k of upper) {
      if (!this.byKey.has(k)) this.byKey.set(k, new Map());
      this.byKey.get(k)!.set(id, ref);
    }
  }

  async prsForKey(key: string): Promise<PrRef[]> {
    return [...(this.byKey.get(key.trim().toUpperCase())?.values() ?? [])];
  }

  /** Open PRs whose only failing rule is tickets (for startTicketRecheck's `list`). */
  async waitingOnTickets(): Promise<PrRef[]> {
    return [...this.byPr.values()].filter((e) => e.waiting).map((e) => e.ref);
  }

  get size(): number {
    return this.byPr.size;
  }
}

/**
 * A Recorder that keeps a MemoryTicketIndex up to date from every evaluation and merge, then hands
 * the record on. (The store-backed recorder keeps its own durable index instead.)
 */
export function indexingRecorder(inner: Recorder, index: MemoryTicketIndex): Recorder {
  return {
    async recordEvaluation(rec: EvaluationRecord): Promise<void> {
      const { keys, waiting } = ticketIndexEntry(rec.verdict, rec.evidence.tickets.refs);
      index.update(rec.ref, keys, rec.evidence.pr.state === "OPEN", waiting);
      await inner.recordEvaluation(rec);
    },
    async recordMerge(rec: MergeRecord): Promise<MergeReceipt | null> {
      index.update(rec.ref, [], false);
      return inner.recordMerge(rec);
    },
    verdictsAt: (repo, headSha, numbers) => inner.verdictsAt(repo, headSha, numbers),
  };
}
