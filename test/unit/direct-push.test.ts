import { describe, expect, test } from "@jest/globals";
import { judgePush } from "../../src/policy/direct-push.js";
import { pushFactsQuery } from "../../src/github/push-facts.js";
import { directPushEntry } from "../../src/report/direct-push.js";

const A = "a".repeat(40);
const B = "b".repeat(40);

describe("judgePush", () => {
  test("a commit without a merged PR into the branch is a direct push", () => {
    const j = judgePush({
      repo: "acme/app",
      branch: "main",
      gated: true,
      forced: false,
      commits: [
        { sha: A, prs: [] },
        { sha: B, prs: [{ number: 1, merged: true, baseRef: "main", baseRepo: "acme/app" }] },
      ],
    });
    expect(j).toMatchObject({ record: true, withoutPr: [A] });
  });
  test("commits of a PR merged into the branch (its merge commit too) are not", () => {
    const j = judgePush({
      repo: "acme/app",
      branch: "main",
      gated: true,
      forced: false,
      commits: [{ sha: A, prs: [{ number: 3, merged: true, baseRef: "main", baseRepo: "acme/app" }] }],
    });
    expect(j.record).toBe(false);
  });
  test("an open PR, or a PR merged into another branch, does not cover a commit", () => {
    const j = judgePush({
      repo: "acme/app",
      branch: "main",
      gated: true,
      forced: false,
      commits: [
        { sha: A, prs: [{ number: 3, merged: false, baseRef: "main", baseRepo: "acme/app" }] },
        { sha: B, prs: [{ number: 4, merged: true, baseRef: "develop", baseRepo: "acme/app" }] },
      ],
    });
    expect(j.withoutPr).toEqual([A, B]);
  });
  test("a PR of another repository in the fork network, merged into its own main, does not cover a commit of this repository's main", () => {
    const j = judgePush({
      repo: "acme/app",
      branch: "main",
      gated: true,
      forced: false,
      commits: [
        { sha: A, prs: [{ number: 7, merged: true, baseRef: "main", baseRepo: "mallory/app" }] },
        { sha: B, prs: [{ number: 8, merged: true, baseRef: "main", baseRepo: null }] },
      ],
    });
    expect(j).toMatchObject({ record: true, withoutPr: [A, B] });
  });
  test("the base repository is compared without regard to case (GitHub's names are case-insensitive)", () => {
    const j = judgePush({
      repo: "Acme/App",
      branch: "main",
      gated: true,
      forced: false,
      commits: [{ sha: A, prs: [{ number: 3, merged: true, baseRef: "main", baseRepo: "acme/app" }] }],
    });
    expect(j.record).toBe(false);
  });
  test("unknown facts fail closed", () => {
    expect(
      judgePush({
        repo: "acme/app",
        branch: "main",
        gated: true,
        forced: false,
        commits: [{ sha: A, prs: null }],
      }).record,
    ).toBe(true);
  });
  test("a force push is recorded even when every commit belongs to a merged PR", () => {
    const j = judgePush({
      repo: "acme/app",
      branch: "main",
      gated: true,
      forced: true,
      commits: [{ sha: A, prs: [{ number: 3, merged: true, baseRef: "main", baseRepo: "acme/app" }] }],
    });
    expect(j).toMatchObject({ record: true, withoutPr: [] });
    expect(j.why).toContain("force push");
  });
  test("an ungated branch is never recorded", () => {
    expect(
      judgePush({
        repo: "acme/app",
        branch: "feature",
        gated: false,
        forced: true,
        commits: [{ sha: A, prs: [] }],
      }).record,
    ).toBe(false);
  });
});

test("the push query asks every commit in one request, by alias", () => {
  const q = pushFactsQuery(3);
  expect(q.match(/associatedPullRequests/g)).toHaveLength(3);
  expect(q).toContain("c2: object(oid: $c2)");
  expect(q).toContain("$c2: GitObjectID!");
  // Each associated PR's base repository: only this repository's PRs cover a push.
  expect(q.match(/baseRepository \{ nameWithOwner \}/g)).toHaveLength(3);
});

test("the issue entry escapes the pusher and the branch", () => {
  const text = directPushEntry(
    {
      at: "t",
      deliveryId: "d",
      installationId: 1,
      owner: "acme",
      repo: "payments",
      branch: "main`x",
      pusher: "@evil <b>",
      before: B,
      after: A,
      forced: true,
      commitsWithoutPr: [A],
      examined: 1,
      pushedAt: "2026-01-01T00:00:00.000Z",
      policySource: "defaults",
    },
    "acme/payments@4",
  );
  expect(text).toContain("Force push");
  // User text only inside code spans: no HTML, no @-mention.
  expect(text).toContain("pushed by: `@evil <b>`");
  expect(text).toContain("``main`x``");
  expect(text).toContain("acme/payments@4");
});

test("a force push the scan could not date says its time is when it was found, in the issue entry and the export's title", async () => {
  const { directPushExportRow } = await import("../../src/audit/export-direct-push.js");
  const rec = {
    at: "2026-01-02T00:00:00.000Z",
    deliveryId: "scan-1:forced:main",
    installationId: 1,
    owner: "acme",
    repo: "payments",
    branch: "main",
    pusher: null,
    before: B,
    after: A,
    forced: true,
    commitsWithoutPr: [],
    examined: 0,
    pushedAt: "2026-01-02T00:00:00.000Z",
    policySource: "defaults",
    foundBy: "scan" as const,
    pushedAtIsWhenFound: true,
  };
  expect(directPushEntry(rec, null)).toMatch(/pushed by: unknown, before 2026.*\(when the scan found it/);
  const row = (payload: object) =>
    ({
      repo: "acme/payments",
      head_sha: A,
      merged_at: rec.pushedAt,
      recorded_at: rec.at,
      chain: "acme/payments",
      seq: 1,
      hash: "h",
      payload: JSON.stringify(payload),
    }) as never;
  expect(directPushExportRow(row(rec)).title).toMatch(/merged_at: when the scan found it/);
  const { pushedAtIsWhenFound: _, ...dated } = rec;
  expect(directPushExportRow(row(dated)).title).not.toMatch(/when the scan found it/);
  expect(directPushEntry(dated, null)).not.toMatch(/when the scan found it/);
});
