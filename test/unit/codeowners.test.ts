import { describe, expect, test } from "@jest/globals";
import { ownersOf, parseCodeowners, pickCodeowners } from "../../src/policy/codeowners.js";

const owners = (text: string, file: string) =>
  ownersOf(parseCodeowners(".github/CODEOWNERS", text), file)?.owners.map((o) =>
    o.kind === "user" ? `@${o.login}` : o.kind === "team" ? `@${o.team}` : o.email,
  ) ?? null;

describe("CODEOWNERS (GitHub's rules)", () => {
  test("the last matching line wins", () => {
    const text = "* @global\n*.js @js-owner\ninfra/ @acme/sre\n";
    expect(owners(text, "README.md")).toEqual(["@global"]);
    expect(owners(text, "src/app.js")).toEqual(["@js-owner"]);
    expect(owners(text, "infra/main.js")).toEqual(["@acme/sre"]);
  });

  test("team, user and e-mail owners; a matching line without owners leaves the file unowned", () => {
    const text = "/apps/ @octocat @Acme/Web docs@example.com\n/apps/github\n";
    expect(owners(text, "apps/x.ts")).toEqual(["@octocat", "@acme/web", "docs@example.com"]);
    expect(owners(text, "apps/github/y.ts")).toEqual([]);
    expect(owners(text, "other/z.ts")).toBeNull();
  });

  test("anchoring: a leading or middle slash anchors at the root; otherwise any depth", () => {
    expect(owners("apps/ @a", "deep/apps/x")).toEqual(["@a"]); // GitHub: "any file in an apps directory anywhere"
    expect(owners("apps/ @a", "apps")).toBeNull(); // a trailing slash matches directories only
    expect(owners("logs @a", "build/logs/x.txt")).toEqual(["@a"]);
    expect(owners("/logs @a", "build/logs/x.txt")).toBeNull();
    expect(owners("**/logs @a", "deeply/nested/logs/x")).toEqual(["@a"]);
    expect(owners("docs/* @a", "docs/getting-started.md")).toEqual(["@a"]);
    expect(owners("docs/* @a", "docs/build-app/troubleshooting.md")).toBeNull();
    expect(owners("apps/** @a", "apps/a/b/c")).toEqual(["@a"]);
    expect(owners("*.go @a", "src/x.go")).toEqual(["@a"]);
    expect(owners("?.md @a", "a.md")).toEqual(["@a"]);
    expect(owners("?.md @a", "ab.md")).toBeNull();
  });

  test("paths are case-sensitive", () => {
    expect(owners("/Infra/ @a", "infra/x")).toBeNull();
  });

  test("what does not work in CODEOWNERS is skipped and reported: !, [ ], \\#", () => {
    const co = parseCodeowners(
      "CODEOWNERS",
      "* @all\n!secret @b\n*.[ch] @c\n\\#file @d\nok.txt notAnOwner\n# comment\n",
    );
    expect(co.entries.map((e) => e.pattern)).toEqual(["*"]);
    expect(co.errors.map((e) => e.line)).toEqual([2, 3, 4, 5]);
    expect(ownersOf(co, "x.c")?.owners).toEqual([{ kind: "user", login: "all" }]);
  });

  test("a trailing comment is not an owner", () => {
    expect(owners("*.ts @a # the TypeScript people", "x.ts")).toEqual(["@a"]);
  });

  test("hostile patterns are refused cheaply", () => {
    const co = parseCodeowners("CODEOWNERS", `${"*/".repeat(40)}x @a\n${"a".repeat(5000)} @b\n`);
    expect(co.entries).toHaveLength(0);
    expect(co.errors).toHaveLength(2);
  });

  test("the first file found wins: .github/, root, docs/", () => {
    expect(pickCodeowners({ "docs/CODEOWNERS": "d", CODEOWNERS: "r" })).toEqual({
      path: "CODEOWNERS",
      text: "r",
    });
    expect(pickCodeowners({ ".github/CODEOWNERS": "g", CODEOWNERS: "r" })).toEqual({
      path: ".github/CODEOWNERS",
      text: "g",
    });
    expect(pickCodeowners({ "docs/CODEOWNERS": "d" })).toEqual({ path: "docs/CODEOWNERS", text: "d" });
    expect(pickCodeowners({})).toBeNull();
  });
});
