/**
 * The pipeline with fake deps: no network, no Probot. A fake reader answers GraphQL with fixture
 * data, a fake Octokit records writes, a fake recorder can fail. What each stage does when another
 * fails: an unrecorded verdict fails the check, an unpublished result fails the check and retries,
 * a merge is judged by the PR's own recorded verdict, and sharers of a head are asked to follow.
 */
import { describe, expect, test } from "@jest/globals";
import { pino } from "pino";
import { MemoryRecorder, type EvaluationRecord, type MergeRecord } from "../../src/audit/recorder.js";
import type { GraphqlReader } from "../../src/github/reader.js";
import type { PrRef } from "../../src/github/types.js";
import { newJob, type EvaluationJob, type PipelineDeps } from "../../src/intake/job.js";
import { runEvaluation } from "../../src/flows/evaluate-pr.js";
import {
  APP_ID,
  evidenceData,
  HEAD,
  INSTALLATION_ID,
  OWNER,
  REPO,
  type EvidenceSpec,
} from "../helpers/fixtures.js";

const REF: PrRef = { installationId: INSTALLATION_ID, owner: OWNER, repo: REPO, number: 1 };

interface Call {
  route: string;
  params: Record<string, unknown>;
}

function fakeOctokit(failWrites = false) {
  const calls: Call[] = [];
  return {
    calls,
    async auth() {
      return { token: "t" };
    },
    async request(route: string, params: Record<string, unknown>) {
      calls.push({ route, params });
      if (route.startsWith("GET ")) return { data: [] };
      if (failWrites) throw Object.assign(new Error("GitHub answered 502"), { status: 502 });
      return { data: { id: route.includes("check-runs") ? 555 : 777 } };
    },
  };
}

function fakeReader(spec: EvidenceSpec): GraphqlReader {
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    async query() {
      reads++;
      return { data: evidenceData(spec), errors: [] };
    },
  };
}

function setup(spec: EvidenceSpec, over: { recorder?: MemoryRecorder; failWrites?: boolean } = {}) {
  const octokit = fakeOctokit(over.failWrites);
  const requested: { ref: PrRef; headSha: string; reason: string }[] = [];
  const retried: { job: EvaluationJob; delayMs: number }[] = [];
  const sleeps: number[] = [];
  const deps: PipelineDeps = {
    appId: APP_ID,
    log: pino({ level: "silent" }),
    octokitFor: async () => octokit,
    readerFor: () => fakeReader(spec),
    tickets: null,
    recorder: over.recorder ?? new MemoryRecorder(),
    publishBackoffMs: [10, 20],
    staleHeadBackoffMs: [],
    digestIds: new Map(),
    lastSeen: new Map(),
    requestEvaluation: (ref, headSha, reason) => void requested.push({ ref, headSha, reason }),
    retryLater: (job, delayMs) => void retried.push({ job, delayMs }),
    laterRetryMs: [30_000],
    now: () => new Date("2026-11-20T10:00:00Z"),
    sleep: async (ms) => void sleeps.push(ms),
  };
  return { deps, octokit, requested, retried, sleeps };
}

const job = (over: Partial<EvaluationJob> = {}) =>
  newJob({ ref: REF, deliveryId: "d-1", event: "pull_request.opened", expectedHead: HEAD, ...over });
const checkWrites = (calls: Call[]) =>
  calls.filter((c) => c.route.includes("check-runs") && !c.route.startsWith("GET"));

class FailingRecorder extends MemoryRecorder {
  override async recordEvaluation(_rec: EvaluationRecord): Promise<void> {
    throw new Error("database is locked");
  }
}

class MergeRecorder extends MemoryRecorder {
  readonly merges: MergeRecord[] = [];
  override async recordMerge(rec: MergeRecord) {
    this.merges.push(rec);
    return { id: `acme/payments@${this.merges.length}`, duplicate: false };
  }
}

describe("runEvaluation with fake deps", () => {
  test("a verdict the recorder fails to record fails the check, naming the audit store", async () => {
    const s = setup({}, { recorder: new FailingRecorder() });
    const outcome = await runEvaluation(s.deps, job());
    expect(outcome.kind).toBe("published");
    const [check] = checkWrites(s.octokit.calls);
    expect(check!.params).toMatchObject({ head_sha: HEAD, conclusion: "failure" });
    expect((check!.params.output as { title: string }).title).toContain("audit");
    expect(s.requested).toStrictEqual([]);
  });

  test("a result that cannot be published is retried, then a failure check is attempted, then the job later", async () => {
    const s = setup({}, { failWrites: true });
    const outcome = await runEvaluation(s.deps, job());
    expect(outcome).toMatchObject({ kind: "publish_failed", outcome: "failure", headSha: HEAD, writes: 0 });
    expect(s.sleeps).toStrictEqual([10, 20]);
    // Three attempts to publish, then one failure check.
    expect(checkWrites(s.octokit.calls)).toHaveLength(4);
    expect(checkWrites(s.octokit.calls)[3]!.params).toMatchObject({ conclusion: "failure" });
    expect(s.retried).toHaveLength(1);
    expect(s.retried[0]).toMatchObject({ delayMs: 30_000, job: { attempt: 1, kind: "evaluate" } });
  });

  test("a merge is judged by the PR's own recorded verdict and publishes nothing", async () => {
    const recorder = new MergeRecorder();
    const open = setup({}, { recorder });
    const judged = await runEvaluation(open.deps, job());
    const merged = setup({ state: "MERGED" }, { recorder });
    const outcome = await runEvaluation(merged.deps, job({ kind: "merge", event: "pull_request.closed" }));
    expect(outcome).toMatchObject({ kind: "merge", outcome: judged.outcome, headSha: HEAD, writes: 0 });
    expect(outcome.bypass).toBe(judged.outcome !== "success");
    expect(recorder.merges).toHaveLength(1);
    expect(recorder.merges[0]).toMatchObject({
      outcome: judged.outcome,
      gated: true,
      headSha: HEAD,
      mergedBy: "merger",
    });
    expect(checkWrites(merged.octokit.calls)).toStrictEqual([]);
  });

  test("a merge never judged into its base is a bypass", async () => {
    const recorder = new MergeRecorder();
    const s = setup({ state: "MERGED" }, { recorder });
    const outcome = await runEvaluation(s.deps, job({ kind: "merge" }));
    expect(outcome).toMatchObject({ kind: "merge", outcome: null, bypass: true });
    expect(recorder.merges[0]).toMatchObject({ outcome: "none", gated: true, emergency: false });
  });

  test("PRs sharing the head are asked to evaluate again after publishing (this PR's verdict is new)", async () => {
    const s = setup({ sharedHead: [{ number: 2, base: "main" }] });
    const outcome = await runEvaluation(s.deps, job());
    expect(outcome.kind).toBe("published");
    expect(s.requested).toStrictEqual([
      { ref: { ...REF, number: 2 }, headSha: HEAD, reason: "shared head with #1" },
    ]);
  });

  test("a closed PR is skipped without a write", async () => {
    const s = setup({ state: "CLOSED" });
    expect(await runEvaluation(s.deps, job())).toMatchObject({
      kind: "skipped",
      outcome: null,
      headSha: HEAD,
      writes: 0,
    });
    expect(s.octokit.calls).toStrictEqual([]);
  });
});
