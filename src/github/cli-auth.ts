/**
 * The command line's GitHub credentials: the ONE module every CLI command (and the checkpoint timer)
 * uses to reach GitHub. From the environment, parsed with zod; no secret is ever part of a message.
 *   - APP_ID + PRIVATE_KEY (or PRIVATE_KEY_PATH): the app's JWT finds the installation — per
 *     repository (`GET /repos/{owner}/{repo}/installation`: `cliGithub`, `githubClientFor`) or every
 *     installation, optionally of one account (`GET /app/installations`: `githubTargets`) — then an
 *     installation token reads (or, for `audit checkpoint`, writes issues) as the app does;
 *   - else GITHUB_TOKEN: a token that can read the repository (id 0: records made with a token
 *     carry installation 0). For one repository only, GITHUB_TOKEN wins over the app's key
 *     when `preferToken` is asked (the checkpoint issue's writer, as before).
 * GHE_HOST / GHE_PROTOCOL point at GitHub Enterprise Server, as for the app; else GITHUB_API_URL
 * (set by GitHub Actions); else api.github.com. Every failure to authenticate is a
 * CredentialsError (the CLI's exit 2), naming what to set.
 */
import { readFileSync } from "node:fs";
import { ProbotOctokit } from "probot";
import { z } from "zod";
import {
  installationTarget,
  walkable,
  type GithubTarget,
  type InstallationItem,
} from "./installation-target.js";
import { defaultReaderOptions } from "./reader.js";
import type { OctokitLike } from "./types.js";
import { parseSettings, type Settings } from "../settings.js";

type GithubSettings = Settings["github"];

export type { GithubTarget } from "./installation-target.js";

export interface CliGithub {
  /** REST (the emergency declarer's extra read, the search); `check` and `rehearse` never write through it. */
  octokit: OctokitLike;
  /** Token source for the GraphQL reader (github/reader.ts). */
  tokenSource: {
    auth(o: { type: "installation" }): Promise<unknown>;
    request: { endpoint: { DEFAULTS: { baseUrl: string } } };
  };
  installationId: number;
  /** The app's id (its own check run is not CI); 0 when unknown (token without APP_ID). */
  appId: number;
  /** How the command authenticated, for the user (never the secret). */
  via: string;
}

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialsError";
  }
}

/** Where the credentials come from: a plain environment (parsed here), or settings already loaded (the app). */
export type Credentials = Record<string, string | undefined> | Pick<Settings, "github">;

/** The GitHub settings (src/settings.ts), a malformed one a CredentialsError naming it (never its value). */
function parseEnv(source: Credentials): GithubSettings {
  if (typeof source.github === "object" && source.github !== null) return source.github;
  const parsed = parseSettings(source as Record<string, string | undefined>, ["github"]);
  if (parsed.settings === null) throw new CredentialsError(parsed.problems.join("; "));
  return parsed.settings.github;
}

function baseUrlOf(e: GithubSettings): string {
  if (e.gheHost) return `${e.gheProtocol}://${e.gheHost}/api/v3`;
  if (e.apiUrl) return e.apiUrl.replace(/\/+$/, "");
  return "https://api.github.com";
}

export function githubBaseUrl(source: Credentials): string {
  return baseUrlOf(parseEnv(source));
}

function readKey(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new CredentialsError(
      `cannot read PRIVATE_KEY_PATH ${path}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`,
    );
  }
}

function appKey(e: GithubSettings): string | null {
  return e.privateKey
    ? e.privateKey.replace(/\\n/g, "\n")
    : e.privateKeyPath
      ? readKey(e.privateKeyPath)
      : null;
}

function clientOptions(baseUrl: string) {
  return { baseUrl, throttle: { enabled: false }, retry: { enabled: true, retries: 2 } };
}

/** GitHub said no to the app's JWT (401), or something else: a CredentialsError or the original error. */
function appRefused(err: unknown, appId: number): never {
  const status = (err as { status?: number }).status;
  if (status === 401)
    throw new CredentialsError(
      `GitHub refused the app's credentials (APP_ID ${appId} with this PRIVATE_KEY): ${(err as Error).message}`,
    );
  throw err;
}

/** Authenticate for reading `owner/repo` (the app's installation on it, or a token). Throws CredentialsError naming what to set. */
export async function cliGithub(
  source: Credentials,
  owner: string,
  repo: string,
  opts: { preferToken?: boolean } = {},
): Promise<CliGithub> {
  const e = parseEnv(source);
  const common = clientOptions(baseUrlOf(e));
  const viaToken = (): CliGithub => {
    const octokit = new ProbotOctokit({ ...common, auth: { token: e.token! } });
    return {
      octokit: octokit as unknown as OctokitLike,
      tokenSource: octokit as never,
      installationId: 0,
      appId: e.appId ?? 0,
      via: "GITHUB_TOKEN",
    };
  };
  if (opts.preferToken && e.token) return viaToken();
  const privateKey = appKey(e);
  if (e.appId && privateKey) {
    const appId = e.appId;
    const app = new ProbotOctokit({ ...common, auth: { appId, privateKey } });
    let installationId: number;
    try {
      const { data } = await app.request("GET /repos/{owner}/{repo}/installation", { owner, repo });
      installationId = z.object({ id: z.number().int().positive() }).parse(data).id;
    } catch (err) {
      if ((err as { status?: number }).status === 404)
        throw new CredentialsError(
          `the GitHub App ${appId} is not installed on ${owner}/${repo} (or cannot see it)`,
        );
      appRefused(err, appId);
    }
    const octokit = new ProbotOctokit({ ...common, auth: { appId, privateKey, installationId } });
    return {
      octokit: octokit as unknown as OctokitLike,
      tokenSource: octokit as never,
      installationId,
      appId,
      via: `GitHub App ${appId}, installation ${installationId}`,
    };
  }
  if (e.appId && !privateKey && !e.token)
    throw new CredentialsError("APP_ID is set but PRIVATE_KEY (or PRIVATE_KEY_PATH) is not");
  if (e.token) return viaToken();
  throw new CredentialsError(
    `no GitHub credentials: set APP_ID and PRIVATE_KEY (the app's, as for \`npm start\`), or GITHUB_TOKEN`,
  );
}

/** A REST client for one repository "owner/name" (`audit checkpoint`, `audit verify --from-issue`, `audit report`, the checkpoint timer). GITHUB_TOKEN first. */
export async function githubClientFor(repo: string, source: Credentials): Promise<OctokitLike> {
  const [owner, name] = repo.split("/");
  if (!owner || !name) throw new CredentialsError(`${JSON.stringify(repo)}: expected owner/name`);
  return (await cliGithub(source, owner, name, { preferToken: true })).octokit;
}

const installationItem = z.object({
  id: z.number().int().positive(),
  account: z.object({ login: z.string(), type: z.string().optional() }).passthrough().nullable(),
  suspended_at: z.string().nullable().optional(),
});

/** The installations to walk (`audit scan`, `audit completeness`); `only` narrows to one account (an --org, or a --repo's owner). */
export async function githubTargets(
  source: Credentials,
  only: { org?: string; repo?: string },
): Promise<GithubTarget[]> {
  const e = parseEnv(source);
  const common = clientOptions(baseUrlOf(e));
  const owner = only.repo?.split("/")[0] ?? only.org;
  const privateKey = appKey(e);
  if (e.appId && privateKey) {
    const appId = e.appId;
    const app = new ProbotOctokit({ ...common, auth: { appId, privateKey } });
    const installations: InstallationItem[] = [];
    for (let page = 1; page <= 100; page++) {
      let data: unknown;
      try {
        data = (await app.request("GET /app/installations", { per_page: 100, page })).data;
      } catch (err) {
        appRefused(err, appId);
      }
      const list = z.array(installationItem).max(100).safeParse(data);
      if (!list.success)
        throw new Error(
          `GitHub's list of the app's installations is not what changegate expects: ${z.prettifyError(list.error)}`,
        );
      installations.push(...list.data);
      if (list.data.length < 100) break;
    }
    const out: GithubTarget[] = [];
    for (const inst of installations) {
      if (!walkable(inst)) continue;
      if (owner && inst.account.login.toLowerCase() !== owner.toLowerCase()) continue;
      out.push(
        installationTarget(
          inst,
          new ProbotOctokit({ ...common, auth: { appId, privateKey, installationId: inst.id } }),
          defaultReaderOptions,
        ),
      );
    }
    if (owner && out.length === 0)
      throw new CredentialsError(`the GitHub App ${appId} is not installed on ${owner}`);
    return out;
  }
  if (e.appId && !privateKey && !e.token)
    throw new CredentialsError("APP_ID is set but PRIVATE_KEY (or PRIVATE_KEY_PATH) is not");
  if (e.token) {
    if (!owner)
      throw new CredentialsError("with GITHUB_TOKEN, name what to read: --org ORG or --repo OWNER/NAME");
    const octokit = new ProbotOctokit({ ...common, auth: { token: e.token } });
    return [installationTarget({ id: 0, account: { login: owner } }, octokit, defaultReaderOptions)];
  }
  throw new CredentialsError(
    "no GitHub credentials: set APP_ID and PRIVATE_KEY (the GitHub App), or GITHUB_TOKEN with --org or --repo",
  );
}
