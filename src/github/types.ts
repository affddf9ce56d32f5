/** Identifiers shared by the GitHub-facing stages. */
import type { PrRef } from "../refs.js";
export { prKey, type PrRef } from "../refs.js";

export function prLabel(ref: Pick<PrRef, "owner" | "repo" | "number">): string {
  return `${ref.owner}/${ref.repo}#${ref.number}`;
}

/**
 * The slice of Octokit that changegate's REST calls need (a ProbotOctokit satisfies it): one
 * declaration for every GitHub read and write outside the GraphQL reader.
 */
export interface OctokitLike {
  request(route: string, params: Record<string, unknown>): Promise<{ data: unknown }>;
}
