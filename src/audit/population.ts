/**
 * The population of changes in a period, as `audit export` writes it: merge records (one row per
 * merged PR) and direct_push records, each with its after-merge records. `audit export` and
 * `audit sample` both read it here, so the sample is drawn from exactly the export's rows.
 */
import type { AuditStore } from "./database.js";
import { afterMergeRows } from "./after-merge.js";
import { exportRows, type ExportRow } from "./export.js";
import { AuditReader } from "./reader.js";

export interface PopulationQuery {
  from: string;
  to: string;
  repo: string | null;
}

export function exportPopulation(store: AuditStore, query: PopulationQuery): AsyncGenerator<ExportRow> {
  const reader = new AuditReader(store);
  return exportRows(reader.merges({ ...query, directPushes: true }), (m) => afterMergeRows(store.db, m));
}
