/** Identifiers shared by the GitHub-facing stages. */
export { prKey, prLabel, type PrRef } from "../refs.js";

/**
 * The slice of Octokit that changegate's REST calls need (a ProbotOctokit satisfies it): one
 * declaration for every GitHub read and write outside the GraphQL reader.
 */
export interface OctokitLike {
  request(route: string, params: Record<string, unknown>): Promise<{ data: unknown }>;
}
