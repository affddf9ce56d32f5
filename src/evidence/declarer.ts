/**
 * The emergency declarer's facts (whether to ask, and whom: src/policy/needs.ts): their write
 * access under the default rule, or the first allowed_declarers team they are an active member of
 * (asked in order until one says yes). GitHub's requests: src/github/declarer.ts.
 */
import { canWrite, isActiveMember } from "../github/declarer.js";
import type { OctokitLike } from "../github/types.js";
import { evidenceNeeds, type DeclarerQuestion } from "../policy/needs.js";
import type { Config, DeclarerFacts, Evidence } from "../policy/types.js";
import type { PrRef } from "../refs.js";

export async function askDeclarer(
  octokit: OctokitLike,
  ref: Pick<PrRef, "owner" | "repo">,
  q: DeclarerQuestion,
): Promise<DeclarerFacts> {
  if (q.teams === null) return { login: q.login, canWrite: await canWrite(octokit, ref, q.login), teams: [] };
  for (const team of q.teams) {
    if (await isActiveMember(octokit, team, q.login))
      return { login: q.login, canWrite: null, teams: [team] };
  }
  return { login: q.login, canWrite: null, teams: [] };
}

/** The declarer's facts for a PR as read, when the policy needs them (null otherwise: nothing asked). */
export async function declarerFacts(
  octokit: OctokitLike,
  ref: Pick<PrRef, "owner" | "repo">,
  config: Config,
  evidence: Omit<Evidence, "tickets">,
): Promise<DeclarerFacts | null> {
  const q = evidenceNeeds(config, { evidence }).declarer;
  return q ? askDeclarer(octokit, ref, q) : null;
}
