/**
 * The Writer publish() gets with the write scheduler on: the four writes of a result go through the
 * scheduler and out with the installation's token (nock sees them); everything else goes to Probot's
 * Octokit; a superseded write never reaches GitHub.
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import nock from "nock";
import {
  pacedOctokit,
  scheduledWriter,
  type InstallationOctokit,
} from "../../src/github/scheduled-writer.js";
import { GITHUB_WRITE_LIMITS, MemoryWriteLimiter } from "../../src/github/write-limits.js";
import { WriteScheduler, WriteSuperseded } from "../../src/github/write-scheduler.js";

const API = "https://api.github.com";
const limits = { ...GITHUB_WRITE_LIMITS, minGapMs: 0 };

function probotOctokit(calls: string[]): InstallationOctokit {
  const request = Object.assign(
    async (route: string) => {
      calls.push(route);
      return { data: { via: "probot" } };
    },
    { endpoint: { DEFAULTS: { baseUrl: API } } },
  );
  return {
    auth: async () => ({ token: "ghs_scheduledwritertoken000000000000" }),
    request,
  } as InstallationOctokit;
}

afterEach(() => {
  nock.cleanAll();
});

describe("scheduledWriter", () => {
  test("check and digest writes go through the scheduler with the installation token; the rest to Probot's Octokit", async () => {
    const scheduler = new WriteScheduler({
      limiter: new MemoryWriteLimiter(limits),
      limits,
      log: () => undefined,
    });
    const calls: string[] = [];
    const writer = scheduledWriter(scheduler, 1, probotOctokit(calls), () => false);
    const scope = nock(API, { reqheaders: { authorization: "token ghs_scheduledwritertoken000000000000" } })
      .post("/repos/o/r/check-runs")
      .reply(201, { id: 5 })
      .patch("/repos/o/r/issues/comments/9")
      .reply(200, { id: 9 });
    await expect(
      writer.request("POST /repos/{owner}/{repo}/check-runs", {
        owner: "o",
        repo: "r",
        name: "changegate",
        head_sha: "a".repeat(40),
      }),
    ).resolves.toEqual({ data: { id: 5 } });
    await expect(
      writer.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
        owner: "o",
        repo: "r",
        comment_id: 9,
        body: "x",
      }),
    ).resolves.toEqual({ data: { id: 9 } });
    await expect(
      writer.request("GET /repos/{owner}/{repo}/collaborators/{username}/permission", {
        owner: "o",
        repo: "r",
        username: "u",
      }),
    ).resolves.toEqual({ data: { via: "probot" } });
    expect(calls).toEqual(["GET /repos/{owner}/{repo}/collaborators/{username}/permission"]);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(scheduler.counts.sent).toBe(2);
  });

  test("a superseded write is not sent", async () => {
    const scheduler = new WriteScheduler({
      limiter: new MemoryWriteLimiter(limits),
      limits,
      log: () => undefined,
    });
    const writer = scheduledWriter(scheduler, 1, probotOctokit([]), () => true);
    const scope = nock(API).post("/repos/o/r/issues/1/comments").reply(201, { id: 1 });
    await expect(
      writer.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
        owner: "o",
        repo: "r",
        issue_number: 1,
        body: "x",
      }),
    ).rejects.toBeInstanceOf(WriteSuperseded);
    expect(scope.isDone()).toBe(false);
  });

  test("a check write that is not a success is sent even when superseded: only a greener check may wait for a newer evaluation", async () => {
    const scheduler = new WriteScheduler({
      limiter: new MemoryWriteLimiter(limits),
      limits,
      log: () => undefined,
    });
    const writer = scheduledWriter(scheduler, 1, probotOctokit([]), () => true);
    const scope = nock(API)
      .patch("/repos/o/r/check-runs/7", (b: { conclusion?: string }) => b.conclusion === "failure")
      .reply(200, { id: 7 })
      .patch(
        "/repos/o/r/check-runs/7",
        (b: { status?: string; conclusion?: string }) =>
          b.status === "in_progress" && b.conclusion === undefined,
      )
      .reply(200, { id: 7 });
    const route = "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}";
    await expect(
      writer.request(route, {
        owner: "o",
        repo: "r",
        check_run_id: 7,
        status: "completed",
        conclusion: "failure",
      }),
    ).resolves.toEqual({ data: { id: 7 } });
    await expect(
      writer.request(route, { owner: "o", repo: "r", check_run_id: 7, status: "in_progress" }),
    ).resolves.toEqual({ data: { id: 7 } });
    // A green check for an evaluation that is already outdated waits for the newer one instead.
    await expect(
      writer.request(route, {
        owner: "o",
        repo: "r",
        check_run_id: 7,
        status: "completed",
        conclusion: "success",
      }),
    ).rejects.toBeInstanceOf(WriteSuperseded);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });
});

describe("every write goes through the one scheduler (issue 20 item 7)", () => {
  function counting() {
    const kinds: { check: boolean; create: boolean; urgent: boolean }[] = [];
    const scheduler = new WriteScheduler({
      limiter: new MemoryWriteLimiter(limits),
      limits,
      log: () => undefined,
    });
    const submit = scheduler.submit.bind(scheduler);
    scheduler.submit = (req) => {
      kinds.push({ check: req.check, create: req.create, urgent: req.urgent === true });
      return submit(req);
    };
    return { scheduler, kinds };
  }

  test("issues, issue comments, merge-group and retro-review checks and a GraphQL mutation are paced and counted; reads are not", async () => {
    const { scheduler, kinds } = counting();
    const calls: string[] = [];
    const octokit = pacedOctokit(scheduler, 1, Object.assign(probotOctokit(calls), { extra: 42 }));
    const scope = nock(API)
      .post("/repos/o/audit/issues")
      .reply(201, { number: 3 })
      .post("/repos/o/audit/issues/3/comments")
      .reply(201, { id: 4 })
      .post("/repos/o/r/check-runs")
      .reply(201, { id: 5 })
      .post("/graphql")
      .reply(200, { data: {} });
    await octokit.request("POST /repos/{owner}/{repo}/issues", {
      owner: "o",
      repo: "audit",
      title: "t",
      body: "b",
    });
    await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner: "o",
      repo: "audit",
      issue_number: 3,
      body: "entry",
    });
    await octokit.request("POST /repos/{owner}/{repo}/check-runs", {
      owner: "o",
      repo: "r",
      name: "changegate",
      head_sha: "a".repeat(40),
      conclusion: "success",
    });
    await octokit.request("POST /graphql", {
      query: "mutation($id: ID!) { pinIssue(input: {issueId: $id}) { issue { number } } }",
      variables: { id: "I_1" },
    });
    await octokit.request("GET /repos/{owner}/{repo}/issues", { owner: "o", repo: "audit" });
    await octokit.request("POST /graphql", { query: "query { viewer { login } }" });
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(calls).toEqual(["GET /repos/{owner}/{repo}/issues", "POST /graphql"]);
    expect(scheduler.counts.sent).toBe(4);
    // Three creations (issue, comment, check run), one update (the pin); nothing of theirs may be dropped, so all go first.
    expect(kinds).toEqual([
      { check: false, create: true, urgent: true },
      { check: false, create: true, urgent: true },
      { check: true, create: true, urgent: true },
      { check: false, create: false, urgent: true },
    ]);
    // The Octokit's other members are its own.
    expect((octokit as unknown as { extra: number }).extra).toBe(42);
    expect(octokit.request.endpoint.DEFAULTS.baseUrl).toBe(API);
  });

  test("a writer that may drop nothing (a merge's bypass entry) sends its comment even while a newer evaluation waits", async () => {
    const { scheduler } = counting();
    const writer = scheduledWriter(scheduler, 1, probotOctokit([]), null);
    const scope = nock(API).post("/repos/o/audit/issues/3/comments").reply(201, { id: 1 });
    await expect(
      writer.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
        owner: "o",
        repo: "audit",
        issue_number: 3,
        body: "bypass",
      }),
    ).resolves.toEqual({ data: { id: 1 } });
    expect(scope.isDone()).toBe(true);
  });

  test("an evaluation's failure check is urgent, its green check and digest are not", async () => {
    const { scheduler, kinds } = counting();
    const writer = scheduledWriter(scheduler, 1, probotOctokit([]), () => false);
    const scope = nock(API)
      .post("/repos/o/r/check-runs")
      .times(2)
      .reply(201, { id: 5 })
      .post("/repos/o/r/issues/1/comments")
      .reply(201, { id: 6 });
    await writer.request("POST /repos/{owner}/{repo}/check-runs", {
      owner: "o",
      repo: "r",
      head_sha: "a".repeat(40),
      conclusion: "failure",
    });
    await writer.request("POST /repos/{owner}/{repo}/check-runs", {
      owner: "o",
      repo: "r",
      head_sha: "a".repeat(40),
      conclusion: "success",
    });
    await writer.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner: "o",
      repo: "r",
      issue_number: 1,
      body: "digest",
    });
    expect(kinds.map((k) => k.urgent)).toEqual([true, false, false]);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });
});
