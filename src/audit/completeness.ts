/**
 * completeness: is the population of merge records complete? Pure: per repository, the merges
 * GitHub reports for the window against the merge records of the same window. A merge with no
 * record is `missing`; a record GitHub does not report as merged in the window is `extra`. The
 * report's JSON shape is a contract (`changegate audit report` reads it): keep it exactly.
 * The text also names each gated branch whose `changegate` check was not in force (or not observed)
 * for part of the window (`enforcementGapLines`, from audit/enforcement-timeline.ts); the JSON and
 * the exit code are about the population only.
 */
import type { BranchTimeline } from "./enforcement-timeline.js";
export interface GithubMerge {
  repo: string;
  number: number;
  mergedAt: string | null;
  url: string;
}

export interface RecordMerge {
  repo: string;
  number: number;
  mergedAt: string;
}

export interface CompletenessRepository {
  repo: string;
  githubMerges: number;
  records: number;
  missing: { number: number; mergedAt: string; url: string }[];
  extra: { number: number; mergedAt: string }[];
}

export interface CompletenessReport {
  kind: "changegate-completeness";
  from: string;
  to: string;
  generatedAt: string;
  complete: boolean;
  repositories: CompletenessRepository[];
}

/**
 * Compare. `repos` lists the repositories examined (each appears even with nothing on either
 * side); repositories found only in `github` or `records` are added. Names compare case-blind.
 */
export function compareMerges(
  window: { from: string; to: string; generatedAt: string },
  github: GithubMerge[],
  records: RecordMerge[],
  repos: string[] = [],
): CompletenessReport {
  const byRepo = new Map<string, { name: string; github: GithubMerge[]; records: RecordMerge[] }>();
  const slot = (name: string) => {
    const key = name.toLowerCase();
    let s = byRepo.get(key);
    if (!s) byRepo.set(key, (s = { name, github: [], records: [] }));
    return s;
  };
  for (const r of repos) slot(r);
  for (const g of github) slot(g.repo).github.push(g);
  for (const r of records) slot(r.repo).records.push(r);
  const repositories: CompletenessRepository[] = [...byRepo.keys()].sort().map((key) => {
    const s = byRepo.get(key)!;
    const recorded = new Set(s.records.map((r) => r.number));
    const reported = new Set(s.github.map((g) => g.number));
    const missing = s.github
      .filter((g) => !recorded.has(g.number))
      .sort((a, b) => a.number - b.number)
      .map((g) => ({ number: g.number, mergedAt: g.mergedAt ?? "", url: g.url }));
    // A PR recorded twice is extra too: the population counts each merge once.
    const seen = new Set<number>();
    const extra: { number: number; mergedAt: string }[] = [];
    for (const r of [...s.records].sort((a, b) => a.number - b.number)) {
      if (!reported.has(r.number) || seen.has(r.number))
        extra.push({ number: r.number, mergedAt: r.mergedAt });
      seen.add(r.number);
    }
    return { repo: s.name, githubMerges: s.github.length, records: s.records.length, missing, extra };
  });
  return {
    kind: "changegate-completeness",
    from: window.from,
    to: window.to,
    generatedAt: window.generatedAt,
    complete: repositories.every((r) => r.missing.length === 0 && r.extra.length === 0),
    repositories,
  };
}

/** Where the completeness JSON goes beside an export: x.csv → x.completeness.json. */
export function completenessPathBeside(exportPath: string): string {
  return exportPath.replace(/(\.[^./\\]+)?$/, ".completeness.json");
}

/** The text the CLI prints: counts per repository and every difference. */
export function renderCompleteness(r: CompletenessReport): string {
  const lines: string[] = [`merges from ${r.from} to ${r.to}: ${r.complete ? "COMPLETE" : "NOT COMPLETE"}`];
  for (const repo of r.repositories) {
    const ok = repo.missing.length === 0 && repo.extra.length === 0;
    lines.push(
      `  ${repo.repo}: GitHub ${repo.githubMerges} merge${repo.githubMerges === 1 ? "" : "s"}, ${repo.records} record${repo.records === 1 ? "" : "s"}${ok ? ", complete" : ""}`,
    );
    for (const m of repo.missing)
      lines.push(`    missing record: #${m.number} merged ${m.mergedAt} ${m.url}`);
    for (const e of repo.extra)
      lines.push(
        `    extra record: #${e.number} merged ${e.mergedAt} (GitHub reports no such merge in the window)`,
      );
  }
  return `${lines.join("\n")}\n`;
}

const hoursOf = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;

/**
 * One line per gated branch not in force, or not observed, for part of the window (none: one line
 * saying so; no branch ever observed: one line saying nothing shows the gate was in force).
 */
export function enforcementGapLines(
  window: { from: string; to: string },
  branches: BranchTimeline[],
): string[] {
  const see = `changegate audit enforcement --from ${window.from} --to ${window.to}`;
  if (branches.length === 0)
    return [`enforcement: no gated branch was ever observed: nothing shows the gate was in force (${see})`];
  const gaps = branches.filter((b) => !b.inForce);
  if (gaps.length === 0) return ["enforcement: every gated branch was in force for the whole window"];
  return gaps.map((b) => {
    const ms = { not_enforced: 0, not_observed: 0 };
    for (const p of b.periods)
      if (p.state !== "enforced") ms[p.state] += Date.parse(p.to) - Date.parse(p.from);
    const parts = [
      ...(ms.not_enforced > 0 ? [`not in force ${hoursOf(ms.not_enforced)}`] : []),
      ...(ms.not_observed > 0 ? [`not observed ${hoursOf(ms.not_observed)}`] : []),
    ];
    return `enforcement gap: ${b.repo} ${b.branch}: ${parts.join(", ") || "not in force for part of the window"} (${see} --repo ${b.repo})`;
  });
}
