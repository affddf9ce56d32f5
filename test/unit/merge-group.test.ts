import { describe, expect, test } from "@jest/globals";
import pino from "pino";
import type { MergeGroupRecord, OwnVerdict, Recorder, RepoRef } from "../../src/audit/recorder.js";
import type { GraphqlAnswer, GraphqlReader } from "../../src/github/reader.js";
import { judgeMergeGroup, parseQueueRef } from "../../src/policy/merge-group.js";
import { handleMergeGroup, type MergeGroupDeps } from "../../src/flows/merge-group.js";

const BASE_SHA = "b".repeat(40);
const GROUP = "9".repeat(40);
const H1 = "1".repeat(40);
const H2 = "2".repeat(40);

function payload(over: Record<string, unknown> = {}) {
  return {
    action: "checks_requested",
    installation: { id: 7 },
    repository: { name: "payments", owner: { login: "acme" } },
    merge_group: {
      head_sha: GROUP,
      head_ref: `refs/heads/gh-readonly-queue/main/pr-2-${BASE_SHA}`,
      base_sha: BASE_SHA,
      base_ref: "refs/heads/main",
    },
    ...over,
  };
}

/** The queue as GitHub lists it: #1 ahead of #2, whose group head is GROUP. */
const QUEUE = {
  repository: {
    mergeQueue: {
      entries: {
        pageInfo: { hasNextPage: false },
        nodes: [
          { position: 2, headCommit: { oid: GROUP }, pullRequest: { number: 2, headRefOid: H2 } },
          { position: 1, headCommit: { oid: "8".repeat(40) }, pullRequest: { number: 1, headRefOid: H1 } },
          {
            position: 3,
            headCommit: { oid: "7".repeat(40) },
            pullRequest: { number: 3, headRefOid: "3".repeat(40) },
          },
        ],
      },
    },
  },
};

function verdict(number: number, headSha: string, outcome: OwnVerdict["outcome"], base = "main"): OwnVerdict {
  return { number, headSha, base, outcome, gated: true, emergency: false, title: `${outcome} title` };
}

function world(
  opts: { verdicts?: OwnVerdict[]; queue?: unknown; storeDown?: boolean; recordFails?: boolean } = {},
) {
  const checks: Record<string, unknown>[] = [];
  const records: MergeGroupRecord[] = [];
  const queries: string[] = [];
  const recorder: Recorder = {
    recordEvaluation: async () => undefined,
    recordMerge: async () => null,
    verdictsAt: async (_repo: RepoRef, headSha: string, numbers: number[]) => {
      if (opts.storeDown) throw new Error("connection refused");
      const out = new Map<number, OwnVerdict>();
      for (const v of opts.verdicts ?? [])
        if (v.headSha === headSha && numbers.includes(v.number)) out.set(v.number, v);
      return out;
    },
    recordMergeGroup: async (rec) => {
      if (opts.recordFails || opts.storeDown) throw new Error("disk full");
      records.push(rec);
    },
  };
  const reader: GraphqlReader = {
    reads: 0,
    query: async (q: string): Promise<GraphqlAnswer> => {
      queries.push(/query (\w+)/.exec(q)![1]!);
      return { data: opts.queue ?? QUEUE, errors: [] };
    },
  } as unknown as GraphqlReader;
  const deps: MergeGroupDeps = {
    recorder,
    octokitFor: async () => ({
      request: async (route: string, params: Record<string, unknown>) => {
        checks.push({ route, ...params });
        return { data: { id: 1 } };
      },
    }),
    readerFor: () => reader,
    now: () => new Date("2026-11-27T12:00:00Z"),
    log: pino({ level: "silent" }),
  };
  return { deps, checks, records, queries };
}

describe("parseQueueRef", () => {
  test("reads GitHub's temporary branch, with or without refs/heads/, and a base with slashes", () => {
    expect(parseQueueRef(`refs/heads/gh-readonly-queue/main/pr-12-${BASE_SHA}`)).toEqual({
      base: "main",
      number: 12,
      sha: BASE_SHA,
    });
    expect(parseQueueRef(`gh-readonly-queue/release/1.x/pr-3-${BASE_SHA}`)).toEqual({
      base: "release/1.x",
      number: 3,
      sha: BASE_SHA,
    });
    expect(parseQueueRef("feature/x")).toBeNull();
    expect(parseQueueRef(`gh-readonly-queue/main/pr-x-${BASE_SHA}`)).toBeNull();
  });
});

describe("judgeMergeGroup", () => {
  test("an empty group is a failure", () => {
    expect(judgeMergeGroup([], new Map(), "main").conclusion).toBe("failure");
  });
  test("a verdict for another base does not count", () => {
    const j = judgeMergeGroup(
      [{ number: 1, headSha: H1 }],
      new Map([[1, { base: "dev", outcome: "success" as const, title: "" }]]),
      "main",
    );
    expect(j).toMatchObject({ conclusion: "failure", title: expect.stringContaining("#1") });
  });
});

describe("handleMergeGroup: checks_requested", () => {
  test("every PR in the group (those ahead included) compliant: success on the group's head, recorded", async () => {
    const w = world({ verdicts: [verdict(1, H1, "success"), verdict(2, H2, "success")] });
    expect(await handleMergeGroup(w.deps, "d1", payload())).toBe("success");
    expect(w.queries).toEqual(["ChangegateMergeQueue"]);
    expect(w.checks).toEqual([
      expect.objectContaining({
        route: "POST /repos/{owner}/{repo}/check-runs",
        name: "changegate",
        head_sha: GROUP,
        conclusion: "success",
      }),
    ]);
    expect(w.records).toEqual([
      expect.objectContaining({
        action: "checks_requested",
        outcome: "success",
        headSha: GROUP,
        prs: [
          expect.objectContaining({ number: 1, ok: true }),
          expect.objectContaining({ number: 2, ok: true }),
        ],
      }),
    ]);
    expect(w.records[0]!.ref.number).toBe(2);
  });

  test("a PR ahead in the group without a compliant verdict fails the group, naming it (the one behind is not in it)", async () => {
    const w = world({ verdicts: [verdict(1, H1, "failure"), verdict(2, H2, "success")] });
    expect(await handleMergeGroup(w.deps, "d2", payload())).toBe("failure");
    const check = w.checks[0] as { conclusion: string; output: { title: string; summary: string } };
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toBe("Merge group not compliant: #1");
    expect(check.output.summary).not.toContain("#3");
  });

  test("a verdict for an older head does not count", async () => {
    const w = world({ verdicts: [verdict(1, H1, "success"), verdict(2, "4".repeat(40), "success")] });
    expect(await handleMergeGroup(w.deps, "d3", payload())).toBe("failure");
    expect((w.checks[0] as { output: { summary: string } }).output.summary).toContain("no recorded verdict");
  });

  test("the store down: failure, never success", async () => {
    const w = world({ verdicts: [verdict(1, H1, "success"), verdict(2, H2, "success")], storeDown: true });
    expect(await handleMergeGroup(w.deps, "d4", payload())).toBe("failure");
    expect(w.checks).toEqual([
      expect.objectContaining({
        conclusion: "failure",
        output: expect.objectContaining({ summary: expect.stringContaining("audit store") }),
      }),
    ]);
  });

  test("a verdict that cannot be recorded does not go green", async () => {
    const w = world({ verdicts: [verdict(1, H1, "success"), verdict(2, H2, "success")], recordFails: true });
    expect(await handleMergeGroup(w.deps, "d5", payload())).toBe("failure");
    expect(w.checks).toEqual([expect.objectContaining({ conclusion: "failure" })]);
  });

  test("a queue that does not list the group's head, or names another PR for it, fails closed", async () => {
    const gone = world({
      verdicts: [verdict(2, H2, "success")],
      queue: { repository: { mergeQueue: { entries: { pageInfo: { hasNextPage: false }, nodes: [] } } } },
    });
    expect(await handleMergeGroup(gone.deps, "d6", payload())).toBe("failure");
    const forged = world({ verdicts: [verdict(1, H1, "success"), verdict(2, H2, "success")] });
    const other = payload({
      merge_group: { ...payload().merge_group, head_ref: `gh-readonly-queue/main/pr-1-${BASE_SHA}` },
    });
    expect(await handleMergeGroup(forged.deps, "d7", other)).toBe("failure");
    expect((forged.checks[0] as { output: { summary: string } }).output.summary).toContain(
      "the queue's entry for",
    );
  });

  test("a branch that is not a queue branch, or hostile payloads, never pass", async () => {
    const w = world({ verdicts: [verdict(2, H2, "success")] });
    expect(
      await handleMergeGroup(
        w.deps,
        "d8",
        payload({ merge_group: { ...payload().merge_group, head_ref: "main" } }),
      ),
    ).toBe("failure");
    expect(
      await handleMergeGroup(w.deps, "d9", { action: "checks_requested", merge_group: { head_sha: "x" } }),
    ).toBe("ignored");
    expect(await handleMergeGroup(w.deps, "d10", "x".repeat(1000))).toBe("ignored");
    expect(w.checks.every((c) => (c as { conclusion: string }).conclusion === "failure")).toBe(true);
  });
});

describe("handleMergeGroup: destroyed", () => {
  test("recorded with GitHub's reason; no check, no read", async () => {
    const w = world();
    expect(await handleMergeGroup(w.deps, "d11", payload({ action: "destroyed", reason: "dequeued" }))).toBe(
      "destroyed",
    );
    expect(w.records).toEqual([
      expect.objectContaining({ action: "destroyed", reason: "dequeued", outcome: "destroyed" }),
    ]);
    expect(w.checks).toEqual([]);
    expect(w.queries).toEqual([]);
  });
});
