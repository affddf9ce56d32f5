/** Identifiers shared by the GitHub-facing stages. */
/** One pull request of one installation: the unit of scheduling. */
export interface PrRef {
  installationId: number;
  owner: string;
  repo: string;
  number: number;
}

export function prKey(ref: PrRef): string {
  return `${ref.installationId}:${ref.owner.toLowerCase()}/${ref.repo.toLowerCase()}#${ref.number}`;
}

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
