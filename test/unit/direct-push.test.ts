import { describe, expect, test } from "@jest/globals";
import { judgePush } from "../../src/policy/direct-push.js";
import { pushFactsQuery } from "../../src/github/push-facts.js";
import { directPushEntry } from "../../src/report/direct-push.js";

const A = "a".repeat(40);
const B = "b".repeat(40);

describe("judgePush", () => {
  test("a commit without a merged PR into the branch is a direct push", () => {
    const j = judgePush({ branch: "main", gated: true, forced: false, commits: [{ sha: A, prs: [] }, { sha: B, prs: [{ number: 1, merged: true, baseRef: "main" }] }] });
    expect(j).toMatchObject({ record: true, withoutPr: [A] });
  });
  test("commits of a PR merged into the branch (its merge commit too) are not", () => {
    const j = judgePush({ branch: "main", gated: true, forced: false, commits: [{ sha: A, prs: [{ number: 3, merged: true, baseRef: "main" }] }] });
    expect(j.record).toBe(false);
  });
  test("an open PR, or a PR merged into another branch, does not cover a commit", () => {
    const j = judgePush({
      branch: "main",
      gated: true,
      forced: false,
      commits: [
        { sha: A, prs: [{ number: 3, merged: false, baseRef: "main" }] },
        { sha: B, prs: [{ number: 4, merged: true, baseRef: "develop" }] },
      ],
    });
    expect(j.withoutPr).toEqual([A, B]);
  });
  test("unknown facts fail closed", () => {
    expect(judgePush({ branch: "main", gated: true, forced: false, commits: [{ sha: A, prs: null }] }).record).toBe(true);
  });
  test("a force push is recorded even when every commit belongs to a merged PR", () => {
    const j = judgePush({ branch: "main", gated: true, forced: true, commits: [{ sha: A, prs: [{ number: 3, merged: true, baseRef: "main" }] }] });
    expect(j).toMatchObject({ record: true, withoutPr: [] });
    expect(j.why).toContain("force push");
  });
  test("an ungated branch is never recorded", () => {
    expect(judgePush({ branch: "feature", gated: false, forced: true, commits: [{ sha: A, prs: [] }] }).record).toBe(false);
  });
});

test("the push query asks every commit in one request, by alias", () => {
  const q = pushFactsQuery(3);
  expect(q.match(/associatedPullRequests/g)).toHaveLength(3);
  expect(q).toContain("c2: object(oid: $c2)");
  expect(q).toContain("$c2: GitObjectID!");
});

test("the issue entry escapes the pusher and the branch", () => {
  const text = directPushEntry(
    { at: "t", deliveryId: "d", installationId: 1, owner: "acme", repo: "payments", branch: "main`x", pusher: "@evil <b>", before: B, after: A, forced: true, commitsWithoutPr: [A], examined: 1, pushedAt: "2026-01-01T00:00:00.000Z", policySource: "defaults" },
    "acme/payments@4",
  );
  expect(text).toContain("Force push");
  // User text only inside code spans: no HTML, no @-mention.
  expect(text).toContain("pushed by: `@evil <b>`");
  expect(text).toContain("``main`x``");
  expect(text).toContain("acme/payments@4");
});
