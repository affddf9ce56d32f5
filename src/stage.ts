/**
 * A failure in a named stage of an evaluation (the failure report names it), carrying what the
 * evaluation knew when it failed (the policy, the evidence so far): a failure is recorded with it.
 */
import type { Stage } from "./report/failure.js";
import type { Evidence, Policy } from "./policy/types.js";

/** What an evaluation knew when a stage failed. */
export interface Known {
  policy?: Policy | null;
  /** The evidence as far as it was completed (tickets not looked up unless they were). */
  evidence?: Evidence | null;
}

export class StageError extends Error {
  constructor(
    readonly stage: Stage,
    readonly original: unknown,
    readonly known: Known = {},
  ) {
    super(original instanceof Error ? original.message : String(original));
  }

  /** The same failure, with what the caller knew added (what was known closer to the failure wins). */
  knowing(known: Known): StageError {
    return new StageError(this.stage, this.original, { ...known, ...this.known });
  }
}

/** Run one stage: a throw becomes a StageError naming it (or, already one, learns `known`). */
export async function stage<T>(name: Stage, fn: () => Promise<T> | T, known: Known = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof StageError ? err.knowing(known) : new StageError(name, err, known);
  }
}
