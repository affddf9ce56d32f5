/**
 * The population of changes in a period, as `changegate audit export` writes it and
 * `changegate audit report` counts it: one row per merged pull request and one per direct push to a
 * gated branch, each merge with its after-merge columns (retro-review, ticket transitions). Both
 * commands read their rows here, so the report's figures are the export's rows by construction.
 */
import { afterMergeRows } from "./after-merge.js";
import type { AuditStore } from "./database.js";
import { exportRows, type ExportRow } from "./export.js";
import { AuditReader } from "./reader.js";

export interface PopulationQuery {
  /** ISO instants: merged_at >= from and < to. */
  from: string;
  to: string;
  repo: string | null;
}

export function populationRows(store: AuditStore, q: PopulationQuery): AsyncGenerator<ExportRow> {
  const reader = new AuditReader(store);
  return exportRows(reader.merges({ from: q.from, to: q.to, repo: q.repo, directPushes: true }), (m) =>
    afterMergeRows(store.db, m),
  );
}
