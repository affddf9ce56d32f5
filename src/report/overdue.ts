/**
 * The audit issue's entry for an emergency change whose retroactive review is overdue (user text
 * escaped, nobody @-mentioned). Pure.
 */
import { describeDuration } from "../policy/retro-review.js";
import { code, link, md } from "./escape.js";

export interface OverdueFacts {
  /** owner/name */
  repo: string;
  number: number;
  url: string;
  title: string;
  author: string | null;
  mergedBy: string | null;
  mergedAt: string;
  dueAt: string;
  lateMs: number;
  record: string | null;
}

export function overdueEntry(f: OverdueFacts): string {
  const pr = `${f.repo}#${f.number}`;
  const lines = [
    `### ${link(md(pr), f.url)}: ${md(f.title, 200)}`,
    "",
    `- **emergency change without its retroactive review**: due by ${md(f.dueAt, 40)}, now ${describeDuration(f.lateMs)} late`,
    `- merged by: ${f.mergedBy ? code(f.mergedBy, 100) : "unknown"} at ${md(f.mergedAt, 40)}`,
    `- author: ${f.author ? code(f.author, 100) : "unknown"}`,
  ];
  if (f.record) lines.push(`- audit record: \`${f.record}\` (\`changegate audit show ${pr}\`)`);
  return lines.join("\n");
}
