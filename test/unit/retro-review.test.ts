/** The retroactive review of an emergency merge, the transition pick, and their text: pure. */
import { describe, expect, test } from "@jest/globals";
import {
  describeDuration,
  identityRefusal,
  isRetroApproveComment,
  judgeRetroReview,
  lateBy,
  needsWriteCheck,
  retroReviewDueAt,
  type RetroCandidate,
  type RetroFacts,
} from "../../src/policy/retro-review.js";
import { alreadyThere, pickTransition } from "../../src/policy/transition.js";
import { retroCheck, retroSection, transitionSection, withSection } from "../../src/report/after-merge.js";
import { overdueEntry } from "../../src/report/overdue.js";
import { setRetroCheck } from "../../src/github/retro-review.js";

const MERGED = "2026-11-20T10:00:00Z";
const cand = (login: string | null, over: Partial<RetroCandidate> = {}): RetroCandidate => ({
  login,
  isBot: false,
  at: "2026-11-20T12:00:00Z",
  via: "review",
  url: `https://github.com/acme/payments/pull/1#${login}`,
  canWrite: true,
  ...over,
});
const facts = (candidates: RetroCandidate[]): RetroFacts => ({
  mergedAt: MERGED,
  author: "dev",
  mergedBy: "Oncall",
  contributors: new Set(["carol"]),
  candidates,
});

describe("who may review an emergency merge retroactively", () => {
  test("an approving reviewer with write access, after the merge, who did not write, merge or contribute", () => {
    const j = judgeRetroReview(facts([cand("bob")]));
    expect(j).toMatchObject({ kind: "reviewed", by: "bob", via: "review" });
  });

  test.each([
    ["dev", "the PR's author"],
    ["oncall", "the person who merged it"],
    ["CAROL", "a contributor to the PR's commits"],
  ])("%s is refused: %s", (login, why) => {
    const j = judgeRetroReview(facts([cand(login)]));
    expect(j).toEqual({ kind: "none", refused: [expect.objectContaining({ login, why })] });
  });

  test("no write access, an app, a deleted account, or before the merge: refused", () => {
    const j = judgeRetroReview(
      facts([
        cand("reader", { canWrite: false }),
        cand("ci", { isBot: true }),
        cand(null),
        cand("early", { at: "2026-11-20T09:59:59Z" }),
      ]),
    );
    expect(j.kind).toBe("none");
    expect(j.refused.map((r) => r.why).sort()).toEqual([
      "an app cannot review a change",
      "made before the merge",
      "no write access to the repository",
      "the account no longer exists",
    ]);
  });

  test("unknown write access never counts (fail closed), and is what must be asked", () => {
    const f = facts([cand("dev", { canWrite: null }), cand("erin", { canWrite: null, via: "comment" })]);
    expect(needsWriteCheck(f).map((c) => c.login)).toEqual(["erin"]);
    expect(judgeRetroReview(f).kind).toBe("none");
  });

  test("the oldest qualifying review is the one recorded", () => {
    const j = judgeRetroReview(
      facts([
        cand("late", { at: "2026-11-21T00:00:00Z" }),
        cand("dev", { at: "2026-11-20T11:00:00Z" }),
        cand("first", { at: "2026-11-20T11:30:00Z" }),
      ]),
    );
    expect(j).toMatchObject({ kind: "reviewed", by: "first" });
    expect(j.refused.map((r) => r.login)).toEqual(["dev"]);
  });

  test("an edited comment is refused, whoever wrote it, and costs no write-access read", () => {
    const edited = cand("erin", { via: "comment", canWrite: null, commentId: 7, edited: true });
    const f = facts([edited]);
    expect(needsWriteCheck(f)).toEqual([]);
    expect(judgeRetroReview(f)).toEqual({
      kind: "none",
      refused: [
        expect.objectContaining({
          login: "erin",
          why: expect.stringContaining("edited after it was posted"),
        }),
      ],
    });
    expect(judgeRetroReview(facts([cand("erin", { via: "comment", commentId: 7, edited: true })])).kind).toBe(
      "none",
    );
  });

  test("a counted comment carries its id into the judgement", () => {
    expect(
      judgeRetroReview(facts([cand("erin", { via: "comment", commentId: 7, edited: false })])),
    ).toMatchObject({ kind: "reviewed", by: "erin", commentId: 7 });
  });

  test("identityRefusal compares logins case-insensitively", () => {
    expect(identityRefusal(facts([]), cand("DEV"))).toBe("the PR's author");
  });
});

describe("the /changegate approve comment", () => {
  test.each([
    ["/changegate approve", true],
    ["Looked at it.\n/changegate approve\nthanks", true],
    ["  /changegate   approve  ", true],
    ["/changegate approved", false],
    ["please /changegate approve", false],
    ["`/changegate approve`", false],
    ["LGTM", false],
    // Only the rendered text counts: nothing a reader cannot see.
    ["Looks fine.<!--\n/changegate approve\n-->", false],
    ["Looks fine.<!--\n/changegate approve", false],
    ["<!-- x -->\n/changegate approve", true],
    ["```\n/changegate approve\n```", false],
    ["~~~~\n/changegate approve\n~~~", false],
    ["```\nunclosed\n/changegate approve", false],
    ["```\ncode\n```\n/changegate approve", true],
    ["    /changegate approve", false],
    ["\t/changegate approve", false],
    ['<img alt="\n/changegate approve\n" src="x">', false],
    ["a < b\n/changegate approve", true],
    ["ok\r\n/changegate approve\r\n", true],
  ])("%j → %s", (body, expected) => {
    expect(isRetroApproveComment(body)).toBe(expected);
  });
});

test("a command past the first 10,000 characters is not read; a hostile body is judged quickly", () => {
  expect(isRetroApproveComment(`${"x".repeat(10_000)}\n/changegate approve`)).toBe(false);
  const t = Date.now();
  expect(isRetroApproveComment("<a ".repeat(20_000) + "<!--".repeat(5_000) + "```\n".repeat(5_000))).toBe(
    false,
  );
  expect(Date.now() - t).toBeLessThan(500);
});

describe("due and late", () => {
  test("due review_within_hours after the merge; late by how much", () => {
    const due = retroReviewDueAt(MERGED, 48);
    expect(due).toBe("2026-11-22T10:00:00.000Z");
    expect(lateBy(due, new Date("2026-11-22T09:00:00Z"))).toBe(0);
    expect(lateBy(due, new Date("2026-11-22T13:12:00Z"))).toBe((3 * 60 + 12) * 60_000);
    expect(describeDuration((3 * 60 + 12) * 60_000)).toBe("3 h 12 min");
    expect(describeDuration(26 * 3_600_000)).toBe("1 d 2 h");
    expect(describeDuration(40 * 60_000)).toBe("40 min");
    expect(() => retroReviewDueAt("yesterday", 48)).toThrow("not a merge time");
  });
});

describe("picking the transition", () => {
  const available = [
    { id: "11", name: "Start progress", to: "In Progress" },
    { id: "31", name: "Resolve", to: "Done" },
    { id: "41", name: "done", to: "Closed" },
  ];
  test("a transition named so wins over one leading to a status named so; case-insensitive", () => {
    expect(pickTransition(available, "Done")?.id).toBe("41");
    expect(pickTransition(available, "in progress")?.id).toBe("11");
    expect(pickTransition(available, "resolve")?.id).toBe("31");
    expect(pickTransition(available, "Released")).toBeNull();
    expect(alreadyThere("DONE", "done")).toBe(true);
    expect(alreadyThere(null, "done")).toBe(false);
  });
});

describe("what the digest, the check and the issue say", () => {
  test("due: the deadline; reviewed: by whom and when (escaped, no ping); overdue: how late", () => {
    expect(retroSection({ kind: "due", dueAt: "2026-11-22T10:00:00.000Z", withinHours: 48 })).toContain(
      "Retroactive review due by 2026-11-22 10:00 UTC",
    );
    const reviewed = retroSection({
      kind: "reviewed",
      by: "bob",
      at: "2026-11-21T09:00:00Z",
      via: "comment",
      url: "https://x/1",
      lateMs: 0,
      dueAt: "2026-11-22T10:00:00Z",
    });
    expect(reviewed).toContain("Retroactively reviewed by `bob` at 2026-11-21 09:00 UTC");
    expect(reviewed).not.toContain("@bob");
    expect(retroCheck({ kind: "overdue", dueAt: "2026-11-22T10:00:00Z", lateMs: 3_600_000 })).toMatchObject({
      status: "completed",
      conclusion: "failure",
      title: "Retroactive review overdue by 1 h 0 min",
    });
    expect(retroCheck({ kind: "due", dueAt: "2026-11-22T10:00:00Z", withinHours: 48 })).toMatchObject({
      status: "in_progress",
      conclusion: null,
    });
  });

  test("sections are replaced in place, not stacked", () => {
    const once = withSection("digest", "retro-review", "A");
    const twice = withSection(once, "retro-review", "B");
    expect(twice).toBe("digest\n\n<!-- changegate:retro-review -->\nB\n<!-- /changegate:retro-review -->");
    const both = withSection(twice, "ticket-transitions", "T");
    expect(both).toContain(
      "B\n<!-- /changegate:retro-review -->\n\n<!-- changegate:ticket-transitions -->\nT",
    );
  });

  test("transitions: moved, already there, failed with the reason (user text escaped)", () => {
    const text = transitionSection("Done", [
      { key: "OPS-1", result: "moved", status: "Done", transition: "Resolve", message: null },
      { key: "OPS-2", result: "already", status: "Done", transition: null, message: null },
      { key: "OPS-3", result: "failed", status: null, transition: null, message: "Jira refused <b>it</b>" },
    ]);
    expect(text).toContain("✅ `OPS-1` → Done (transition Resolve)");
    expect(text).toContain("`OPS-2` was already Done");
    expect(text).toContain("❌ `OPS-3` could not be moved");
    expect(text).not.toContain("<b>");
    expect(text).toContain("the merge itself is recorded as it was");
  });

  test("the overdue entry names the PR, the deadline and how late", () => {
    const entry = overdueEntry({
      repo: "acme/payments",
      number: 7,
      url: "https://github.com/acme/payments/pull/7",
      title: "Hotfix @everyone",
      author: "dev",
      mergedBy: "oncall",
      mergedAt: MERGED,
      dueAt: "2026-11-22T10:00:00Z",
      lateMs: 2 * 3_600_000,
      record: "acme/payments@9",
    });
    expect(entry).toContain("acme/payments#7");
    expect(entry).toContain("2 h 0 min late");
    expect(entry).toContain("`acme/payments@9`");
    expect(entry).not.toMatch(/(^|[^`\\])@everyone/);
  });
});

describe("the retro-review check run (setRetroCheck)", () => {
  const ref = { owner: "acme", repo: "payments" };
  const head = "c".repeat(40);
  const reviewed = retroCheck({
    kind: "reviewed",
    by: "bob",
    at: "2026-11-21T08:00:00Z",
    via: "review",
    url: "https://github.com/acme/payments/pull/1#r",
    lateMs: 0,
    dueAt: "2026-11-22T10:00:00Z",
  });
  function octokit(runs: (() => unknown) | null, patch: () => unknown = () => ({ data: {} })) {
    const calls: string[] = [];
    return {
      calls,
      o: {
        request: async (route: string, params: Record<string, unknown>) => {
          calls.push(route);
          if (route.startsWith("GET ")) {
            if (!runs) throw Object.assign(new Error("server error"), { status: 502 });
            return { data: runs() };
          }
          if (route.startsWith("PATCH ")) return patch();
          return { data: { id: 900, params } };
        },
      },
    };
  }

  test("due (in progress) → reviewed: this app's open run is completed in place, no second creation", async () => {
    const { o, calls } = octokit(() => ({
      check_runs: [
        { id: 700, status: "in_progress", app: { id: 99 } },
        { id: 600, status: "in_progress", app: { id: 4242 } },
      ],
    }));
    await setRetroCheck(o as never, ref, head, reviewed, 4242);
    expect(calls).toEqual([
      "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
      "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
    ]);
  });

  test("the newest run is completed already, someone else's, or the lookup fails: a new run says it", async () => {
    for (const runs of [
      () => ({ check_runs: [{ id: 600, status: "completed", app: { id: 4242 } }] }),
      () => ({ check_runs: [{ id: 700, status: "in_progress", app: { id: 99 } }] }),
      null,
    ]) {
      const { o, calls } = octokit(runs);
      await setRetroCheck(o as never, ref, head, reviewed, 4242);
      expect(calls).toEqual([
        "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
        "POST /repos/{owner}/{repo}/check-runs",
      ]);
    }
  });

  test("an update GitHub refuses (the run is gone or not ours) falls back to a new run; the due run is always a new one", async () => {
    const { o, calls } = octokit(
      () => ({ check_runs: [{ id: 600, status: "in_progress", app: { id: 4242 } }] }),
      () => {
        throw Object.assign(new Error("Not Found"), { status: 404 });
      },
    );
    await setRetroCheck(o as never, ref, head, reviewed, 4242);
    expect(calls.at(-1)).toBe("POST /repos/{owner}/{repo}/check-runs");
    const due = octokit(null);
    await setRetroCheck(
      due.o as never,
      ref,
      head,
      retroCheck({ kind: "due", dueAt: "2026-11-22T10:00:00Z", withinHours: 48 }),
      4242,
    );
    expect(due.calls).toEqual(["POST /repos/{owner}/{repo}/check-runs"]);
  });
});
