/** The shared check of a commit: strictest verdict over the gated PRs whose head it is (pure stages). */
import { describe, expect, test } from "@jest/globals";
import { commitVerdict, type HeadSharer } from "../../src/policy/shared-head.js";
import { showSharedHead } from "../../src/report/shared-head.js";
import { DIGEST_MARKER } from "../../src/contract.js";
import type { Report } from "../../src/report/types.js";
import { HEAD } from "../helpers/fixtures.js";

const sharer = (number: number, over: Partial<HeadSharer> = {}): HeadSharer => ({
  number,
  baseRef: "main",
  gated: true,
  verdict: { outcome: "success", title: "Compliant" },
  ...over,
});

describe("commitVerdict", () => {
  test("no sharers: the PR's own verdict", () => {
    expect(commitVerdict("success", [])).toEqual({ conclusion: "success", shownFor: null, unjudged: [] });
    expect(commitVerdict("failure", [])).toEqual({ conclusion: "failure", shownFor: null, unjudged: [] });
  });

  test("failure > waiting > success, and the check names whose verdict it shows", () => {
    const failing = sharer(1, { verdict: { outcome: "failure", title: "Not compliant" } });
    const waiting = sharer(2, { verdict: { outcome: "pending", title: "Waiting" } });
    expect(commitVerdict("success", [waiting, failing])).toMatchObject({
      conclusion: "failure",
      shownFor: failing,
    });
    expect(commitVerdict("success", [waiting])).toMatchObject({ conclusion: "pending", shownFor: waiting });
    expect(commitVerdict("pending", [waiting])).toMatchObject({ conclusion: "pending", shownFor: null });
    expect(commitVerdict("failure", [failing])).toMatchObject({ conclusion: "failure", shownFor: null });
  });

  test("ungated sharers never count, whatever they say", () => {
    const ungated = sharer(1, { gated: false, verdict: { outcome: "failure", title: "x" } });
    expect(commitVerdict("success", [ungated])).toEqual({
      conclusion: "success",
      shownFor: null,
      unjudged: [],
    });
  });

  test("an ungated PR never turns a gated sharer's failure green", () => {
    const gated = sharer(1, { verdict: { outcome: "failure", title: "Not compliant" } });
    expect(commitVerdict("success", [gated]).conclusion).toBe("failure");
  });

  test("a gated sharer not judged at this head yet holds the check at waiting", () => {
    const unjudged = sharer(3, { verdict: null });
    const cv = commitVerdict("success", [unjudged]);
    expect(cv).toMatchObject({ conclusion: "pending", shownFor: unjudged, unjudged: [unjudged] });
    expect(commitVerdict("failure", [unjudged])).toMatchObject({
      conclusion: "failure",
      shownFor: null,
      unjudged: [unjudged],
    });
  });
});

describe("showSharedHead", () => {
  const own: Report = {
    check: {
      status: "completed",
      conclusion: "success",
      title: "Compliant: approvals ok",
      summary: "## ✅ changegate: compliant",
    },
    comment: `## ✅ changegate: compliant\n\n${DIGEST_MARKER}`,
    createComment: true,
  };

  test("the PR's own verdict stands when it is the strictest", () => {
    expect(showSharedHead(own, commitVerdict("success", [sharer(2)]), HEAD)).toBe(own);
  });

  test("a stricter sharer: the check shows its verdict, the digest keeps its own and names the sharer", () => {
    const s = sharer(12, {
      baseRef: "release/`x`",
      verdict: { outcome: "failure", title: "Not compliant: @bob <b>" },
    });
    const r = showSharedHead(own, commitVerdict("success", [s]), HEAD);
    expect(r.check).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(r.check.title).toBe("#12 into release/`x` (same head commit): Not compliant: @bob <b>");
    expect(r.comment).toContain(
      "**#12 into `` release/`x` ``** is failing (Not compliant: @\u200bbob &lt;b&gt;)",
    );
    expect(r.comment).not.toContain("@bob"); // escaped: no ping
    expect(r.comment).not.toContain("<b>");
    expect(r.comment).toContain("## ✅ changegate: compliant");
    expect(r.comment.endsWith(DIGEST_MARKER)).toBe(true);
    expect(r.check.summary).toBe(r.comment.replace(`\n\n${DIGEST_MARKER}`, ""));
    expect(r.createComment).toBe(true);
  });

  test("an unjudged sharer: the check waits (in progress) and says for whom", () => {
    const r = showSharedHead(own, commitVerdict("success", [sharer(5, { verdict: null })]), HEAD);
    expect(r.check).toMatchObject({
      status: "in_progress",
      conclusion: null,
      title: "Waiting: #5 into main (same head commit) has not been judged yet",
    });
    expect(r.comment).toContain("has not been judged at this commit yet");
  });
});
