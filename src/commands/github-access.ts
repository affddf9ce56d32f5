/**
 * How a CLI command reaches GitHub: as the GitHub App (APP_ID + PRIVATE_KEY, every installation,
 * or those of --org/--repo) or with a token (GITHUB_TOKEN, one --org or --repo). GHE_HOST and
 * GHE_PROTOCOL as for the app. Each target is one installation (id 0 for a token: records made
 * with a token carry installation 0).
 */
import { Octokit } from "@octokit/core";
import { retry } from "@octokit/plugin-retry";
import { Probot } from "probot";
import { createReader, defaultReaderOptions, type GraphqlReader } from "../github/reader.js";
import type { OctokitLike } from "../github/types.js";

export interface GithubTarget {
  installationId: number;
  /** The account (organisation or user) the installation is on. */
  account: string;
  accountType: "Organization" | "User";
  octokit: OctokitLike;
  reader: GraphqlReader;
}

export class AccessError extends Error {}

export function githubBaseUrl(env: Record<string, string | undefined>): string {
  if (!env.GHE_HOST) return "https://api.github.com";
  return `${env.GHE_PROTOCOL === "http" ? "http" : "https"}://${env.GHE_HOST}/api/v3`;
}

const RetryOctokit = Octokit.plugin(retry);

/** The targets to walk; `only` narrows to one account (an --org, or a --repo's owner). */
export async function githubTargets(env: Record<string, string | undefined>, only: { org?: string; repo?: string }): Promise<GithubTarget[]> {
  const baseUrl = githubBaseUrl(env);
  const owner = only.repo?.split("/")[0] ?? only.org;
  if (env.APP_ID && env.PRIVATE_KEY) {
    const appId = Number(env.APP_ID);
    if (!Number.isInteger(appId) || appId <= 0) throw new AccessError(`APP_ID ${JSON.stringify(env.APP_ID)} is not a GitHub App id`);
    const probot = new Probot({ appId, privateKey: env.PRIVATE_KEY.replace(/\\n/g, "\n"), baseUrl });
    const app = (await probot.auth()) as unknown as OctokitLike;
    const installations: { id: number; account: { login: string; type?: string } | null; suspended_at?: string | null }[] = [];
    for (let page = 1; page <= 100; page++) {
      const res = await app.request("GET /app/installations", { per_page: 100, page });
      const list = Array.isArray(res.data) ? (res.data as typeof installations) : [];
      installations.push(...list);
      if (list.length < 100) break;
    }
    const out: GithubTarget[] = [];
    for (const inst of installations) {
      if (!inst.account || inst.suspended_at) continue;
      if (owner && inst.account.login.toLowerCase() !== owner.toLowerCase()) continue;
      const octokit = await probot.auth(inst.id);
      out.push({
        installationId: inst.id,
        account: inst.account.login,
        accountType: inst.account.type === "User" ? "User" : "Organization",
        octokit: octokit as unknown as OctokitLike,
        reader: createReader(inst.id, octokit as never, defaultReaderOptions),
      });
    }
    if (owner && out.length === 0) throw new AccessError(`the GitHub App (APP_ID ${appId}) is not installed on ${owner}`);
    return out;
  }
  if (env.GITHUB_TOKEN) {
    if (!owner) throw new AccessError("with GITHUB_TOKEN, name what to scan: --org ORG or --repo OWNER/NAME");
    const octokit = new RetryOctokit({ auth: env.GITHUB_TOKEN, baseUrl, userAgent: "changegate" });
    return [{ installationId: 0, account: owner, accountType: "Organization", octokit: octokit as unknown as OctokitLike, reader: createReader(0, octokit as never, defaultReaderOptions) }];
  }
  throw new AccessError("no GitHub credentials: set APP_ID and PRIVATE_KEY (the GitHub App), or GITHUB_TOKEN with --org or --repo");
}
