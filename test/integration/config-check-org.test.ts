/**
 * `changegate config check` on the org file (the owner's `.github` repository's
 * `.github/changegate.yml`): checked as the app reads it — `enforce:` allowed, its floors validated
 * with key paths and lines — with `--org`, or by default in a checkout of owner/.github (its git
 * remote, GITHUB_REPOSITORY, or the directory's name). A repository's own file with `enforce:` is
 * still refused, with a hint. The good org file is the docs' own example (test/helpers/docs.ts).
 */
import { afterAll, describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT } from "../../src/cli.js";
import { repoOfRemote } from "../../src/commands/config-check.js";
import { runCli } from "../helpers/cli-run.js";
import { orgExample } from "../helpers/docs.js";

const tmp = mkdtempSync(join(tmpdir(), "changegate-org-check-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A checkout at tmp/<dir> with .github/changegate.yml = text, and a git remote origin when given. */
function checkout(dir: string, text: string, remote?: string): string {
  const root = join(tmp, dir);
  mkdirSync(join(root, ".github"), { recursive: true });
  writeFileSync(join(root, ".github", "changegate.yml"), text);
  if (remote !== undefined) {
    const git = (...args: string[]) =>
      expect(spawnSync("git", ["-C", root, ...args], { encoding: "utf8" }).status).toBe(0);
    git("init", "-q");
    git("remote", "add", "origin", remote);
  }
  return root;
}

const check = (args: string[], cwd: string, env: Record<string, string | undefined> = {}) =>
  runCli(["config", "check", ...args], env, cwd);

const BROKEN_FLOOR =
  "approvals:\n  required: 1\nenforce:\n  approvals:\n    required: 2\n    dismiss_stale: false\n  ticket:\n    required: true\n";

describe("the org file", () => {
  test("the docs' org example with --org: valid, checked as the org file with its floors", async () => {
    const root = checkout("plain", orgExample());
    const r = await check(["--org"], root);
    expect(r.stderr).toMatch(
      /note: checked as the org file <owner>\/\.github:\.github\/changegate\.yml \(--org\)/,
    );
    expect(r.stdout).toMatch(
      /^\.github\/changegate\.yml: valid changegate org policy \(enforce: floors included\)/,
    );
    // The .github repository's own policy is its file with its floors applied: 2 approvals, not 1.
    expect(r.stdout).toMatch(/approvals:\n {2}required: 2\n/);
    // Its floor's branches are added to its default branch, which a checkout without origin/HEAD cannot name.
    expect(r.stdout).toMatch(/branches:\n {2}- <default branch>\n {2}- main\n {2}- release\/\*\n/);
    expect(r.code).toBe(EXIT.ok);
  });

  test("by default in a checkout of owner/.github: from the git remote, GITHUB_REPOSITORY, or the directory's name", async () => {
    const byRemote = await check(
      [],
      checkout("acme-dotgithub", orgExample(), "git@github.com:acme/.github.git"),
    );
    expect(byRemote.stderr).toMatch(
      /checked as the org file acme\/\.github:\.github\/changegate\.yml \(the checkout is acme\/\.github, from its git remote origin \(git@github\.com:acme\/\.github\.git\)\)/,
    );
    expect(byRemote.code).toBe(EXIT.ok);

    const byActions = await check([".github/changegate.yml"], checkout("workspace", orgExample()), {
      GITHUB_ACTIONS: "true",
      GITHUB_REPOSITORY: "acme/.github",
    });
    expect(byActions.stderr).toMatch(
      /checked as the org file acme\/\.github:.*from GITHUB_REPOSITORY \(acme\/\.github\)/,
    );
    expect(byActions.code).toBe(EXIT.ok);

    const byName = await check([], checkout(join("clones", ".github"), orgExample()));
    expect(byName.stderr).toMatch(
      /checked as the org file <owner>\/\.github:.*\(the checkout's directory is named \.github\)/,
    );
    expect(byName.code).toBe(EXIT.ok);
  });

  test("a malformed floor: exit 1, each problem with its key path and line (in Actions, an annotation)", async () => {
    const root = checkout("broken-floor", BROKEN_FLOOR, "https://github.com/acme/.github");
    const r = await check([], root, { GITHUB_ACTIONS: "true", GITHUB_REPOSITORY: "acme/.github" });
    expect(r.stderr).toContain(".github/changegate.yml: not a valid changegate policy (2 problems)\n");
    expect(r.stderr).toMatch(
      / {2}line 6: enforce\.approvals\.dismiss_stale: a floor can only set approvals\.dismiss_stale: true/,
    );
    expect(r.stderr).toMatch(/ {2}line 7: enforce\.ticket: unknown key/);
    expect(r.stdout).toMatch(/^::error file=\.github\/changegate\.yml,line=6,/m);
    expect(r.code).toBe(EXIT.failed);
  });

  test("floors no file could satisfy (tickets required, no project named anywhere): invalid", async () => {
    const r = await check(
      ["--org", "--json"],
      checkout("no-projects", "enforce:\n  tickets:\n    required: true\n"),
    );
    const out = JSON.parse(r.stdout) as { valid: boolean; checkedAs: string; problems: { path: string }[] };
    expect(out).toMatchObject({ valid: false, checkedAs: "org" });
    expect(out.problems.map((p) => p.path)).toEqual(["tickets.projects"]);
    expect(r.code).toBe(EXIT.failed);
  });
});

describe("a repository's own file", () => {
  test("with enforce: is refused, saying where floors live and that --org checks an org file", async () => {
    const root = checkout("payments", orgExample(), "https://github.com/acme/payments.git");
    const r = await check([], root);
    expect(r.stderr).toMatch(
      / {2}line \d+: enforce: floors are read only from the owner's \.github repository .* \(if this is the org's file, check it with --org\)/,
    );
    expect(r.code).toBe(EXIT.failed);
    // --repo checks even the .github repository's file as a repository's own.
    const forced = await check(
      ["--repo"],
      checkout("acme-dotgithub-2", orgExample(), "https://github.com/acme/.github"),
    );
    expect(forced.code).toBe(EXIT.failed);
    expect(forced.stderr).not.toMatch(/checked as the org file/);
  });

  test("--org and --repo together are refused; a file elsewhere in the tree is never the org file", async () => {
    const root = checkout("acme-dotgithub-3", orgExample(), "https://github.com/acme/.github");
    expect((await check(["--org", "--repo"], root)).code).toBe(EXIT.usage);
    writeFileSync(join(root, "proposed.yml"), orgExample());
    expect((await check(["proposed.yml"], root)).code).toBe(EXIT.failed);
    expect((await check(["--org", "proposed.yml"], root)).code).toBe(EXIT.ok);
  });

  test("remote URLs: https, ssh, scp-like, with or without .git", () => {
    expect(repoOfRemote("https://github.com/acme/.github.git\n")).toBe("acme/.github");
    expect(repoOfRemote("git@github.com:acme/.github")).toBe("acme/.github");
    expect(repoOfRemote("ssh://git@ghe.example.com/acme/payments.git")).toBe("acme/payments");
    expect(repoOfRemote("not a url")).toBeNull();
  });
});
