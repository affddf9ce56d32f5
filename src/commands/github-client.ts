/**
 * A GitHub client for CLI commands that read or write one repository: GITHUB_TOKEN (a token that
 * may read, or for `audit checkpoint` write issues in, that repository), else the App's own
 * credentials (APP_ID + PRIVATE_KEY) as its installation on that repository. GITHUB_API_URL (or
 * GHE_HOST) points at GitHub Enterprise Server. Credentials are never printed.
 */
import { ProbotOctokit } from "probot";
import type { OctokitLike } from "../github/types.js";
import { CODES, CommandError } from "./errors.js";

export async function githubClientFor(repo: string, env: Record<string, string | undefined>): Promise<OctokitLike> {
  const baseUrl = env.GITHUB_API_URL?.trim() || (env.GHE_HOST ? `${env.GHE_PROTOCOL ?? "https"}://${env.GHE_HOST}/api/v3` : "https://api.github.com");
  const token = env.GITHUB_TOKEN?.trim();
  if (token) return new ProbotOctokit({ auth: { token }, baseUrl, throttle: { enabled: false } }) as unknown as OctokitLike;
  const appId = env.APP_ID?.trim();
  const privateKey = env.PRIVATE_KEY?.replace(/\\n/g, "\n");
  if (!appId || !privateKey) {
    throw new CommandError(CODES.usage, `no GitHub credentials to reach ${repo}: set GITHUB_TOKEN, or APP_ID and PRIVATE_KEY (the changegate App's)`);
  }
  const [owner, name] = repo.split("/");
  const app = new ProbotOctokit({ auth: { appId, privateKey }, baseUrl, throttle: { enabled: false } });
  let installationId: number;
  try {
    const res = await app.request("GET /repos/{owner}/{repo}/installation", { owner: owner!, repo: name! });
    installationId = res.data.id;
  } catch (err) {
    throw new CommandError(CODES.failed, `the changegate App is not installed on ${repo} (or cannot be reached): ${(err as Error).message}`);
  }
  return new ProbotOctokit({ auth: { appId, privateKey, installationId }, baseUrl, throttle: { enabled: false } }) as unknown as OctokitLike;
}
