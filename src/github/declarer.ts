/**
 * GitHub's answers about an emergency declarer that the one evidence read cannot give (whom to ask
 * and when: src/policy/needs.ts; composed by src/evidence/declarer.ts):
 *   - write access: `GET /repos/{owner}/{repo}/collaborators/{username}/permission` (one request);
 *   - team membership: `GET /orgs/{org}/teams/{team_slug}/memberships/{username}`.
 * 404 means "no" (not a collaborator, not a member, or a team the app cannot see); any other error
 * throws, and the pipeline's failure report keeps the check from turning green.
 * The decision itself is pure: src/policy/emergency.ts.
 */
import { z } from "zod";
import type { OctokitLike as Writer } from "./types.js";
import type { PrRef } from "./types.js";

const WRITE = new Set(["admin", "maintain", "write"]);
const permissionAnswer = z.object({ permission: z.string() });
const membershipAnswer = z.object({ state: z.string() });

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

/** Is `username` an active member of `team` (`org/slug`)? 404: no. */
export async function isActiveMember(octokit: Writer, team: string, username: string): Promise<boolean> {
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
