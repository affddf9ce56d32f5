/**
 * Ticket keys referenced by a PR: every distinct key of the configured projects, from every
 * configured source. Only configured project keys match, on word boundaries (UTF-8, SHA-256 and a
 * date like 2023-04-11-245a825 are not tickets). Branch names match case-insensitively.
 */
import type { CommitInfo, PullRequestInfo, TicketRef, TicketSource } from "../policy/types.js";

export function extractTicketKeys(
  pr: Pick<PullRequestInfo, "title" | "body" | "headRef">,
  commits: Pick<CommitInfo, "message" | "isMerge">[],
  projects: string[],
  sources: readonly TicketSource[],
): TicketRef[] {
  if (projects.length === 0) return [];
  const alternatives = projects.map(escapeRegExp).join("|");
  // Boundaries: not glued to letters or digits. An underscore is a separator (`_OPS-12_` in
  // markdown, branch `OPS-12_fix`) unless it joins a longer project key (`MY_OPS-12` is not OPS-12).
  const pattern = (flags: string) =>
    new RegExp(`(?<![A-Za-z0-9])(?<![A-Za-z0-9]_)(${alternatives})-([1-9][0-9]{0,9})(?![A-Za-z0-9])`, flags);
  const found = new Map<string, Set<TicketSource>>();
  const scan = (text: string, source: TicketSource, caseInsensitive: boolean) => {
    for (const m of text.matchAll(pattern(caseInsensitive ? "gi" : "g"))) {
      const key = `${m[1]!.toUpperCase()}-${m[2]}`;
      if (!found.has(key)) found.set(key, new Set());
      found.get(key)!.add(source);
    }
  };
  for (const source of sources) {
    if (source === "title") scan(pr.title, source, false);
    if (source === "branch") scan(pr.headRef, source, true);
    if (source === "body") scan(pr.body, source, false);
    if (source === "commits") for (const c of commits) if (!c.isMerge) scan(c.message, source, false);
  }
  const order: TicketSource[] = ["title", "branch", "body", "commits"];
  return [...found.entries()]
    .map(([key, where]) => ({ key, foundIn: order.filter((s) => where.has(s)) }))
    .sort((a, b) => compareKeys(a.key, b.key));
}

function compareKeys(a: string, b: string): number {
  const [pa, na] = a.split("-");
  const [pb, nb] = b.split("-");
  return pa!.localeCompare(pb!) || Number(na) - Number(nb);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
