import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import nock from "nock";
import { DIGEST_MARKER } from "../../src/contract.js";
import { APP_ID, evidenceData, HEAD } from "../helpers/fixtures.js";
import { pullRequestEvent } from "../helpers/payloads.js";
import { harness, mockToken, recordRequests } from "../helpers/probot.js";

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe("a compliant PR", () => {
  test("one read, check then comment, and the digest lists what ships", async () => {
    const h = await harness();
    const scope = mockToken()
      .post("/graphql", (b: { variables?: { appId?: number } }) => b.variables?.appId === APP_ID)
      .reply(200, { data: evidenceData({ reviews: [{ login: "alice" }] }) })
      .post("/repos/acme/payments/check-runs")
      .reply(201, { id: 555 })
      .post("/repos/acme/payments/issues/1/comments")
      .reply(201, { id: 777 });
    const api = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("opened"));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(api.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /graphql",
      "POST /repos/acme/payments/check-runs",
      "POST /repos/acme/payments/issues/1/comments",
    ]);
    const check = api[1]!.body as { head_sha: string; status: string; conclusion: string; name: string; output: { title: string } };
    expect(check).toMatchObject({ name: "changegate", head_sha: HEAD, status: "completed", conclusion: "success" });
    expect(check.output.title).toMatch(/^Compliant/);
    const comment = api[2]!.body as { body: string };
    expect(comment.body).toContain(DIGEST_MARKER);
    expect(comment.body.split("\n")[0]).toContain("compliant");
    expect(comment.body).toContain("What is about to ship");
    expect(h.changegate.stats().evaluations).toBe(1);
  });
});
