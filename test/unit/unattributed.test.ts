/**
 * Commits nobody can be tied to: an author or committer e-mail that maps to no GitHub user makes the
 * contributor rule blind. They are listed (digest, record), and approvals.block_unattributed_commits
 * fails the approvals rule while any exist.
 */
import { describe, expect, test } from "@jest/globals";
import { evaluationPayload } from "../../src/audit/payload.js";
import { configSchema, type ConfigInput } from "../../src/config/schema.js";
import {
  evaluateApprovals,
  unattributedCommits,
  type ApprovalsSettings,
} from "../../src/policy/approvals.js";
import { evaluate } from "../../src/policy/evaluate.js";
import type { CommitInfo, Evidence, Policy, ReviewInfo } from "../../src/policy/types.js";
import { renderVerdict } from "../../src/report/digest.js";
import { evidence as fixtureEvidence, HEAD, INSTALLATION_ID } from "../helpers/fixtures.js";

type EvidenceOver = Omit<Partial<Evidence>, "pr"> & { pr?: Partial<Evidence["pr"]> };
const evidence = (over: EvidenceOver = {}): Evidence =>
  fixtureEvidence(over as Parameters<typeof fixtureEvidence>[0]);

const approval = (login: string): ReviewInfo => ({
  author: { login, isBot: false },
  state: "APPROVED",
  submittedAt: "2026-11-20T09:00:00Z",
  commitOid: HEAD,
  authorCanPush: true,
  url: "https://github.com/x",
});
const commit = (over: Partial<CommitInfo> = {}): CommitInfo => ({
  oid: HEAD,
  headline: "Change things",
  message: "Change things",
  authors: ["dev"],
  committer: "dev",
  isMerge: false,
  url: "https://github.com/x",
  ...over,
});
/** carol wrote the second commit from an e-mail GitHub cannot link; she then approves. */
const ghostCommit = commit({
  oid: "c".repeat(40),
  headline: "Sneaky change",
  authors: [null],
  committer: null,
  unlinked: ["author Carol <carol@home.example>", "committer Carol <carol@home.example>"],
});
const commits = [commit({ oid: "1".repeat(40) }), ghostCommit];
const settings = (over: Partial<ApprovalsSettings> = {}): ApprovalsSettings => ({
  required: 1,
  dismissStale: true,
  allowContributors: false,
  ...over,
});

function policy(input: ConfigInput = {}): Policy {
  return {
    config: configSchema.parse(input),
    source: { kind: "repo", location: "acme/payments:.github/changegate.yml", contentHash: "x" },
  };
}

describe("unattributedCommits", () => {
  test("a commit with an unlinked author is listed, with the identities gather saw", () => {
    expect(unattributedCommits(evidence({ commits }))).toEqual([
      {
        oid: "c".repeat(40),
        headline: "Sneaky change",
        who: ["author Carol <carol@home.example>", "committer Carol <carol@home.example>"],
      },
    ]);
  });

  test("one unlinked co-author among linked ones is enough", () => {
    expect(unattributedCommits(evidence({ commits: [commit({ authors: ["dev", null, null] })] }))).toEqual([
      { oid: HEAD, headline: "Change things", who: ["2 authors"] },
    ]);
  });

  test("an unlinked committer with a linked author counts (committers are contributors too)", () => {
    expect(unattributedCommits(evidence({ commits: [commit({ committer: null })] }))).toEqual([
      { oid: HEAD, headline: "Change things", who: ["the committer"] },
    ]);
  });

  test("merge commits count too, as they do for the contributor rule", () => {
    expect(
      unattributedCommits(
        evidence({ commits: [commit({ authors: [null], committer: null, isMerge: true })] }),
      ),
    ).toEqual([{ oid: HEAD, headline: "Change things", who: ["an author", "the committer"] }]);
  });

  test("fully linked commits: none", () => {
    expect(unattributedCommits(evidence())).toEqual([]);
  });
});

describe("approvals with unattributed commits", () => {
  test("by default they are listed but the approval still counts", () => {
    const r = evaluateApprovals(evidence({ commits, reviews: [approval("carol")] }), settings());
    expect(r.status).toBe("pass");
    expect(r.unattributed).toHaveLength(1);
    expect(r.unattributedBlock).toBe(false);
  });

  test("block_unattributed_commits: the approvals rule fails, saying what to do", () => {
    const r = evaluateApprovals(
      evidence({ commits, reviews: [approval("carol")] }),
      settings({ blockUnattributed: true }),
    );
    expect(r.status).toBe("fail");
    expect(r.unattributedBlock).toBe(true);
    expect(r.counted).toBe(1);
    expect(r.summary).toBe("1 of 1 required; 1 commit not tied to a GitHub account");
    expect(r.todo[0]).toMatch(
      /^Tie 1 commit \(ccccccc\) to GitHub accounts: link the commit e-mail to a GitHub account .* or rewrite the commit/,
    );
  });

  test("block_unattributed_commits with every commit linked: passes", () => {
    expect(
      evaluateApprovals(evidence({ reviews: [approval("carol")] }), settings({ blockUnattributed: true }))
        .status,
    ).toBe("pass");
  });

  test("block_unattributed_commits does not hold a rule that requires no approval (an emergency with approvals_required 0)", () => {
    expect(
      evaluateApprovals(evidence({ commits }), settings({ required: 0, blockUnattributed: true })).status,
    ).toBe("pass");
  });

  test("through evaluate: the policy key turns the check red", () => {
    const e = evidence({ commits, reviews: [approval("carol")] });
    expect(evaluate(policy(), e).conclusion).toBe("success");
    const v = evaluate(policy({ approvals: { block_unattributed_commits: true } }), e);
    expect(v.conclusion).toBe("failure");
    expect(v.title).toBe("Not compliant: approvals: 1 of 1 required; 1 commit not tied to a GitHub account");
  });
});

describe("digest and record", () => {
  test("the approvals section lists them, escaped; blocking is marked", () => {
    const e = evidence({ commits, reviews: [approval("carol")] });
    const listed = renderVerdict(evaluate(policy(), e), e, policy()).comment;
    expect(listed).toContain(
      "⚠️ 1 commit is not tied to a GitHub account, so changegate cannot tell whether a reviewer wrote it:",
    );
    expect(listed).toContain(
      "- `ccccccc` Sneaky change — author Carol &lt;carol@\u200bhome.example&gt;; committer Carol &lt;carol@\u200bhome.example&gt;",
    );
    const p = policy({ approvals: { block_unattributed_commits: true } });
    const blocked = renderVerdict(evaluate(p, e), e, p).comment;
    expect(blocked).toContain("❌ 1 commit is not tied to a GitHub account");
    expect(blocked).toContain("(approvals.block_unattributed_commits)");
    expect(blocked).toContain("link the commit e\\-mail to a GitHub account");
  });

  test("no unattributed commits: no such line", () => {
    const e = evidence({ reviews: [approval("carol")] });
    expect(renderVerdict(evaluate(policy(), e), e, policy()).comment).not.toContain(
      "not tied to a GitHub account",
    );
  });

  test("the audit record lists them and keeps the unlinked identities on the commit", () => {
    const e = evidence({ commits, reviews: [approval("carol")] });
    const p = policy();
    const payload = evaluationPayload(
      {
        at: "2026-11-20T10:00:00.000Z",
        deliveryId: "d",
        event: "pull_request.synchronize",
        ref: { installationId: INSTALLATION_ID, owner: "acme", repo: "payments", number: 1 },
        evidence: e,
        policy: p,
        verdict: evaluate(p, e),
        outcome: "success",
        error: null,
      },
      "test",
    );
    expect(payload.unattributedCommits).toEqual([
      {
        oid: "c".repeat(40),
        who: ["author Carol <carol@home.example>", "committer Carol <carol@home.example>"],
      },
    ]);
    expect(payload.evidence.commits[1]).toMatchObject({
      authors: [null],
      committer: null,
      unlinked: ["author Carol <carol@home.example>", "committer Carol <carol@home.example>"],
    });
    expect(payload.emergencyDeclaredBy).toBeNull();
    expect(payload.emergencyDeclarationAccepted).toBeNull();
  });

  test("the audit record names the emergency declarer, the time and whether it was accepted", () => {
    const p = policy({ emergency: { allowed_declarers: ["oncall-lead"] } });
    const e = evidence({
      pr: { labels: ["emergency"] },
      labelHistory: {
        events: [{ label: "emergency", actor: { login: "dev", isBot: false }, at: "2026-11-20T03:00:00Z" }],
        truncated: false,
      },
      declarer: { login: "dev", canWrite: null, teams: [] },
    });
    const rec = {
      at: "2026-11-20T10:00:00.000Z",
      deliveryId: "d",
      event: "pull_request.labeled",
      ref: { installationId: INSTALLATION_ID, owner: "acme", repo: "payments", number: 1 },
      evidence: e,
      policy: p,
      outcome: "failure" as const,
      error: null,
    };
    const payload = evaluationPayload({ ...rec, verdict: evaluate(p, e) }, "test");
    expect(payload).toMatchObject({
      emergency: false,
      emergencyDeclaredBy: "dev",
      emergencyDeclaredAt: "2026-11-20T03:00:00Z",
      emergencyDeclarationAccepted: false,
    });
    // An evaluation that failed after the policy loaded still records who applied the label.
    const failed = evaluationPayload({ ...rec, verdict: null, error: "boom" }, "test");
    expect(failed).toMatchObject({
      emergencyDeclaredBy: "dev",
      emergencyDeclaredAt: "2026-11-20T03:00:00Z",
      emergencyDeclarationAccepted: false,
    });
  });
});
