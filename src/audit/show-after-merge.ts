/** `changegate audit show`: the lines of a record made after a merge (after-merge.ts kinds). */
import type { AuditRow } from "./reader.js";
import { clean } from "./show.js";

export function renderAfterMerge(row: AuditRow): string[] {
  const p = JSON.parse(row.payload) as Record<string, unknown>;
  const s = (v: unknown) => clean(typeof v === "string" ? v : v === null || v === undefined ? "" : String(v));
  const head = `#${row.seq}  ${row.recorded_at}`;
  switch (p.type) {
    case "retro_review":
      return [
        `${head}  RETROACTIVE REVIEW  by ${s(p.reviewedBy)} at ${s(p.reviewedAt)} (${s(p.via)})${Number(p.lateMs) > 0 ? `  LATE (due ${s(p.dueAt)})` : ""}`,
        `    ${s(p.url)}; about merge ${s(p.mergeRecord)}`,
      ];
    case "retro_overdue":
      return [`${head}  RETROACTIVE REVIEW OVERDUE  due ${s(p.dueAt)}; about merge ${s(p.mergeRecord)}`];
    case "ticket_transition": {
      const results = Array.isArray(p.results) ? (p.results as Record<string, unknown>[]) : [];
      return [
        `${head}  TICKETS MOVED ON MERGE  to ${s(p.target)}`,
        ...results.map(
          (r) =>
            `    ${s(r.key)}: ${s(r.result)}${r.status ? ` (${s(r.status)})` : ""}${r.message ? ` ${s(r.message)}` : ""}`,
        ),
      ];
    }
    default:
      return [`${head}  ${s(row.kind).toUpperCase()}`];
  }
}
