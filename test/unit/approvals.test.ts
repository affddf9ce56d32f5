import { describe, expect, test } from "@jest/globals";
import {
  contributors,
  evaluateApprovals,
  latestOpinions,
  type ApprovalsSettings,
} from "../../src/policy/approvals.js";
import type { CommitInfo, Evidence, ReviewInfo, ReviewState } from "../../src/policy/types.js";
import { evidence as fixtureEvidence, HEAD, OLD } from "../helpers/fixtures.js";

/** The fixture's evidence(), with `pr` overridable field by field. */
type EvidenceOver = Omit<Partial<Evidence>, "pr"> & { pr?: Partial<Evidence["pr"]> };
const evidence = (over: EvidenceOver = {}): Evidence =>
  fixtureEvidence(over as Parameters<typeof fixtureEvidence>[0]);

let clock = 0;
/** A review, submitted after every review built before it (unless `at` says otherwise). */
function review(
  login: string,
  state: ReviewState = "APPROVED",
  over: Partial<ReviewInfo> & { bot?: boolean } = {},
): ReviewInfo {
  clock++;
  const { bot, ...rest } = over;
  return {
    author: { login, isBot: bot ?? false },
    state,
    submittedAt: `2026-11-20T09:${String(Math.floor(clock / 60) % 60).padStart(2, "0")}:${String(clock % 60).padStart(2, "0")}Z`,
    commitOid: HEAD,
    authorCanPush: true,
    url: `https://github.com/acme/payments/pull/1#review-${clock}`,
    ...rest,
  };
}

function commit(over: Partial<CommitInfo> = {}): CommitInfo {
  return {
    oid: HEAD,
    headline: "x",
    message: "x",
    authors: ["dev"],
    committer: "dev",
    isMerge: false,
    url: "https://github.com/x",
    ...over,
  };
}

const settings = (over: Partial<ApprovalsSettings> = {}): ApprovalsSettings => ({
  required: 1,
  dismissStale: true,
  allowContributors: false,
  ...over,
});

function run(reviews: ReviewInfo[], s: Partial<ApprovalsSettings> = {}, commits?: CommitInfo[]) {
  return evaluateApprovals(evidence({ reviews, ...(commits ? { commits } : {}) }), settings(s));
}

describe("latest opinion per reviewer", () => {
  test.each<[string, ReviewState[], ReviewState | null, boolean]>([
    ["APPROVED", ["APPROVED"], "APPROVED", true],
    ["COMMENTED after APPROVED keeps the approval", ["APPROVED", "COMMENTED"], "APPROVED", true],
    ["PENDING after APPROVED keeps the approval", ["APPROVED", "PENDING"], "APPROVED", true],
    ["DISMISSED withdraws the approval", ["APPROVED", "DISMISSED"], "DISMISSED", false],
    ["CHANGES_REQUESTED then APPROVED approves", ["CHANGES_REQUESTED", "APPROVED"], "APPROVED", true],
    ["APPROVED then CHANGES_REQUESTED blocks", ["APPROVED", "CHANGES_REQUESTED"], "CHANGES_REQUESTED", false],
    [
      "CHANGES_REQUESTED then COMMENTED still blocks",
      ["CHANGES_REQUESTED", "COMMENTED"],
      "CHANGES_REQUESTED",
      false,
    ],
    ["only COMMENTED expresses no opinion", ["COMMENTED", "COMMENTED"], null, false],
    ["DISMISSED then APPROVED approves again", ["DISMISSED", "APPROVED"], "APPROVED", true],
  ])("%s", (_name, states, latest, passes) => {
    const reviews = states.map((s) => review("alice", s));
    const l = latestOpinions(reviews).get("alice");
    expect(l?.state ?? null).toBe(latest);
    const r = run(reviews);
    expect(r.status).toBe(passes ? "pass" : "fail");
    expect(r.counted).toBe(passes ? 1 : 0);
  });

  test("order is by submission time, not by list order", () => {
    const early = review("alice", "CHANGES_REQUESTED", { submittedAt: "2026-11-20T08:00:00Z" });
    const late = review("alice", "APPROVED", { submittedAt: "2026-11-20T10:00:00Z" });
    expect(run([late, early]).status).toBe("pass");
    const early2 = review("alice", "APPROVED", { submittedAt: "2026-11-20T08:00:00Z" });
    const late2 = review("alice", "CHANGES_REQUESTED", { submittedAt: "2026-11-20T10:00:00Z" });
    expect(run([late2, early2]).status).toBe("fail");
  });

  test("logins compare case-insensitively (one reviewer, not two)", () => {
    const r = run([review("Alice", "APPROVED"), review("alice", "CHANGES_REQUESTED")], { required: 1 });
    expect(r.status).toBe("fail");
    expect(r.counted).toBe(0);
    expect(r.reviewers).toHaveLength(1);
  });

  test("two approvals by one reviewer count once", () => {
    const r = run([review("alice"), review("ALICE")], { required: 2 });
    expect(r.counted).toBe(1);
    expect(r.status).toBe("fail");
  });

  test("a review without an author (deleted user) is ignored", () => {
    const r = run([{ ...review("ghost"), author: null }]);
    expect(r.reviewers).toEqual([]);
    expect(r.counted).toBe(0);
  });

  test("a dismissed reviewer is not listed", () => {
    const r = run([review("alice"), review("alice", "DISMISSED")]);
    expect(r.reviewers).toEqual([]);
  });
});

describe("who counts", () => {
  test.each<
    [string, ReviewInfo, CommitInfo[] | undefined, ApprovalsSettings["allowContributors"], RegExp | null]
  >([
    ["a writer who did not commit", review("alice"), undefined, false, null],
    [
      "the PR author",
      review("dev"),
      [commit({ authors: ["someone"], committer: "someone" })],
      false,
      /PR author/,
    ],
    [
      "the PR author, other case",
      review("DEV"),
      [commit({ authors: ["someone"], committer: "someone" })],
      true,
      /PR author/,
    ],
    ["a bot", review("renovate[bot]", "APPROVED", { bot: true }), undefined, false, /bot/],
    [
      "a reviewer without write access",
      review("outsider", "APPROVED", { authorCanPush: false }),
      undefined,
      false,
      /no write access/,
    ],
    [
      "a commit author",
      review("carol"),
      [commit({ authors: ["carol"], committer: "dev" })],
      false,
      /committed to this PR/,
    ],
    [
      "a co-author",
      review("carol"),
      [commit({ authors: ["dev", "carol"], committer: "dev" })],
      false,
      /committed to this PR/,
    ],
    [
      "a committer",
      review("carol"),
      [commit({ authors: ["dev"], committer: "carol" })],
      false,
      /committed to this PR/,
    ],
    [
      "a contributor, other case",
      review("Carol"),
      [commit({ authors: ["cAROL"], committer: "dev" })],
      false,
      /committed to this PR/,
    ],
    [
      "a contributor when allow_contributors",
      review("carol"),
      [commit({ authors: ["carol"], committer: "dev" })],
      true,
      null,
    ],
    // A merge commit can carry changes of its own: whoever made it is a contributor (issue 20).
    [
      "author of a merge commit only",
      review("carol"),
      [commit({ authors: ["dev"] }), commit({ authors: ["carol"], committer: "carol", isMerge: true })],
      false,
      /made merge commit [0-9a-f]{7} in this PR/,
    ],
    [
      "committer of a merge commit only",
      review("carol"),
      [commit({ authors: ["dev"] }), commit({ authors: ["dev"], committer: "carol", isMerge: true })],
      false,
      /made merge commit/,
    ],
    [
      'GitHub\'s "Update branch" merge (committer web-flow): its author, the clicker, counts',
      review("carol"),
      [commit({ authors: ["dev"] }), commit({ authors: ["carol"], committer: "web-flow", isMerge: true })],
      false,
      /made merge commit/,
    ],
    [
      "a merge commit by the PR author leaves other reviewers alone",
      review("alice"),
      [commit({ authors: ["dev"] }), commit({ authors: ["dev"], committer: "web-flow", isMerge: true })],
      false,
      null,
    ],
    [
      "web-flow committer is nobody",
      review("web-flow"),
      [commit({ authors: ["dev"], committer: "web-flow" })],
      false,
      null,
    ],
    [
      "a commit with an unknown author",
      review("alice"),
      [commit({ authors: [null], committer: null })],
      false,
      null,
    ],
  ])("%s", (_name, r, commits, allowContributors, reason) => {
    const result = run([r], { allowContributors }, commits);
    expect(result.reviewers).toHaveLength(1);
    const line = result.reviewers[0]!;
    if (reason === null) {
      expect(line.counted).toBe(true);
      expect(line.reason).toBe("");
      expect(result.status).toBe("pass");
    } else {
      expect(line.counted).toBe(false);
      expect(line.reason).toMatch(reason);
      expect(result.status).toBe("fail");
      expect(result.todo.join(" ")).toMatch(/Get 1 more approval/);
    }
  });

  test("contributors(): authors and committers of every commit (merge commits too), lower case, web-flow left out", () => {
    const c = contributors(
      evidence({
        commits: [
          commit({ authors: ["Dev", "Carol", null], committer: "web-flow" }),
          commit({ authors: ["erin"], committer: "Frank" }),
          commit({ authors: ["mallory"], committer: "mallory", isMerge: true }),
        ],
      }),
    );
    expect([...c].sort()).toEqual(["carol", "dev", "erin", "frank", "mallory"]);
  });

  test("a reviewer who also wrote a plain commit is told they committed; the digest's data names each merge commit and its people", () => {
    const merge = commit({ authors: ["Carol"], committer: "web-flow", isMerge: true });
    const result = run([review("carol"), review("alice")], {}, [commit({ authors: ["dev"] }), merge]);
    expect(result.reviewers.find((r) => r.login === "carol")!.reason).toBe(
      `made merge commit ${merge.oid.slice(0, 7)} in this PR (a merge commit counts as its author's and committer's contribution), so is not an independent reviewer`,
    );
    expect(result.mergeContributions).toEqual([{ oid: merge.oid, logins: ["carol"] }]);
    const both = run([review("carol")], {}, [commit({ authors: ["carol"] }), merge]);
    expect(both.reviewers[0]!.reason).toBe("committed to this PR, so is not an independent reviewer");
  });
});

describe("dismiss_stale", () => {
  test.each<[string, string | null, boolean, boolean]>([
    ["approval of the head, dismiss_stale on", HEAD, true, true],
    ["approval of an older commit, dismiss_stale on", OLD, true, false],
    ["approval of an unknown commit, dismiss_stale on", null, true, false],
    ["approval of an older commit, dismiss_stale off", OLD, false, true],
    ["approval of an unknown commit, dismiss_stale off", null, false, true],
  ])("%s", (_name, commitOid, dismissStale, counted) => {
    const r = run([review("alice", "APPROVED", { commitOid })], { dismissStale });
    expect(r.reviewers[0]!.counted).toBe(counted);
    expect(r.status).toBe(counted ? "pass" : "fail");
    if (!counted) {
      expect(r.reviewers[0]!.reason).toMatch(/not the head commit/);
      if (commitOid) expect(r.reviewers[0]!.reason).toContain(commitOid.slice(0, 7));
      expect(r.todo.join(" ")).toMatch(/fresh review of the head commit/);
    }
  });
});

describe("changes requested", () => {
  test("from a writer blocks even with enough approvals", () => {
    const r = run([review("alice"), review("bob"), review("carol", "CHANGES_REQUESTED")], { required: 2 });
    expect(r.counted).toBe(2);
    expect(r.status).toBe("fail");
    expect(r.summary).toContain("changes requested by carol");
    expect(r.todo).toEqual([expect.stringContaining("Address the changes requested by carol")]);
    expect(r.reviewers.find((l) => l.login === "carol")?.reason).toBe("requested changes");
  });

  test("from a writer on an older commit still blocks", () => {
    const r = run([review("alice"), review("carol", "CHANGES_REQUESTED", { commitOid: OLD })]);
    expect(r.status).toBe("fail");
  });

  test("from a non-writer does not block", () => {
    const r = run([review("alice"), review("outsider", "CHANGES_REQUESTED", { authorCanPush: false })]);
    expect(r.status).toBe("pass");
    expect(r.counted).toBe(1);
    const line = r.reviewers.find((l) => l.login === "outsider")!;
    expect(line.counted).toBe(false);
    expect(line.reason).toMatch(/no write access.*not blocking/);
  });

  test("blocks even when no approval is required", () => {
    const r = run([review("carol", "CHANGES_REQUESTED")], { required: 0 });
    expect(r.status).toBe("fail");
  });

  test("several blockers are each named", () => {
    const r = run([
      review("carol", "CHANGES_REQUESTED"),
      review("dan", "CHANGES_REQUESTED"),
      review("alice"),
    ]);
    expect(r.todo.filter((t) => t.startsWith("Address"))).toHaveLength(2);
    expect(r.summary).toMatch(/carol, dan/);
  });
});

describe("required", () => {
  test.each<[number, number, "pass" | "fail"]>([
    [0, 0, "pass"],
    [1, 0, "fail"],
    [1, 1, "pass"],
    [2, 1, "fail"],
    [2, 2, "pass"],
    [2, 3, "pass"],
  ])("required %i with %i approvals → %s", (required, approvers, status) => {
    const reviews = Array.from({ length: approvers }, (_, i) => review(`rev${i}`));
    const r = run(reviews, { required });
    expect(r.status).toBe(status);
    expect(r.counted).toBe(approvers);
    expect(r.required).toBe(required);
    expect(r.summary).toMatch(new RegExp(`^${approvers} of ${required} required`));
    if (status === "pass") expect(r.todo).toEqual([]);
    else expect(r.todo.join(" ")).toContain(`Get ${required - approvers} more approval`);
  });

  test("every non-counted reviewer has a reason", () => {
    const r = run(
      [
        review("dev"),
        review("bot[bot]", "APPROVED", { bot: true }),
        review("outsider", "APPROVED", { authorCanPush: false }),
        review("carol"),
        review("stale", "APPROVED", { commitOid: OLD }),
        review("blocker", "CHANGES_REQUESTED"),
        review("alice"),
      ],
      { required: 1 },
      [commit({ authors: ["carol"] })],
    );
    expect(r.reviewers).toHaveLength(7);
    for (const l of r.reviewers) {
      if (l.counted) expect(l.reason).toBe("");
      else expect(l.reason.length).toBeGreaterThan(5);
    }
    expect(r.reviewers.filter((l) => l.counted).map((l) => l.login)).toEqual(["alice"]);
  });

  test("a PR with no author (deleted account) still judges reviewers", () => {
    const r = evaluateApprovals(evidence({ reviews: [review("alice")], pr: { author: null } }), settings());
    expect(r.status).toBe("pass");
  });
});
