/**
 * The merge gate end to end inside one process: a real Probot instance receives real-shaped
 * webhooks; GitHub is nock. Every test asserts the exact requests made (the API budget).
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import nock from "nock";
import { DIGEST_MARKER } from "../../src/contract.js";
import { MemoryDeliveryLedger } from "../../src/intake/memory-ledger.js";
import { APP_ID, evidenceData, HEAD, INSTALLATION_ID, OLD, type EvidenceSpec } from "../helpers/fixtures.js";
import {
  checkRunEvent,
  checkSuiteCompleted,
  pullRequestEvent,
  reviewEvent,
  statusEvent,
} from "../helpers/payloads.js";
import { API, harness, mockToken, recordRequests, type Harness, type Recorded } from "../helpers/probot.js";

const REPO_PATH = "/repos/acme/payments";

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

interface CheckBody {
  name: string;
  head_sha?: string;
  status: string;
  conclusion?: string;
  output: { title: string; summary: string };
  actions: { identifier: string }[];
}

/** GitHub for one evaluation: the evidence read, then whichever writes the test expects. */
function github(
  spec: EvidenceSpec,
  writes: { check?: "create" | "update" | "none"; comment?: "create" | "update" | "none" } = {},
) {
  const scope = mockToken()
    .post("/graphql")
    .reply(200, { data: evidenceData(spec) });
  const check = writes.check ?? "create";
  const comment = writes.comment ?? "create";
  if (check === "create") scope.post(`${REPO_PATH}/check-runs`).reply(201, { id: 555 });
  if (check === "update")
    scope
      .patch(`${REPO_PATH}/check-runs/${spec.ownCheck?.id ?? 555}`)
      .reply(200, { id: spec.ownCheck?.id ?? 555 });
  if (comment === "create")
    scope.post(`${REPO_PATH}/issues/${spec.number ?? 1}/comments`).reply(201, { id: 777 });
  if (comment === "update")
    scope.patch(`${REPO_PATH}/issues/comments/${spec.digest?.id ?? 777}`).reply(200, { id: 777 });
  const requests = recordRequests(scope);
  return { scope, requests };
}

function written(requests: Recorded[]) {
  const check = requests.find((r) => r.path.includes("/check-runs"))?.body as CheckBody | undefined;
  const comment = requests.find((r) => r.method !== "GET" && r.path.includes("/comments"))?.body as
    { body: string } | undefined;
  return { check, comment: comment?.body };
}

function calls(requests: Recorded[]): string[] {
  return requests.map((r) => `${r.method} ${r.path.replace(/\?.*$/, "")}`);
}

async function evaluateOnce(
  h: Harness,
  spec: EvidenceSpec,
  writes?: Parameters<typeof github>[1],
  event: [string, unknown] = ["pull_request", pullRequestEvent("synchronize")],
) {
  const gh = github(spec, writes);
  await h.deliver(event[0], event[1]);
  expect(gh.scope.pendingMocks()).toStrictEqual([]);
  return { ...written(gh.requests), requests: gh.requests };
}

describe("verdicts", () => {
  test("compliant: one read, the check before the comment, and the digest lists what ships", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, { reviews: [{ login: "alice" }] });
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(r.requests[0]!.body).toMatchObject({
      variables: { appId: APP_ID, owner: "acme", name: "payments", number: 1 },
    });
    expect(r.check).toMatchObject({
      name: "changegate",
      head_sha: HEAD,
      status: "completed",
      conclusion: "success",
    });
    expect(r.check!.output.title).toMatch(/^Compliant/);
    expect(r.check!.actions).toEqual([expect.objectContaining({ identifier: "reevaluate" })]);
    expect(r.comment).toContain(DIGEST_MARKER);
    expect(r.comment!.split("\n")[0]).toMatch(/compliant — ready to merge/);
    expect(r.comment).toContain("What is about to ship");
    expect(r.comment).toContain("built-in defaults");
    expect(r.check!.output.summary).toBe(r.comment!.replace(`\n\n${DIGEST_MARKER}`, ""));
  });

  test("no approval: failure, and the digest says what to do", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, { reviews: [] });
    expect(r.check).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(r.check!.output.title).toMatch(/^Not compliant: approvals: 0 of 1 required/);
    expect(r.comment).toContain("### What to do");
    expect(r.comment).not.toContain("What is about to ship");
  });

  test("a stale approval, the author's own and a contributor's do not count, each with its reason", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, {
      author: "dev",
      commits: [{ oid: HEAD, authors: ["dev", "carol"] }],
      reviews: [{ login: "bob", commit: OLD }, { login: "carol" }, { login: "dev", state: "COMMENTED" }],
    });
    expect(r.check!.conclusion).toBe("failure");
    expect(r.comment).toContain("not the head commit");
    expect(r.comment).toContain("committed to this PR");
  });

  test("changes requested by a writer blocks even with enough approvals", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, {
      reviews: [{ login: "alice" }, { login: "bob", state: "CHANGES_REQUESTED" }],
    });
    expect(r.check!.conclusion).toBe("failure");
    expect(r.check!.output.title).toContain("changes requested by bob");
  });

  test("CI pending and nothing failed: in_progress, naming what it waits for", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, {
      reviews: [{ login: "alice" }],
      checks: [{ name: "build", status: "IN_PROGRESS" }],
    });
    expect(r.check!.status).toBe("in_progress");
    expect(r.check!.conclusion).toBeUndefined();
    expect(r.check!.output.title).toBe("Waiting: ci: waiting for build");
  });

  test("a required check that never ran is pending, not green", async () => {
    const h = await harness();
    const policy = "ci:\n  required: [build, e2e]\n";
    const r = await evaluateOnce(h, { policy, reviews: [{ login: "alice" }] });
    expect(r.check!.status).toBe("in_progress");
    expect(r.comment).toContain("e2e");
    expect(r.comment).toContain("acme/payments:.github/changegate.yml");
  });

  test("a required check pinned to an app is met only by that app's check run, not by a same-named run or status from anyone else", async () => {
    const h = await harness();
    const policy =
      "ci:\n  required:\n    - { name: build, app: github-actions }\n    - { name: ci/jenkins, creator: jenkins-bot }\n";
    const spoofs: EvidenceSpec = {
      policy,
      reviews: [{ login: "alice" }],
      checks: [{ name: "build", conclusion: "SUCCESS", appId: 666, slug: "evil-app" }],
      statuses: [
        { context: "build", state: "SUCCESS", creator: { __typename: "User", login: "mallory" } },
        { context: "ci/jenkins", state: "SUCCESS", creator: { __typename: "Bot", login: "jenkins-bot" } },
      ],
    };
    const spoofed = await evaluateOnce(h, spoofs);
    expect(calls(spoofed.requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(spoofed.check).toMatchObject({ status: "in_progress" });
    expect(spoofed.check!.conclusion).toBeUndefined();
    expect(spoofed.check!.output.title).toBe(
      "Waiting: ci: waiting for build (check run by app github-actions), ci/jenkins (commit status by jenkins-bot)",
    );
    expect(spoofed.comment).toContain(
      "**build** was reported by app evil\\-app, not github\\-actions: not counted.",
    );
    expect(spoofed.comment).toContain(
      "**build** was reported as a commit status by mallory, not as a check run by app github\\-actions: not counted.",
    );
    // a GitHub App's bot is jenkins-bot[bot], not the user jenkins-bot the policy names
    expect(spoofed.comment).toContain(
      "**ci/jenkins** was reported by jenkins\\-bot\\[bot\\], not jenkins\\-bot: not counted.",
    );

    const real = await evaluateOnce(await harness(), {
      ...spoofs,
      checks: [...spoofs.checks!, { name: "build", conclusion: "SUCCESS" }],
      statuses: [
        ...spoofs.statuses!.slice(0, 1),
        { context: "ci/jenkins", state: "SUCCESS", creator: { __typename: "User", login: "jenkins-bot" } },
      ],
    });
    expect(calls(real.requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(real.check).toMatchObject({ status: "completed", conclusion: "success" });
    expect(real.comment).toContain(
      "| [build](https://ci.example.com/build) | ✅ success | yes, pinned to a check run by app github\\-actions | app github\\-actions |",
    );
    expect(real.comment).toContain(
      "| ci/jenkins | ✅ success | yes, pinned to a commit status by jenkins\\-bot | commit status by jenkins\\-bot |",
    );
    // the foreign ones are still listed, and still say why they did not count
    expect(real.comment).toContain(
      "**build** was reported by app evil\\-app, not github\\-actions: not counted.",
    );
  });

  test("a failing foreign check of a pinned name still fails CI", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, {
      policy: "ci:\n  required: [{ name: build, app: github-actions }]\n",
      reviews: [{ login: "alice" }],
      checks: [
        { name: "build", conclusion: "SUCCESS" },
        { name: "build", conclusion: "FAILURE", appId: 666, slug: "evil-app" },
      ],
    });
    expect(r.check).toMatchObject({ status: "completed", conclusion: "failure" });
  });

  test("failing CI fails; changegate's own check run is not CI", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, {
      reviews: [{ login: "alice" }],
      checks: [
        { name: "build", conclusion: "FAILURE" },
        { name: "changegate", conclusion: "FAILURE", appId: APP_ID },
      ],
    });
    expect(r.check!.conclusion).toBe("failure");
    expect(r.check!.output.title).toBe("Not compliant: ci: 1 check failed");
  });

  test("draft PRs are evaluated and the digest says draft", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, { draft: true, reviews: [{ login: "alice" }] });
    expect(r.check!.conclusion).toBe("success");
    expect(r.comment!.split("\n")[0]).toContain("(draft)");
    expect(r.check!.output.title).toMatch(/^Draft · /);
  });

  test("emergency label GitHub's timeline has no label event for: ignored (nobody known declared it), normal rules", async () => {
    // The accepted path (a label event, the labeled delivery, write access) is test/integration/declarer.test.ts.
    const h = await harness();
    const r = await evaluateOnce(h, {
      labels: ["Emergency"],
      reviews: [],
      checks: [{ name: "build", conclusion: "FAILURE" }],
    });
    expect(r.check!.conclusion).toBe("failure");
    expect(r.check!.output.title).toMatch(/^Emergency label ignored/);
    expect(r.comment).toContain("no record of who applied the emergency label or on which commit");
    expect(r.comment).not.toContain("retroactive review will be required");
  });

  test("base branch not gated: success 'Not gated' and no comment", async () => {
    const h = await harness();
    const r = await evaluateOnce(
      h,
      { base: "experiments", policy: "branches: [main, 'release/*']\n" },
      { comment: "none" },
    );
    expect(r.check).toMatchObject({ conclusion: "success" });
    expect(r.check!.output.title).toBe("Not gated: experiments is not a gated branch");
  });

  test("the owner's .github policy applies when the repository has none", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, {
      policy: null,
      orgPolicy: "approvals:\n  required: 2\n",
      reviews: [{ login: "alice" }],
    });
    expect(r.check!.output.title).toContain("1 of 2 required");
    expect(r.comment).toContain("acme/.github:.github/changegate.yml");
  });

  test("an invalid policy fails the check, naming the file, the key path and the problem", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, {
      policy: "approvals:\n  required: two\n  reviewers: 3\n",
      reviews: [{ login: "alice" }],
    });
    expect(r.check!.conclusion).toBe("failure");
    expect(r.check!.output.title).toContain("acme/payments:.github/changegate.yml");
    expect(r.check!.output.title).toContain("approvals.required");
    expect(r.comment).toContain("approvals.reviewers");
    expect(r.comment).toContain("unknown key");
  });

  test("_extends reads the base policy with one more read", async () => {
    const h = await harness();
    const gh = github({
      policy: "_extends: acme/policies\nci:\n  required: [build]\n",
      reviews: [{ login: "alice" }],
    });
    gh.scope.post("/graphql").reply(200, {
      data: { repository: { object: { text: "approvals:\n  required: 2\n", isTruncated: false } } },
    });
    await h.deliver("pull_request", pullRequestEvent("opened"));
    expect(gh.scope.pendingMocks()).toStrictEqual([]);
    expect(written(gh.requests).check!.output.title).toContain("1 of 2 required");
  });
});

describe("writes", () => {
  test("nothing changed: zero writes", async () => {
    const h = await harness();
    const first = await evaluateOnce(h, { reviews: [{ login: "alice" }] });
    const spec: EvidenceSpec = {
      reviews: [{ login: "alice" }],
      ownCheck: {
        id: 555,
        status: "COMPLETED",
        conclusion: "SUCCESS",
        title: first.check!.output.title,
        summary: first.check!.output.summary,
      },
      digest: { id: 777, body: first.comment! },
    };
    const second = await evaluateOnce(h, spec, { check: "none", comment: "none" });
    expect(calls(second.requests)).toEqual(["POST /graphql"]);
  });

  test("a changed verdict edits the check and the comment in place", async () => {
    const h = await harness();
    const r = await evaluateOnce(
      h,
      {
        reviews: [],
        ownCheck: {
          id: 555,
          status: "COMPLETED",
          conclusion: "SUCCESS",
          title: "Compliant: approvals ok",
          summary: "old",
        },
        digest: { id: 777, body: `old\n${DIGEST_MARKER}` },
      },
      { check: "update", comment: "update" },
    );
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      `PATCH ${REPO_PATH}/check-runs/555`,
      `PATCH ${REPO_PATH}/issues/comments/777`,
    ]);
    expect(r.check!.conclusion).toBe("failure");
  });

  test("from completed back to waiting for CI, a new check run replaces the completed one", async () => {
    const h = await harness();
    const r = await evaluateOnce(
      h,
      {
        reviews: [{ login: "alice" }],
        checks: [{ name: "build", status: "QUEUED" }],
        ownCheck: { id: 555, status: "COMPLETED", conclusion: "FAILURE", title: "x", summary: "y" },
        digest: { id: 777, body: `old\n${DIGEST_MARKER}` },
      },
      { check: "create", comment: "update" },
    );
    expect(r.check!.status).toBe("in_progress");
  });

  test("a deleted digest comment is posted again rather than failing", async () => {
    const h = await harness();
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ reviews: [], digest: { id: 777, body: `old ${DIGEST_MARKER}` } }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 1 })
      .patch(`${REPO_PATH}/issues/comments/777`)
      .reply(404, { message: "Not Found" })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 778 });
    await h.deliver("pull_request", pullRequestEvent("edited"));
    expect(scope.pendingMocks()).toStrictEqual([]);
  });
});

describe("events", () => {
  test("a review re-evaluates its PR", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, { reviews: [{ login: "alice" }] }, {}, [
      "pull_request_review",
      reviewEvent("submitted"),
    ]);
    expect(r.check!.conclusion).toBe("success");
  });

  test("check_suite completed with its PR list evaluates those PRs without a lookup", async () => {
    const h = await harness();
    const r = await evaluateOnce(h, { number: 4, reviews: [{ login: "alice" }] }, {}, [
      "check_suite",
      checkSuiteCompleted({ pulls: [4] }),
    ]);
    expect(calls(r.requests)[0]).toBe("POST /graphql");
    expect(r.requests[0]!.body).toMatchObject({ variables: { number: 4 } });
  });

  test("check_suite from a fork (empty PR list) finds the open PRs whose head is that sha", async () => {
    const h = await harness();
    const gh = github({ number: 9, reviews: [{ login: "alice" }] });
    gh.scope
      .get(`${REPO_PATH}/pulls`)
      .query({ state: "open", per_page: 100, page: 1 })
      .reply(200, [
        { number: 8, state: "open", head: { sha: OLD }, base: { repo: { full_name: "acme/payments" } } },
        { number: 9, state: "open", head: { sha: HEAD }, base: { repo: { full_name: "acme/payments" } } },
      ]);
    await h.deliver("check_suite", checkSuiteCompleted({ pulls: [] }));
    expect(gh.scope.pendingMocks()).toStrictEqual([]);
    expect(calls(gh.requests)).toEqual([
      `GET ${REPO_PATH}/pulls`,
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/9/comments`,
    ]);
  });

  test("a status event for a head seen in a pull_request event needs no lookup", async () => {
    const h = await harness();
    await evaluateOnce(h, { reviews: [] });
    const r = await evaluateOnce(h, { reviews: [], digest: { id: 777, body: "x" } }, { comment: "update" }, [
      "status",
      statusEvent(HEAD),
    ]);
    expect(calls(r.requests)[0]).toBe("POST /graphql");
  });

  test("a status on a commit that no open PR has is ignored after one lookup", async () => {
    const h = await harness();
    const scope = mockToken().get(`${REPO_PATH}/pulls`).query(true).reply(200, []);
    scope.persist(false);
    await h.deliver("status", statusEvent("d".repeat(40)));
    await h.deliver("status", statusEvent("d".repeat(40)));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(h.changegate.stats().evaluations).toBe(0);
  });

  test("our own check run completing, and our own check suite, trigger nothing", async () => {
    const h = await harness();
    await h.deliver("check_run", checkRunEvent("completed", { appId: APP_ID, pulls: [1] }));
    await h.deliver("check_suite", checkSuiteCompleted({ appId: APP_ID, pulls: [1] }));
    expect(h.changegate.stats().evaluations).toBe(0);
  });

  test("a CI check run created after the evaluation evaluates again (its pending run holds the verdict); our own does not", async () => {
    const h = await harness();
    await evaluateOnce(h, { reviews: [] }, {}, [
      "check_run",
      checkRunEvent("created", { appId: 999, pulls: [1] }),
    ]);
    await h.deliver("check_run", checkRunEvent("created", { appId: APP_ID, pulls: [1] }));
    expect(h.changegate.stats().evaluations).toBe(1);
  });

  test("Re-evaluate (requested_action) and re-run (rerequested) on our check evaluate now", async () => {
    const h = await harness();
    await evaluateOnce(h, { reviews: [] }, {}, [
      "check_run",
      checkRunEvent("requested_action", { appId: APP_ID, pulls: [1] }),
    ]);
    await evaluateOnce(h, { reviews: [], digest: { id: 777, body: "x" } }, { comment: "update" }, [
      "check_run",
      checkRunEvent("rerequested", { appId: APP_ID, pulls: [1] }),
    ]);
    expect(h.changegate.stats().evaluations).toBe(2);
  });

  test("another app's button, and an unknown action identifier, are ignored", async () => {
    const h = await harness();
    await h.deliver("check_run", checkRunEvent("rerequested", { appId: 999, pulls: [1] }));
    await h.deliver(
      "check_run",
      checkRunEvent("requested_action", { appId: APP_ID, pulls: [1], identifier: "other" }),
    );
    expect(h.changegate.stats().evaluations).toBe(0);
  });

  test("a duplicate delivery is processed once", async () => {
    const h = await harness();
    const gh = github({ reviews: [] });
    await h.deliver("pull_request", pullRequestEvent("opened"), "same-id");
    await h.deliver("pull_request", pullRequestEvent("opened"), "same-id");
    expect(gh.scope.pendingMocks()).toStrictEqual([]);
    expect(h.changegate.stats()).toMatchObject({ evaluations: 1, duplicates: 1 });
  });

  test("an event without an installation (a repository webhook) is ignored, not an error", async () => {
    const h = await harness();
    const payload = pullRequestEvent("opened") as unknown as Record<string, unknown>;
    delete payload.installation;
    await h.deliver("pull_request", payload);
    expect(h.changegate.stats()).toMatchObject({ evaluations: 0, deliveries: 1 });
    expect(h.logs.some((l) => l.level >= 50)).toBe(false);
    expect(h.logs.map((l) => l.msg)).toContainEqual(expect.stringContaining("without an installation"));
  });

  test("a closed, unmerged PR is not evaluated", async () => {
    const h = await harness();
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: false }));
    expect(h.changegate.stats().evaluations).toBe(0);
  });
});

describe("deliveries", () => {
  test("a delivery whose evaluation never finished (process killed) is resumed at start-up", async () => {
    const ledger = new MemoryDeliveryLedger();
    await ledger.claim("lost-1");
    await ledger.pending("lost-1", [
      {
        ref: { installationId: INSTALLATION_ID, owner: "acme", repo: "payments", number: 1 },
        event: "pull_request.opened",
        expectedHead: HEAD,
        merge: false,
      },
    ]);
    const gh = github({ reviews: [{ login: "alice" }] });
    const h = await harness({ ledger });
    await h.changegate.idle();
    expect(await h.changegate.resumed()).toBe(1);
    expect(gh.scope.pendingMocks()).toStrictEqual([]);
    expect(await ledger.unfinished()).toEqual([]);
  });

  test("a finished delivery leaves nothing to resume, and its redelivery is ignored", async () => {
    const ledger = new MemoryDeliveryLedger();
    const h = await harness({ ledger });
    const gh = github({ reviews: [] });
    await h.deliver("pull_request", pullRequestEvent("opened"), "d-1");
    await h.deliver("pull_request", pullRequestEvent("opened"), "d-1");
    expect(gh.scope.pendingMocks()).toStrictEqual([]);
    expect(await ledger.unfinished()).toEqual([]);
    expect(h.changegate.stats().evaluations).toBe(1);
  });
});

describe("reconcile", () => {
  test("at start-up every installation's open PRs are evaluated (events missed while down)", async () => {
    const gh = github({ number: 3, reviews: [{ login: "alice" }] });
    gh.scope
      .get("/app/installations")
      .query(true)
      .reply(200, [{ id: INSTALLATION_ID }])
      .get("/installation/repositories")
      .query(true)
      .reply(200, {
        total_count: 2,
        repositories: [{ full_name: "acme/payments" }, { full_name: "acme/old", archived: true }],
      })
      .get(`${REPO_PATH}/pulls`)
      .query({ state: "open", per_page: 100, page: 1 })
      .reply(200, [{ number: 3, head: { sha: HEAD } }]);
    const h = await harness({ reconcileOnStart: true });
    await h.changegate.idle();
    expect(gh.scope.pendingMocks()).toStrictEqual([]);
    expect(calls(gh.requests)).toEqual([
      "GET /app/installations",
      "GET /installation/repositories",
      `GET ${REPO_PATH}/pulls`,
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/3/comments`,
    ]);
  });
});

describe("merges", () => {
  test("a merge whose check was not green logs 'is non-compliant!' and writes nothing", async () => {
    const h = await harness();
    const scope = mockToken()
      .post("/graphql")
      .reply(200, {
        data: evidenceData({
          state: "MERGED",
          mergedBy: "mallory",
          ownCheck: { id: 5, status: "COMPLETED", conclusion: "FAILURE", title: "x", summary: "y" },
        }),
      });
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
    expect(scope.pendingMocks()).toStrictEqual([]);
    const line = h.logs.find((l) => l.msg.includes("is non-compliant!"));
    expect(line?.msg).toContain("acme/payments#1 merged by mallory is non-compliant!");
    expect(line?.msg).toContain("https://github.com/acme/payments/pull/1");
  });

  test("a merge changegate never judged is a bypass too", async () => {
    const h = await harness();
    mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ state: "MERGED" }) });
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
    expect(h.logs.some((l) => l.msg.includes("is non-compliant!") && l.msg.includes("never judged"))).toBe(
      true,
    );
  });

  test("a bypass is listed in audit.issue_repo, once: a repeated merge record opens nothing", async () => {
    const merges: { outcome: string; gated?: boolean }[] = [];
    let duplicate = false;
    const h = await harness({
      recorder: {
        recordEvaluation: async () => {},
        recordMerge: async (rec) => {
          merges.push({ outcome: rec.outcome, gated: rec.gated });
          return { id: "acme/payments@7", duplicate };
        },
        verdictsAt: async () => new Map(),
      },
    });
    const policy = "audit:\n  issue_repo: acme/compliance\n";
    const merged = evidenceData({ state: "MERGED", mergedBy: "mallory", policy });
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: merged })
      .get("/repos/acme/compliance/issues")
      .query({ state: "open", labels: "changegate-bypass", per_page: 100 })
      .reply(200, [])
      .post(
        "/repos/acme/compliance/issues",
        (b: { title: string; body: string; labels: string[] }) =>
          b.body.includes("acme/payments@7") && b.labels[0] === "changegate-bypass",
      )
      .reply(201, { number: 12 });
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(merges).toEqual([{ outcome: "none", gated: true }]);
    expect(h.logs.map((l) => l.msg)).toContainEqual(expect.stringContaining("listed in acme/compliance#12"));

    duplicate = true;
    const again = mockToken().post("/graphql").reply(200, { data: merged });
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
    expect(again.pendingMocks()).toStrictEqual([]);
  });

  test("a merge into a branch that is not gated is not a bypass", async () => {
    const h = await harness();
    mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ state: "MERGED", base: "sandbox" }) });
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: true, base: "sandbox" }));
    expect(h.logs.some((l) => l.msg.includes("is non-compliant!"))).toBe(false);
  });

  test("a compliant merge is not flagged", async () => {
    const h = await harness();
    await evaluateOnce(h, { reviews: [{ login: "alice" }] });
    mockToken()
      .post("/graphql")
      .reply(200, {
        data: evidenceData({
          state: "MERGED",
          ownCheck: { id: 5, status: "COMPLETED", conclusion: "SUCCESS", title: "x", summary: "y" },
        }),
      });
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
    expect(h.logs.some((l) => l.msg.includes("is non-compliant!"))).toBe(false);
    expect(h.logs.map((l) => l.msg)).toContainEqual(expect.stringContaining("merged (compliant)"));
  });
});

describe("failure report", () => {
  test("GitHub failing the read: check failure on the announced head, stack in the digest, no secret", async () => {
    const h = await harness();
    const scope = mockToken()
      .post("/graphql")
      .reply(502, { message: "Bad gateway (token ghs_abcdefghijklmnopqrstuvwxyz123456)" })
      .get(`${REPO_PATH}/issues/1/comments`)
      .query(true)
      .reply(200, [{ id: 31, body: `old ${DIGEST_MARKER}`, performed_via_github_app: { id: APP_ID } }])
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 1 })
      .patch(`${REPO_PATH}/issues/comments/31`)
      .reply(200, { id: 31 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("synchronize"));
    expect(scope.pendingMocks()).toStrictEqual([]);
    const { check, comment } = written(requests);
    expect(check).toMatchObject({ head_sha: HEAD, status: "completed", conclusion: "failure" });
    expect(check!.output.title).toMatch(/^changegate error while reading the pull request from GitHub/);
    expect(comment).toContain("changegate failed — this is changegate's fault, not yours");
    expect(comment).toContain("<details><summary>Stack trace</summary>");
    expect(comment).toMatch(/at .*reader/);
    expect(comment).toContain(`Head \`${HEAD.slice(0, 12)}\``);
    expect(comment).not.toContain("ghs_abcdefghijklmnopqrstuvwxyz123456");
    expect(JSON.stringify(h.logs)).not.toContain("ghs_abcdefghijklmnopqrstuvwxyz123456");
  });

  test("malformed evidence from GitHub is a failure report, not a crash or a pass", async () => {
    const h = await harness();
    const data = evidenceData({ reviews: [{ login: "alice" }] }) as {
      repository: { pullRequest: Record<string, unknown> };
    };
    data.repository.pullRequest.headRefOid = 42;
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data })
      .get(`${REPO_PATH}/issues/1/comments`)
      .query(true)
      .reply(200, [])
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 1 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("opened"));
    expect(scope.pendingMocks()).toStrictEqual([]);
    const { check } = written(requests);
    expect(check!.conclusion).toBe("failure");
    expect(check!.output.summary).toContain("headRefOid");
  });

  test("publishing fails: retried, then a failure check is attempted; nothing left green", async () => {
    const h = await harness({ publishBackoffMs: [0] });
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ reviews: [{ login: "alice" }] }) })
      .post(`${REPO_PATH}/check-runs`)
      .times(2)
      .reply(500, { message: "boom" })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 9 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("opened"));
    expect(scope.pendingMocks()).toStrictEqual([]);
    const last = requests.filter((r) => r.path.endsWith("/check-runs")).at(-1)!.body as unknown as CheckBody;
    expect(last.conclusion).toBe("failure");
    expect(last.output.title).toContain("publishing the result");
  });

  test("the audit store failing turns a green verdict into a failure report", async () => {
    const h = await harness({
      recorder: {
        recordEvaluation: async () => {
          throw new Error("disk full");
        },
        recordMerge: async () => null,
        verdictsAt: async () => new Map(),
      },
    });
    const r = await evaluateOnce(h, { reviews: [{ login: "alice" }] });
    expect(r.check!.conclusion).toBe("failure");
    expect(r.check!.output.title).toContain("audit store failed");
  });
});

describe("concurrency", () => {
  test("a burst during an evaluation coalesces into one follow-up evaluation", async () => {
    const h = await harness();
    const scope = mockToken()
      .post("/graphql")
      .delay(200)
      .reply(200, { data: evidenceData({ reviews: [] }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 777 })
      .post("/graphql")
      .reply(200, { data: evidenceData({ reviews: [{ login: "alice" }], digest: { id: 777, body: "x" } }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 556 })
      .patch(`${REPO_PATH}/issues/comments/777`)
      .reply(200, { id: 777 });
    const requests = recordRequests(scope);
    const first = h.probot.receive({
      id: "b0",
      name: "pull_request",
      payload: pullRequestEvent("opened"),
    } as never);
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all([
      h.probot.receive({ id: "b1", name: "pull_request_review", payload: reviewEvent("submitted") } as never),
      h.probot.receive({
        id: "b2",
        name: "check_suite",
        payload: checkSuiteCompleted({ pulls: [1] }),
      } as never),
      h.probot.receive({ id: "b3", name: "status", payload: statusEvent(HEAD) } as never),
      h.probot.receive({ id: "b4", name: "pull_request", payload: pullRequestEvent("labeled") } as never),
    ]);
    await first;
    await h.changegate.idle();
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(requests.filter((r) => r.path === "/graphql")).toHaveLength(2);
    expect(h.changegate.stats().evaluations).toBe(2);
    const lastCheck = requests.filter((r) => r.path.endsWith("/check-runs")).at(-1)!
      .body as unknown as CheckBody;
    expect(lastCheck.conclusion).toBe("success");
  });

  test("a read that lags behind the pushed head is retried; nothing is published for the old head", async () => {
    const h = await harness({ staleHeadBackoffMs: [0, 0] });
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ head: OLD, reviews: [] }) })
      .post("/graphql")
      .reply(200, { data: evidenceData({ head: HEAD, reviews: [] }) })
      .post(`${REPO_PATH}/check-runs`, (b: { head_sha: string }) => b.head_sha === HEAD)
      .reply(201, { id: 1 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 2 });
    await h.deliver("pull_request", pullRequestEvent("synchronize", { head: HEAD }));
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("a read that is ahead of the webhook (the announced head is an older commit of the PR) is not re-read", async () => {
    const h = await harness({ staleHeadBackoffMs: [0, 0, 0] });
    const gh = github({ head: HEAD, commits: [{ oid: OLD }, { oid: HEAD }], reviews: [] });
    await h.deliver("pull_request", pullRequestEvent("synchronize", { head: OLD }));
    expect(gh.scope.pendingMocks()).toStrictEqual([]);
    expect(gh.requests.filter((r) => r.path === "/graphql")).toHaveLength(1);
  });

  test("an out-of-order older pull_request event does not move the expected head back", async () => {
    const h = await harness({ staleHeadBackoffMs: [0] });
    const g1 = github({ head: HEAD, reviews: [] });
    await h.deliver(
      "pull_request",
      pullRequestEvent("synchronize", { head: HEAD, updatedAt: "2026-11-20T10:05:00Z" }),
    );
    expect(g1.scope.pendingMocks()).toStrictEqual([]);
    const g2 = github(
      { head: HEAD, reviews: [], digest: { id: 777, body: "x" } },
      { check: "create", comment: "update" },
    );
    await h.deliver(
      "pull_request",
      pullRequestEvent("synchronize", { head: OLD, updatedAt: "2026-11-20T10:01:00Z" }),
    );
    expect(g2.scope.pendingMocks()).toStrictEqual([]);
    // One read only: the late event's old head was not taken as the expected head.
    expect(g2.requests.filter((r) => r.path === "/graphql")).toHaveLength(1);
  });
});

void API;
