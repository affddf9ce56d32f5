/**
 * GitHub credentials for the command line (`changegate check owner/name#N`), from the environment:
 *   - APP_ID + PRIVATE_KEY (or PRIVATE_KEY_PATH): the app's JWT finds the repository's installation
 *     (`GET /repos/{owner}/{repo}/installation`), then an installation token reads as the app does;
 *   - else GITHUB_TOKEN: a token that can read the repository (its pull requests, contents, checks).
 * GHE_HOST / GHE_PROTOCOL point at GitHub Enterprise Server, as for the app. The environment is
 * parsed here with zod; no secret is ever part of an error message.
 */
import { readFileSync } from "node:fs";
import { ProbotOctokit } from "probot";
import { z } from "zod";
import type { OctokitLike } from "./types.js";

export interface CliGithub {
  /** REST (the emergency declarer's extra read); the command never writes through it. */
  octokit: OctokitLike;
  /** Token source for the GraphQL reader (github/reader.ts). */
  tokenSource: { auth(o: { type: "installation" }): Promise<unknown>; request: { endpoint: { DEFAULTS: { baseUrl: string } } } };
  installationId: number;
  /** The app's id (its own check run is not CI); 0 when unknown (token without APP_ID). */
  appId: number;
  /** How the command authenticated, for the user (never the secret). */
  via: string;
}

export class CredentialsError extends Error {}

const envSchema = z.object({
  APP_ID: z
    .string()
    .regex(/^\d{1,12}$/, "APP_ID must be the GitHub App's numeric id")
    .optional(),
  PRIVATE_KEY: z.string().min(1).optional(),
  PRIVATE_KEY_PATH: z.string().min(1).optional(),
  GITHUB_TOKEN: z.string().min(1).optional(),
  GHE_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(?::\d{1,5})?$/, "GHE_HOST must be a host name (and port), e.g. github.example.com")
    .optional(),
  GHE_PROTOCOL: z.enum(["https", "http"], { error: "GHE_PROTOCOL must be https or http" }).optional(),
});

export function githubBaseUrl(env: Record<string, string | undefined>): string {
  const e = parseEnv(env);
  return e.GHE_HOST ? `${e.GHE_PROTOCOL ?? "https"}://${e.GHE_HOST}/api/v3` : "https://api.github.com";
}

function parseEnv(env: Record<string, string | undefined>): z.output<typeof envSchema> {
  const blank = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v);
  const parsed = envSchema.safeParse({
    APP_ID: blank(env.APP_ID),
    PRIVATE_KEY: blank(env.PRIVATE_KEY),
    PRIVATE_KEY_PATH: blank(env.PRIVATE_KEY_PATH),
    GITHUB_TOKEN: blank(env.GITHUB_TOKEN),
    GHE_HOST: blank(env.GHE_HOST),
    GHE_PROTOCOL: blank(env.GHE_PROTOCOL),
  });
  // Messages only, never the values.
  if (!parsed.success) throw new CredentialsError(parsed.error.issues.map((i) => i.message).join("; "));
  return parsed.data;
}

/** Authenticate for reading `owner/repo`. Throws CredentialsError with a message naming what to set. */
export async function cliGithub(env: Record<string, string | undefined>, owner: string, repo: string): Promise<CliGithub> {
  const e = parseEnv(env);
  const baseUrl = githubBaseUrl(env);
  const common = { baseUrl, throttle: { enabled: false }, retry: { enabled: true, retries: 2 } };
  const privateKey = e.PRIVATE_KEY ? e.PRIVATE_KEY.replace(/\\n/g, "\n") : e.PRIVATE_KEY_PATH ? readKey(e.PRIVATE_KEY_PATH) : null;
  if (e.APP_ID && privateKey) {
    const appId = Number(e.APP_ID);
    const app = new ProbotOctokit({ ...common, auth: { appId, privateKey } });
    let installationId: number;
    try {
      const { data } = await app.request("GET /repos/{owner}/{repo}/installation", { owner, repo });
      installationId = z.object({ id: z.number().int().positive() }).parse(data).id;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 404) throw new CredentialsError(`the GitHub App ${appId} is not installed on ${owner}/${repo} (or cannot see it)`);
      if (status === 401) throw new CredentialsError(`GitHub refused the app's credentials (APP_ID ${appId} with this PRIVATE_KEY): ${(err as Error).message}`);
      throw err;
    }
    const octokit = new ProbotOctokit({ ...common, auth: { appId, privateKey, installationId } });
    return { octokit, tokenSource: octokit as never, installationId, appId, via: `GitHub App ${appId}, installation ${installationId}` };
  }
  if (e.APP_ID && !privateKey && !e.GITHUB_TOKEN) throw new CredentialsError("APP_ID is set but PRIVATE_KEY (or PRIVATE_KEY_PATH) is not");
  if (e.GITHUB_TOKEN) {
    const octokit = new ProbotOctokit({ ...common, auth: { token: e.GITHUB_TOKEN } });
    return { octokit, tokenSource: octokit as never, installationId: 0, appId: e.APP_ID ? Number(e.APP_ID) : 0, via: "GITHUB_TOKEN" };
  }
  throw new CredentialsError("no GitHub credentials: set APP_ID and PRIVATE_KEY (the app's, as for `npm start`), or GITHUB_TOKEN");
}

function readKey(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new CredentialsError(`cannot read PRIVATE_KEY_PATH ${path}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`);
  }
}
