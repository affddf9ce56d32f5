/**
 * The facts about an emergency declarer that the one evidence read cannot give: whether whoever
 * applied the emergency label has write access (the default rule) or is an active member of a team
 * listed in `emergency.allowed_declarers`. Asked only when the PR carries the emergency label and
 * the answer matters, so an ordinary PR costs no extra request:
 *   - default rule: `GET /repos/{owner}/{repo}/collaborators/{username}/permission` (one request);
 *   - allowed_declarers: nothing when the login is listed; otherwise
 *     `GET /orgs/{org}/teams/{team_slug}/memberships/{username}` per listed team until one answers
 *     active.
 * 404 means "no" (not a collaborator, not a member, or a team the app cannot see); any other error
 * throws, and the pipeline's failure report keeps the check from turning green.
 * The decision itself is pure: src/policy/emergency.ts.
 */
import { z } from "zod";
import { isGatedBranch } from "../config/schema.js";
import { declarerLogin, declarerTeams, emergencyLabelEvent, isEmergency } from "../policy/emergency.js";
import type { Config, DeclarerFacts, Evidence } from "../policy/types.js";
import type { OctokitLike as Writer } from "./types.js";
import type { PrRef } from "./types.js";

const WRITE = new Set(["admin", "maintain", "write"]);
const permissionAnswer = z.object({ permission: z.string() });
const membershipAnswer = z.object({ state: z.string() });

/** The evidence, with `declarer` facts added when the emergency label needs them (same object otherwise). */
export async function withDeclarerFacts<
  E extends Pick<Evidence, "repo" | "pr" | "labelHistory" | "declarer">,
>(octokit: Writer, ref: Pick<PrRef, "owner" | "repo">, c: Config, evidence: E): Promise<E> {
  const facts = await declarerFacts(octokit, ref, c, evidence);
  return facts ? { ...evidence, declarer: facts } : evidence;
}

export async function declarerFacts(
  octokit: Writer,
  ref: Pick<PrRef, "owner" | "repo">,
  c: Config,
  evidence: Pick<Evidence, "repo" | "pr" | "labelHistory">,
): Promise<DeclarerFacts | null> {
  if (!isEmergency(c, evidence.pr.labels)) return null;
  // A PR into a branch that is not gated is not judged at all: nothing to ask.
  if (!isGatedBranch(c, evidence.pr.baseRef, evidence.repo.defaultBranch)) return null;
  const ev = emergencyLabelEvent(c, evidence);
  const login = declarerLogin(ev);
  // Unknown declarers and apps are decided without asking anyone.
  if (!login || !ev?.actor || ev.actor.isBot) return null;
  const allowed = c.emergency.allowed_declarers;
  if (allowed) {
    if (allowed.some((a) => a.toLowerCase() === login.toLowerCase())) return null;
    const teams: string[] = [];
    for (const team of declarerTeams(c)) {
      if (await isActiveMember(octokit, team, login)) {
        teams.push(team);
        break;
      }
    }
    return { login, canWrite: null, teams };
  }
  return { login, canWrite: await canWrite(octokit, ref, login), teams: [] };
}

export async function canWrite(
  octokit: Writer,
  ref: Pick<PrRef, "owner" | "repo">,
  username: string,
): Promise<boolean> {
  const data = await getOrNull(octokit, "GET /repos/{owner}/{repo}/collaborators/{username}/permission", {
    owner: ref.owner,
    repo: ref.repo,
    username,
  });
  if (data === null) return false;
  const parsed = permissionAnswer.safeParse(data);
  if (!parsed.success)
    throw new Error(
      `GitHub's answer about ${username}'s permission on ${ref.owner}/${ref.repo} is malformed: ${z.prettifyError(parsed.error)}`,
    );
  // `permission` is the base role (triage reads as read, maintain as write); custom role names are not trusted.
  return WRITE.has(parsed.data.permission.toLowerCase());
}

async function isActiveMember(octokit: Writer, team: string, username: string): Promise<boolean> {
  const [org, team_slug] = team.split("/") as [string, string];
  const data = await getOrNull(octokit, "GET /orgs/{org}/teams/{team_slug}/memberships/{username}", {
    org,
    team_slug,
    username,
  });
  if (data === null) return false;
  const parsed = membershipAnswer.safeParse(data);
  if (!parsed.success)
    throw new Error(
      `GitHub's answer about ${username}'s membership of ${team} is malformed: ${z.prettifyError(parsed.error)}`,
    );
  return parsed.data.state === "active";
}

/** A GET whose 404 means "no"; every other failure throws. */
async function getOrNull(octokit: Writer, route: string, params: Record<string, unknown>): Promise<unknown> {
  try {
    return (await octokit.request(route, params)).data;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return null;
    throw err;
  }
}
