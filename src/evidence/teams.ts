/**
 * Team members for approvals.rules (which teams: src/policy/needs.ts teamsToRead): from the
 * installation's cache (github/team-cache.ts), the rest in one read (github/rule-facts.ts). The
 * cache also learns which PR was judged with which teams (a team change re-evaluates it).
 */
import type { GraphqlReader } from "../github/reader.js";
import { readTeams } from "../github/rule-facts.js";
import type { TeamCache } from "../github/team-cache.js";
import type { PrRef } from "../refs.js";

export async function teamMembers(
  reader: GraphqlReader,
  cache: TeamCache | null,
  ref: PrRef,
  teams: string[],
): Promise<Record<string, string[] | null>> {
  cache?.noteUse(ref, teams);
  const out: Record<string, string[] | null> = {};
  const missing: string[] = [];
  for (const t of teams) {
    const hit = cache?.get(ref.installationId, t);
    if (hit === undefined) missing.push(t);
    else out[t] = hit;
  }
  if (missing.length === 0) return out;
  for (const [t, members] of Object.entries(await readTeams(reader, missing))) {
    out[t] = members;
    cache?.set(ref.installationId, t, members);
  }
  return out;
}
