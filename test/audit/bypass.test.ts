import { describe, expect, test } from "@jest/globals";
import { reportBypass, type IssueWriter } from "../../src/github/bypass-issue.js";
import { isBypass } from "../../src/policy/merge.js";
import { BYPASS_LABEL, bypassMarker } from "../../src/report/bypass.js";
import { merge } from "./records.js";

/** A fake Octokit: answers by route, records every request. */
function fakeWriter(
  answers: Record<string, unknown>,
): IssueWriter & { calls: { route: string; params: Record<string, unknown> }[] } {
  const calls: { route: string; params: Record<string, unknown> }[] = [];
  return {
    calls,
    async request(route, params) {
      calls.push({ route, params });
      if (!(route in answers)) throw new Error(`unexpected ${route}`);
      return { data: answers[route] };
    },
  };
}

describe("isBypass", () => {
  test("anything but success on a gated branch; an unknown gate counts as gated", () => {
    expect(isBypass({ outcome: "success", gated: true })).toBe(false);
    expect(isBypass({ outcome: "failure", gated: true })).toBe(true);
    expect(isBypass({ outcome: "pending", gated: true })).toBe(true);
    expect(isBypass({ outcome: "none", gated: true })).toBe(true);
    expect(isBypass({ outcome: "failure", gated: false })).toBe(false);
    expect(isBypass({ outcome: "none" })).toBe(true);
  });
});

describe("reportBypass", () => {
  const bypass = merge({
    number: 12,
    outcome: "failure",
    mergedBy: "mallory",
    title: "@everyone <b>hotfix</b> #3",
  });

  test("no open bypass issue for the repository: one GET, then one new issue with label and marker", async () => {
    const w = fakeWriter({
      "GET /repos/{owner}/{repo}/issues": [
        { number: 3, body: bypassMarker("acme/other"), pull_request: undefined },
        { number: 4, body: bypassMarker("acme/payments"), pull_request: { url: "x" } }, // a PR, not an issue
      ],
      "POST /repos/{owner}/{repo}/issues": { number: 41 },
    });
    expect(await reportBypass(w, "acme/compliance", bypass, "acme/payments@7")).toEqual({
      issueNumber: 41,
      created: true,
    });
    expect(w.calls.map((c) => c.route)).toEqual([
      "GET /repos/{owner}/{repo}/issues",
      "POST /repos/{owner}/{repo}/issues",
    ]);
    expect(w.calls[0]!.params).toEqual({
      owner: "acme",
      repo: "compliance",
      state: "open",
      labels: BYPASS_LABEL,
      per_page: 100,
    });
    const created = w.calls[1]!.params as { title: string; body: string; labels: string[] };
    expect(created.title).toBe("changegate: non-compliant merges in acme/payments");
    expect(created.labels).toEqual([BYPASS_LABEL]);
    expect(created.body.startsWith(bypassMarker("acme/payments"))).toBe(true);
    expect(created.body).toContain("[acme/payments\\#\u200b12](https://github.com/acme/payments/pull/12)");
    expect(created.body).toContain("**failure**");
    expect(created.body).toContain("`acme/payments@7`");
    // User text is escaped: no mention, no HTML.
    expect(created.body).not.toMatch(/@everyone/);
    expect(created.body).not.toContain("<b>");
  });

  test("an open bypass issue for the repository: a comment on it", async () => {
    const w = fakeWriter({
      "GET /repos/{owner}/{repo}/issues": [
        { number: 9, body: `${bypassMarker("ACME/Payments")}\nearlier bypasses` },
      ],
      "POST /repos/{owner}/{repo}/issues/{issue_number}/comments": { id: 1 },
    });
    expect(await reportBypass(w, "acme/compliance", bypass)).toEqual({ issueNumber: 9, created: false });
    expect(w.calls[1]!.params).toMatchObject({ owner: "acme", repo: "compliance", issue_number: 9 });
    expect((w.calls[1]!.params as { body: string }).body).toMatch(/merged by: `mallory`/);
  });

  test("a bad issue_repo or a failing API is an error for the caller to log", async () => {
    await expect(reportBypass(fakeWriter({}), "compliance", bypass)).rejects.toThrow(/owner\/name/);
    await expect(reportBypass(fakeWriter({}), "acme/compliance", bypass)).rejects.toThrow(/unexpected GET/);
  });
});
