/**
 * One installation of the app as something to walk (the scan, `audit completeness`): its account
 * and its clients. Built the same way by the app's scheduled scan (background/scan-wiring.ts) and the
 * command line (github/cli-auth.ts).
 */
import { createReader, type ReaderOptions, type GraphqlReader } from "./reader.js";
import type { OctokitLike } from "./types.js";

export interface GithubTarget {
  installationId: number;
  /** The account (organisation or user) the installation is on. */
  account: string;
  accountType: "Organization" | "User";
  octokit: OctokitLike;
  reader: GraphqlReader;
}

/** An item of `GET /app/installations`, as far as a target needs it. */
export interface InstallationItem {
  id: number;
  account: { login: string; type?: string } | null;
  suspended_at?: string | null;
}

/** Suspended installations and those without an account are not walked. */
export function walkable(
  inst: InstallationItem,
): inst is InstallationItem & { account: { login: string; type?: string } } {
  return inst.account !== null && !inst.suspended_at;
}

export function installationTarget(
  inst: InstallationItem & { account: { login: string; type?: string } },
  octokit: unknown,
  reader: ReaderOptions,
): GithubTarget {
  return {
    installationId: inst.id,
    account: inst.account.login,
    accountType: inst.account.type === "User" ? "User" : "Organization",
    octokit: octokit as OctokitLike,
    reader: createReader(inst.id, octokit as never, reader),
  };
}
