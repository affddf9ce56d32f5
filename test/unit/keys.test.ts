/**
 * Ticket key extraction (src/jira/keys.ts), in one file: every distinct key of the configured
 * projects from every configured source, on boundaries, never UTF-8 / SHA-256 / dates, branch
 * names case-insensitive; sources, sorting and regex safety.
 */
import { describe, expect, test } from "@jest/globals";
import { extractTicketKeys } from "../../src/jira/keys.js";
import type { TicketSource } from "../../src/policy/types.js";

const ALL: TicketSource[] = ["title", "branch", "body", "commits"];

function inTitle(title: string, projects: string[] = ["OPS"]): string[] {
  return extractTicketKeys({ title, body: "", headRef: "feature" }, [], projects, ALL).map((r) => r.key);
}

describe("what is a key", () => {
  test.each<[string, string[], string[]]>([
    ["OPS-12 fix login", ["OPS"], ["OPS-12"]],
    ["Fix login (OPS-12)", ["OPS"], ["OPS-12"]],
    ["[OPS-12] fix", ["OPS"], ["OPS-12"]],
    ["OPS-12: fix", ["OPS"], ["OPS-12"]],
    ["fix OPS-12.", ["OPS"], ["OPS-12"]],
    ["feature/OPS-12-login", ["OPS"], ["OPS-12"]],
    ["OPS-12,OPS-13", ["OPS"], ["OPS-12", "OPS-13"]],
    ["OPS-1234567890", ["OPS"], ["OPS-1234567890"]],
    // only configured projects
    ["SEC-4 and OPS-5", ["OPS"], ["OPS-5"]],
    ["SEC-4 and OPS-5", ["SEC", "OPS"], ["OPS-5", "SEC-4"]],
    ["ABC-1", [], []],
    // word boundaries
    ["UTF-8 everywhere", ["UTF", "TF"], ["UTF-8"]],
    ["UTF-8 everywhere", ["TF"], []],
    ["SHA-256 digest", ["HA"], []],
    ["branch 2023-04-11-245a825", ["OPS"], []],
    ["XOPS-12", ["OPS"], []],
    ["OPS-12a", ["OPS"], []],
    // an underscore separates (markdown `_OPS-12_`, branch `OPS-12_fix`) unless it joins a longer key
    ["OPS-12_fix", ["OPS"], ["OPS-12"]],
    ["_OPS-12_", ["OPS"], ["OPS-12"]],
    ["MY_OPS-12", ["OPS"], []],
    ["MY_OPS-12", ["OPS", "MY_OPS"], ["MY_OPS-12"]],
    ["1_OPS-12", ["OPS"], []],
    ["9OPS-12", ["OPS"], []],
    ["OPS-0", ["OPS"], []],
    ["OPS-012", ["OPS"], []],
    ["OPS-", ["OPS"], []],
    ["OPS 12", ["OPS"], []],
    ["OPS-12345678901", ["OPS"], []],
    // title is case-sensitive
    ["ops-12 fix", ["OPS"], []],
    ["Ops-12 fix", ["OPS"], []],
    // project keys with digits and underscore
    ["A1-5 and SEC_OPS-7", ["A1", "SEC_OPS"], ["A1-5", "SEC_OPS-7"]],
    ["XA1-5", ["A1"], []],
    // one project a prefix of another
    ["OPSX-3 OPS-4", ["OPS", "OPSX"], ["OPS-4", "OPSX-3"]],
    ["OPSX-3", ["OPS"], []],
  ])("%j with projects %j → %j", (text, projects, keys) => {
    expect(inTitle(text, projects)).toEqual(keys);
  });
});

describe("sources", () => {
  const pr = {
    title: "OPS-1 title",
    headRef: "ops-2-fix-login",
    body: "Closes OPS-3.\nAlso OPS-1.",
  };
  const commits = [
    { message: "OPS-4 first", isMerge: false },
    { message: "Merge branch 'main' (OPS-5)", isMerge: true },
    { message: "second\n\nRefs OPS-3 and OPS-6", isMerge: false },
  ];

  test("all distinct keys from all sources, with every place each was found, sorted", () => {
    expect(extractTicketKeys(pr, commits, ["OPS"], ALL)).toEqual([
      { key: "OPS-1", foundIn: ["title", "body"] },
      { key: "OPS-2", foundIn: ["branch"] },
      { key: "OPS-3", foundIn: ["body", "commits"] },
      { key: "OPS-4", foundIn: ["commits"] },
      { key: "OPS-6", foundIn: ["commits"] },
    ]);
  });

  test.each<[TicketSource[], string[]]>([
    [["title"], ["OPS-1"]],
    [["branch"], ["OPS-2"]],
    [["body"], ["OPS-1", "OPS-3"]],
    [["commits"], ["OPS-3", "OPS-4", "OPS-6"]],
    [
      ["title", "branch"],
      ["OPS-1", "OPS-2"],
    ],
    [[], []],
  ])("only the configured sources %j", (sources, keys) => {
    expect(extractTicketKeys(pr, commits, ["OPS"], sources).map((r) => r.key)).toEqual(keys);
  });

  test("foundIn follows the canonical order, whatever the configured order", () => {
    const r = extractTicketKeys(
      { title: "OPS-1", headRef: "OPS-1", body: "OPS-1" },
      [{ message: "OPS-1", isMerge: false }],
      ["OPS"],
      ["commits", "body", "branch", "title"],
    );
    expect(r).toEqual([{ key: "OPS-1", foundIn: ["title", "branch", "body", "commits"] }]);
  });

  test("merge commits are ignored", () => {
    expect(
      extractTicketKeys(
        { title: "", headRef: "x", body: "" },
        [{ message: "Merge OPS-9", isMerge: true }],
        ["OPS"],
        ALL,
      ),
    ).toEqual([]);
  });

  test.each<[string, string[]]>([
    ["ops-12-fix-login", ["OPS-12"]],
    ["feature/Ops-12", ["OPS-12"]],
    ["OPS-12", ["OPS-12"]],
    ["sec_ops-3-x", ["SEC_OPS-3"]],
    ["xops-12", []],
    ["2023-04-11-245a825", []],
    ["ops-0", []],
  ])("branch %j matches case-insensitively → %j", (headRef, keys) => {
    expect(
      extractTicketKeys({ title: "", headRef, body: "" }, [], ["OPS", "SEC_OPS"], ["branch"]).map(
        (r) => r.key,
      ),
    ).toEqual(keys);
  });

  test.each<[TicketSource, string]>([
    ["title", "ops-12"],
    ["body", "see ops-12"],
    ["commits", "ops-12 fix"],
  ])("%s is case-sensitive", (source, text) => {
    const pr = { title: source === "title" ? text : "", body: source === "body" ? text : "", headRef: "x" };
    const commits = source === "commits" ? [{ message: text, isMerge: false }] : [];
    expect(extractTicketKeys(pr, commits, ["OPS"], [source])).toEqual([]);
    const upper = { title: pr.title.toUpperCase(), body: pr.body.toUpperCase(), headRef: "x" };
    const upperCommits = commits.map((c) => ({ ...c, message: c.message.toUpperCase() }));
    expect(extractTicketKeys(upper, upperCommits, ["OPS"], [source]).map((r) => r.key)).toEqual(["OPS-12"]);
  });

  test("a key repeated many times is listed once", () => {
    const r = extractTicketKeys(
      { title: "OPS-1 OPS-1", headRef: "OPS-1", body: "OPS-1 ".repeat(100) },
      [],
      ["OPS"],
      ALL,
    );
    expect(r).toEqual([{ key: "OPS-1", foundIn: ["title", "branch", "body"] }]);
  });
});

describe("sorting", () => {
  test("by project, then numerically", () => {
    expect(inTitle("OPS-10 OPS-9 ABC-100 OPS-100 ABC-2", ["OPS", "ABC"])).toEqual([
      "ABC-2",
      "ABC-100",
      "OPS-9",
      "OPS-10",
      "OPS-100",
    ]);
  });

  test("the result does not depend on the order keys appear", () => {
    const a = inTitle("OPS-3 SEC-1 OPS-1", ["OPS", "SEC"]);
    const b = inTitle("OPS-1 OPS-3 SEC-1", ["OPS", "SEC"]);
    expect(a).toEqual(b);
  });
});

describe("regex safety", () => {
  test("configured keys are validated upstream, but special characters are escaped anyway", () => {
    expect(inTitle("A.B-1 AXB-2", ["A.B"])).toEqual(["A.B-1"]);
    expect(inTitle("A+-1 AA-2", ["A+"])).toEqual(["A+-1"]);
    expect(inTitle("X|Y-1 X-2 Y-3", ["X|Y"])).toEqual(["X|Y-1"]);
    expect(() => inTitle("anything", ["(", "[", "\\"])).not.toThrow();
  });

  test("a long hostile text is scanned quickly enough to finish (no catastrophic backtracking)", () => {
    expect(inTitle(`${"OPS-".repeat(20_000)}1 ${"A".repeat(50_000)}`)).toEqual(["OPS-1"]);
    expect(inTitle(`${"XOPS-".repeat(20_000)}0`)).toEqual([]);
    expect(inTitle(`${"x ".repeat(20_000)}OPS-7`)).toEqual(["OPS-7"]);
  });
});

function keys(
  text: { title?: string; branch?: string; body?: string; commits?: string[] },
  projects = ["OPS"],
  sources = ALL,
): string[] {
  return extractTicketKeys(
    { title: text.title ?? "", headRef: text.branch ?? "", body: text.body ?? "" },
    (text.commits ?? []).map((message) => ({ message, isMerge: false })),
    projects,
    sources,
  ).map((r) => r.key);
}

describe("extractTicketKeys", () => {
  test.each<[string, Parameters<typeof keys>[0], string[], string[]?]>([
    ["a key in the title", { title: "OPS-12 rotate keys" }, ["OPS-12"]],
    ["all keys, not the first or last", { title: "OPS-3, OPS-12 and OPS-7" }, ["OPS-3", "OPS-7", "OPS-12"]],
    ["numeric order, not string order", { body: "OPS-100 OPS-20 OPS-3" }, ["OPS-3", "OPS-20", "OPS-100"]],
    ["branch name, lower case", { branch: "ops-12-fix-login" }, ["OPS-12"]],
    ["branch name with a prefix", { branch: "feature/OPS-12-login" }, ["OPS-12"]],
    ["branch name with underscores", { branch: "OPS-12_fix_login" }, ["OPS-12"]],
    ["markdown italics around a key", { body: "see _OPS-12_ and *OPS-13*" }, ["OPS-12", "OPS-13"]],
    ["title is case-sensitive (ops-12 in prose is not a key)", { title: "ops-12 the number" }, []],
    ["UTF-8 and SHA-256 are not tickets", { title: "UTF-8 fix, SHA-256 digests", body: "ISO-8601" }, []],
    ["a date-like branch is not a ticket", { branch: "2023-04-11-245a825" }, [], ["OPS"]],
    ["a date-like branch even with a numeric-looking project", { branch: "2023-04-11-245a825" }, [], ["X"]],
    ["a longer project key that merely ends like ours", { title: "DEVOPS-12" }, []],
    ["digits glued to the number", { title: "OPS-12a OPS-12b" }, []],
    ["no leading zero (Jira never issues OPS-012)", { title: "OPS-012 OPS-0" }, []],
    [
      "punctuation around keys",
      { body: "(OPS-1) [OPS-2] OPS-3. OPS-4, OPS-5/OPS-6: 'OPS-7'" },
      ["OPS-1", "OPS-2", "OPS-3", "OPS-4", "OPS-5", "OPS-6", "OPS-7"],
    ],
    ["a browse URL", { body: "https://acme.atlassian.net/browse/OPS-42" }, ["OPS-42"]],
    ["only configured projects", { title: "OPS-1 CHG-2 SEC-3" }, ["CHG-2", "OPS-1"], ["OPS", "CHG"]],
    ["a longer underscore project key is not ours", { title: "MY_OPS-6" }, []],
    [
      "project keys with digits and underscore",
      { title: "P2P-5 and MY_PROJ-6" },
      ["MY_PROJ-6", "P2P-5"],
      ["P2P", "MY_PROJ"],
    ],
    ["no projects configured: nothing", { title: "OPS-1" }, [], []],
    [
      "the same key in several places is one key",
      { title: "OPS-9", branch: "ops-9-x", body: "OPS-9", commits: ["OPS-9 wip"] },
      ["OPS-9"],
    ],
  ])("%s", (_name, text, expected, projects = ["OPS"]) => {
    expect(keys(text, projects)).toStrictEqual(expected);
  });

  test("records every place a key was found, in source order", () => {
    const refs = extractTicketKeys(
      { title: "OPS-9 fix", headRef: "ops-9-fix", body: "Refs OPS-10" },
      [
        { message: "OPS-10: more", isMerge: false },
        { message: "Merge branch 'main' (OPS-11)", isMerge: true },
      ],
      ["OPS"],
      ALL,
    );
    expect(refs).toStrictEqual([
      { key: "OPS-9", foundIn: ["title", "branch"] },
      { key: "OPS-10", foundIn: ["body", "commits"] },
    ]);
  });

  test("only the configured sources are read", () => {
    expect(
      keys(
        { title: "OPS-1", branch: "OPS-2", body: "OPS-3", commits: ["OPS-4"] },
        ["OPS"],
        ["branch", "commits"],
      ),
    ).toStrictEqual(["OPS-2", "OPS-4"]);
  });
});
