/**
 * Ticket key extraction, table-driven: every distinct key of the configured projects from every
 * configured source, on boundaries, never UTF-8 / SHA-256 / dates, branch names case-insensitive.
 */
import { describe, expect, test } from "@jest/globals";
import { extractTicketKeys } from "../../src/jira/keys.js";
import type { TicketSource } from "../../src/policy/types.js";

const ALL: TicketSource[] = ["title", "branch", "body", "commits"];

function keys(text: { title?: string; branch?: string; body?: string; commits?: string[] }, projects = ["OPS"], sources = ALL): string[] {
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
    ["punctuation around keys", { body: "(OPS-1) [OPS-2] OPS-3. OPS-4, OPS-5/OPS-6: 'OPS-7'" }, ["OPS-1", "OPS-2", "OPS-3", "OPS-4", "OPS-5", "OPS-6", "OPS-7"]],
    ["a browse URL", { body: "https://acme.atlassian.net/browse/OPS-42" }, ["OPS-42"]],
    ["only configured projects", { title: "OPS-1 CHG-2 SEC-3" }, ["CHG-2", "OPS-1"], ["OPS", "CHG"]],
    ["a longer underscore project key is not ours", { title: "MY_OPS-6" }, []],
    ["project keys with digits and underscore", { title: "P2P-5 and MY_PROJ-6" }, ["MY_PROJ-6", "P2P-5"], ["P2P", "MY_PROJ"]],
    ["no projects configured: nothing", { title: "OPS-1" }, [], []],
    ["the same key in several places is one key", { title: "OPS-9", branch: "ops-9-x", body: "OPS-9", commits: ["OPS-9 wip"] }, ["OPS-9"]],
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
    expect(keys({ title: "OPS-1", branch: "OPS-2", body: "OPS-3", commits: ["OPS-4"] }, ["OPS"], ["branch", "commits"])).toStrictEqual(["OPS-2", "OPS-4"]);
  });
});
