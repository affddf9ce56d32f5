/**
 * Team members read for approvals.rules, cached briefly per installation, and which PRs were
 * judged with which team (so a `membership` or `team` webhook re-evaluates them). Forgotten on
 * those webhooks; bounded in size. Members are lower-case logins; null = team not visible.
 */
import { BoundedMap } from "../bounded-map.js";
import type { PrRef } from "../refs.js";

export interface TeamCacheOptions {
  ttlMs: number;
  maxTeams: number;
  maxPrs: number;
  now: () => number;
}

export const defaultTeamCacheOptions: TeamCacheOptions = {
  ttlMs: 60_000,
  maxTeams: 2_000,
  maxPrs: 5_000,
  now: () => Date.now(),
};

export class TeamCache {
  private readonly members: BoundedMap<string, { at: number; members: string[] | null }>;
  private readonly users: BoundedMap<string, { ref: PrRef; teams: Set<string> }>;

  constructor(private readonly o: TeamCacheOptions = defaultTeamCacheOptions) {
    this.members = new BoundedMap(o.maxTeams);
    this.users = new BoundedMap(o.maxPrs);
  }

  get(installationId: number, team: string): string[] | null | undefined {
    const hit = this.members.get(`${installationId}:${team.toLowerCase()}`);
    if (!hit || this.o.now() - hit.at > this.o.ttlMs) return undefined;
    return hit.members;
  }

  set(installationId: number, team: string, members: string[] | null): void {
    this.members.set(`${installationId}:${team.toLowerCase()}`, { at: this.o.now(), members });
  }

  /** The PR was judged with these teams' members. */
  noteUse(ref: PrRef, teams: string[]): void {
    const key = `${ref.installationId}:${ref.owner}/${ref.repo}#${ref.number}`.toLowerCase();
    if (teams.length === 0) this.users.delete(key);
    else this.users.set(key, { ref, teams: new Set(teams.map((t) => t.toLowerCase())) });
  }

  /**
   * A team changed (membership or the team itself): forget its members and return the PRs judged
   * with it. Without a slug, every team of the organisation is forgotten.
   */
  invalidate(installationId: number, org: string, slug: string | null): PrRef[] {
    const prefix = `${installationId}:${org.toLowerCase()}/`;
    const team = slug === null ? null : `${org}/${slug}`.toLowerCase();
    for (const k of [...this.members.keys()]) {
      if (team === null ? k.startsWith(prefix) : k === `${installationId}:${team}`) this.members.delete(k);
    }
    const out: PrRef[] = [];
    for (const { ref, teams } of this.users.values()) {
      if (ref.installationId !== installationId) continue;
      if (team === null ? [...teams].some((t) => t.startsWith(`${org.toLowerCase()}/`)) : teams.has(team))
        out.push(ref);
    }
    return out;
  }
}
