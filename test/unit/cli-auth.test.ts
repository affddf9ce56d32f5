/** The command line's one credentials module (src/github/cli-auth.ts): the environment, parsed and refused without secrets. */
import { describe, expect, test } from "@jest/globals";
import {
  CredentialsError,
  cliGithub,
  githubBaseUrl,
  githubClientFor,
  githubTargets,
} from "../../src/github/cli-auth.js";

const baseOf = (o: unknown) =>
  (o as { request: { endpoint: { DEFAULTS: { baseUrl: string } } } }).request.endpoint.DEFAULTS.baseUrl;

describe("cli-auth", () => {
  test("the API's address: GHE_HOST, else GITHUB_API_URL, else api.github.com", () => {
    expect(githubBaseUrl({})).toBe("https://api.github.com");
    expect(githubBaseUrl({ GHE_HOST: "ghe.example.com" })).toBe("https://ghe.example.com/api/v3");
    expect(githubBaseUrl({ GHE_HOST: "127.0.0.1:8080", GHE_PROTOCOL: "http" })).toBe(
      "http://127.0.0.1:8080/api/v3",
    );
    expect(githubBaseUrl({ GITHUB_API_URL: "https://ghe.example.com/api/v3/" })).toBe(
      "https://ghe.example.com/api/v3",
    );
    expect(githubBaseUrl({ GHE_HOST: "ghe.example.com", GITHUB_API_URL: "https://api.github.com" })).toBe(
      "https://ghe.example.com/api/v3",
    );
  });

  test("a malformed environment is refused naming the variable, never its value", async () => {
    const secret = "-----BEGIN RSA PRIVATE KEY-----secret";
    for (const env of [
      { APP_ID: "12x", PRIVATE_KEY: secret },
      { APP_ID: "0", PRIVATE_KEY: secret },
      { GHE_HOST: "evil.example.com/path?x=", GITHUB_TOKEN: "ghp_secret" },
      { GHE_PROTOCOL: "ftp", GITHUB_TOKEN: "ghp_secret" },
      { GITHUB_API_URL: "https://user:pw@ghe.example.com", GITHUB_TOKEN: "ghp_secret" },
    ]) {
      const err = await cliGithub(env, "acme", "svc").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CredentialsError);
      expect((err as Error).message).toMatch(/APP_ID|GHE_HOST|GHE_PROTOCOL|GITHUB_API_URL/);
      expect((err as Error).message).not.toMatch(/secret|pw@/);
    }
  });

  test("missing pieces: what to set", async () => {
    await expect(cliGithub({}, "acme", "svc")).rejects.toThrow(
      /no GitHub credentials: set APP_ID and PRIVATE_KEY/,
    );
    await expect(cliGithub({ APP_ID: "12" }, "acme", "svc")).rejects.toThrow(
      /APP_ID is set but PRIVATE_KEY \(or PRIVATE_KEY_PATH\) is not/,
    );
    await expect(
      cliGithub({ APP_ID: "12", PRIVATE_KEY_PATH: "/nonexistent/key.pem" }, "acme", "svc"),
    ).rejects.toThrow(/cannot read PRIVATE_KEY_PATH \/nonexistent\/key\.pem: ENOENT/);
    await expect(githubTargets({ GITHUB_TOKEN: "t" }, {})).rejects.toThrow(
      /with GITHUB_TOKEN, name what to read: --org ORG or --repo OWNER\/NAME/,
    );
    await expect(githubClientFor("not-a-repo", { GITHUB_TOKEN: "t" })).rejects.toThrow(CredentialsError);
  });

  test("a token: one target of installation 0 for the named account; githubClientFor prefers it over the app's key", async () => {
    const targets = await githubTargets(
      { GITHUB_TOKEN: "t", GHE_HOST: "ghe.example.com" },
      { repo: "acme/svc" },
    );
    expect(targets.map((t) => [t.installationId, t.account, t.accountType])).toEqual([
      [0, "acme", "Organization"],
    ]);
    expect(baseOf(targets[0]!.octokit)).toBe("https://ghe.example.com/api/v3");
    // With APP_ID + PRIVATE_KEY too, no installation lookup is made (it would fail: no such host).
    const client = await githubClientFor("acme/svc", {
      GITHUB_TOKEN: "t",
      APP_ID: "12",
      PRIVATE_KEY: "k",
      GHE_HOST: "invalid.invalid",
    });
    expect(baseOf(client)).toBe("https://invalid.invalid/api/v3");
    const viaToken = await cliGithub({ GITHUB_TOKEN: "t" }, "acme", "svc");
    expect(viaToken).toMatchObject({ installationId: 0, appId: 0, via: "GITHUB_TOKEN" });
  });
});
