/**
 * github/publish: the check run and the digest go out together, a write whose content did not
 * change is skipped, and a retry of the same report skips what already went out.
 */
import { describe, expect, test } from "@jest/globals";
import { publish, type PublishTarget, type Writer } from "../../src/github/publish.js";
import type { Report } from "../../src/report/types.js";

interface Call {
  route: string;
  params: Record<string, unknown>;
}

/** A fake Octokit: records each request; `answer` decides (and may hold) each reply. */
function fakeOctokit(answer: (call: Call, index: number) => Promise<unknown>) {
  const calls: Call[] = [];
  const octokit = {
    request: (route: string, params: Record<string, unknown>) => {
      const call = { route, params };
      calls.push(call);
      return answer(call, calls.length - 1);
    },
  } as unknown as Writer;
  return { octokit, calls };
}

function report(conclusion: "success" | "failure", comment = `digest ${conclusion}`): Report {
  return {
    check: { status: "completed", conclusion, title: `t ${conclusion}`, summary: `s ${conclusion}` },
    comment,
    createComment: true,
  } as Report;
}

function target(over: Partial<PublishTarget> = {}): PublishTarget {
  return {
    ref: { installationId: 1, owner: "acme", repo: "payments", number: 7 },
    headSha: "a".repeat(40),
    ownCheck: null,
    digestComment: null,
    ...over,
  };
}

const created = (id: number) => Promise.resolve({ data: { id } });

describe("publish", () => {
  test("the check and the digest are both asked for before either is answered", async () => {
    const held: (() => void)[] = [];
    const { octokit, calls } = fakeOctokit(
      (call) =>
        new Promise((resolve) =>
          held.push(() => resolve({ data: { id: call.route.includes("check-runs") ? 11 : 22 } })),
        ),
    );
    const pending = publish(octokit, target(), report("success"));
    await new Promise((r) => setImmediate(r));
    expect(calls.map((c) => c.route)).toEqual([
      "POST /repos/{owner}/{repo}/check-runs",
      "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    ]);
    for (const release of held) release();
    expect(await pending).toEqual({ checkId: 11, commentId: 22, writes: 2 });
  });

  test("nothing changed: no write", async () => {
    const r = report("failure");
    const { octokit, calls } = fakeOctokit(() => created(1));
    const t = target({
      ownCheck: {
        id: 5,
        status: "COMPLETED",
        conclusion: "FAILURE",
        title: r.check.title,
        summary: r.check.summary,
      },
      digestComment: { id: 9, body: r.comment },
    });
    expect(await publish(octokit, t, r)).toEqual({ checkId: 5, commentId: 9, writes: 0 });
    expect(calls).toEqual([]);
  });

  test("the digest failed and the check went out: the retry writes the digest only", async () => {
    let digestFails = true;
    const { octokit, calls } = fakeOctokit((call) => {
      if (call.route.includes("comments") && digestFails) {
        digestFails = false;
        return Promise.reject(Object.assign(new Error("server error"), { status: 502 }));
      }
      return created(call.route.includes("check-runs") ? 11 : 22);
    });
    const t = target({
      ownCheck: { id: 5, status: "completed", conclusion: "failure", title: "old", summary: "old" },
      digestComment: { id: 9, body: "old digest" },
    });
    await expect(publish(octokit, t, report("success"))).rejects.toThrow("server error");
    expect(calls.map((c) => c.route)).toEqual([
      "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
      "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
    ]);
    expect(await publish(octokit, t, report("success"))).toEqual({ checkId: 5, commentId: 9, writes: 1 });
    expect(calls.map((c) => c.route).slice(2)).toEqual([
      "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
    ]);
  });

  test("the check failed and the digest went out: the retry writes the check only, and the error is the check's", async () => {
    let checkFails = true;
    const { octokit, calls } = fakeOctokit((call) => {
      if (call.route.includes("check-runs") && checkFails) {
        checkFails = false;
        return Promise.reject(Object.assign(new Error("check refused"), { status: 500 }));
      }
      return created(call.route.includes("check-runs") ? 11 : 22);
    });
    const t = target();
    await expect(publish(octokit, t, report("failure"))).rejects.toThrow("check refused");
    expect(t.digestComment).toEqual({ id: 22, body: "digest failure" });
    expect(await publish(octokit, t, report("failure"))).toEqual({ checkId: 11, commentId: 22, writes: 1 });
    expect(calls.map((c) => c.route)).toEqual([
      "POST /repos/{owner}/{repo}/check-runs",
      "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
      "POST /repos/{owner}/{repo}/check-runs",
    ]);
  });

  test("a completed run asked to go back to in progress gets a new run; a conclusion changes in place", async () => {
    const { octokit, calls } = fakeOctokit(() => created(12));
    const t = target({
      ownCheck: { id: 5, status: "completed", conclusion: "success", title: "x", summary: "x" },
      digestComment: { id: 9, body: "same" },
    });
    const waiting = {
      check: { status: "in_progress", conclusion: null, title: "waiting", summary: "for CI" },
      comment: "same",
      createComment: true,
    } as Report;
    expect((await publish(octokit, t, waiting)).checkId).toBe(12);
    expect(calls.map((c) => c.route)).toEqual(["POST /repos/{owner}/{repo}/check-runs"]);
    await publish(octokit, t, report("failure", "same"));
    expect(calls[1]!.route).toBe("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}");
    expect(calls[1]!.params.check_run_id).toBe(12);
  });

  test("a deleted digest is posted again", async () => {
    const { octokit, calls } = fakeOctokit((call) =>
      call.route.startsWith("PATCH /repos/{owner}/{repo}/issues/comments")
        ? Promise.reject(Object.assign(new Error("Not Found"), { status: 404 }))
        : created(33),
    );
    const r = report("failure");
    const t = target({
      ownCheck: {
        id: 5,
        status: "completed",
        conclusion: "failure",
        title: r.check.title,
        summary: r.check.summary,
      },
      digestComment: { id: 9, body: "old" },
    });
    expect(await publish(octokit, t, r)).toEqual({ checkId: 5, commentId: 33, writes: 2 });
    expect(calls.map((c) => c.route)).toEqual([
      "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
      "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    ]);
  });
});
