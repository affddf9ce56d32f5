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

const envSchema = z.object({
  APP_ID: z
    .string()
    .regex(/^\d{1,12}$/, "APP_ID must be the GitHub App's numeric id")
    .refine((v) => Number(v) > 0, "APP_ID must be the GitHub App's numeric id")
    .optional(),
  PRIVATE_KEY: z.string().min(1).optional(),
  PRIVATE_KEY_PATH: z.string().min(1).optional(),
  GITHUB_TOKEN: z.string().min(1).optional(),
  GHE_HOST: z
    .string()
    .regex(
      /^[A-Za-z0-9.-]+(?::\d{1,5})?$/,
      "GHE_HOST must be a host name (and port), e.g. github.example.com",
    )
    .optional(),
  GHE_PROTOCOL: z.enum(["https", "http"], { error: "GHE_PROTOCOL must be https or http" }).optional(),
  GITHUB_API_URL: z
    .string()
    .regex(
      /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(\/[\w./-]*)?$/,
      "GITHUB_API_URL must be an http(s) URL without credentials, e.g. https://api.github.com",
    )
    .optional(),
});

type CliEnv = z.output<typeof envSchema>;

function parseEnv(env: Record<string, string | undefined>): CliEnv {
  const blank = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v.trim());
  const parsed = envSchema.safeParse({
    APP_ID: blank(env.APP_ID),
    PRIVATE_KEY: env.PRIVATE_KEY === undefined || env.PRIVATE_KEY.trim() === "" ? undefined : env.PRIVATE_KEY,
    PRIVATE_KEY_PATH: blank(env.PRIVATE_KEY_PATH),
    GITHUB_TOKEN: blank(env.GITHUB_TOKEN),
    GHE_HOST: blank(env.GHE_HOST),
    GHE_PROTOCOL: blank(env.GHE_PROTOCOL),
    GITHUB_API_URL: blank(env.GITHUB_API_URL),
  });
  // Messages only, never the values.
  if (!parsed.success) throw new CredentialsError(parsed.error.issues.map((i) => i.message).join("; "));
  return parsed.data;
}

function baseUrlOf(e: CliEnv): string {
  if (e.GHE_HOST) return `${e.GHE_PROTOCOL ?? "https"}://${e.GHE_HOST}/api/v3`;
  if (e.GITHUB_API_URL) return e.GITHUB_API_URL.replace(/\/+$/, "");
  return "https://api.github.com";
}

export function githubBaseUrl(env: Record<string, string | undefined>): string {
  return baseUrlOf(parseEnv(env));
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

function appKey(e: CliEnv): string | null {
  return e.PRIVATE_KEY
    ? e.PRIVATE_KEY.replace(/\\n/g, "\n")
    : e.PRIVATE_KEY_PATH
      ? readKey(e.PRIVATE_KEY_PATH)
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
  env: Record<string, string | undefined>,
  owner: string,
  repo: string,
  opts: { preferToken?: boolean } = {},
): Promise<CliGithub> {
  const e = parseEnv(env);
  const common = clientOptions(baseUrlOf(e));
  const viaToken = (): CliGithub => {
    const octokit = new ProbotOctokit({ ...common, auth: { token: e.GITHUB_TOKEN! } });
    return {
      octokit: octokit as unknown as OctokitLike,
      tokenSource: octokit as never,
      installationId: 0,
      appId: e.APP_ID ? Number(e.APP_ID) : 0,
      via: "GITHUB_TOKEN",
    };
  };
  if (opts.preferToken && e.GITHUB_TOKEN) return viaToken();
  const privateKey = appKey(e);
  if (e.APP_ID && privateKey) {
    const appId = Number(e.APP_ID);
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
  if (e.APP_ID && !privateKey && !e.GITHUB_TOKEN)
    throw new CredentialsError("APP_ID is set but PRIVATE_KEY (or PRIVATE_KEY_PATH) is not");
  if (e.GITHUB_TOKEN) return viaToken();
  throw new CredentialsError(
    `no GitHub credentials: set APP_ID and PRIVATE_KEY (the app's, as for \`npm start\`), or GITHUB_TOKEN`,
  );
}

/** A REST client for one repository "owner/name" (`audit checkpoint`, `audit verify --from-issue`, `audit report`, the checkpoint timer). GITHUB_TOKEN first. */
export async function githubClientFor(
  repo: string,
  env: Record<string, string | undefined>,
): Promise<OctokitLike> {
  const [owner, name] = repo.split("/");
  if (!owner || !name) throw new CredentialsError(`${JSON.stringify(repo)}: expected owner/name`);
  return (await cliGithub(env, owner, name, { preferToken: true })).octokit;
}

const installationItem = z.object({
  id: z.number().int().positive(),
  account: z.object({ login: z.string(), type: z.string().optional() }).passthrough().nullable(),
  suspended_at: z.string().nullable().optional(),
});

/** The installations to walk (`audit scan`, `audit completeness`); `only` narrows to one account (an --org, or a --repo's owner). */
export async function githubTargets(
  env: Record<string, string | undefined>,
  only: { org?: string; repo?: string },
): Promise<GithubTarget[]> {
  const e = parseEnv(env);
  const common = clientOptions(baseUrlOf(e));
  const owner = only.repo?.split("/")[0] ?? only.org;
  const privateKey = appKey(e);
  if (e.APP_ID && privateKey) {
    const appId = Number(e.APP_ID);
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
  if (e.APP_ID && !privateKey && !e.GITHUB_TOKEN)
    throw new CredentialsError("APP_ID is set but PRIVATE_KEY (or PRIVATE_KEY_PATH) is not");
  if (e.GITHUB_TOKEN) {
    if (!owner)
      throw new CredentialsError("with GITHUB_TOKEN, name what to read: --org ORG or --repo OWNER/NAME");
    const octokit = new ProbotOctokit({ ...common, auth: { token: e.GITHUB_TOKEN } });
    return [installationTarget({ id: 0, account: { login: owner } }, octokit, defaultReaderOptions)];
  }
  throw new CredentialsError(
    "no GitHub credentials: set APP_ID and PRIVATE_KEY (the GitHub App), or GITHUB_TOKEN with --org or --repo",
  );
}
