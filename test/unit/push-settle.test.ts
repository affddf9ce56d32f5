/**
 * The direct-push settle rules, pure parts: DIRECT_PUSH_RECHECK_MS parsing, which push is one on
 * record (pushSeenBefore: same delivery or same branch/before/after; a force push back to a
 * recorded `after` is new), settleUncovered with fakes (no wait and no read when nothing is left),
 * the scheduled scan's deps (direct pushes included) and its truncation warning.
 */
import { loadSettings } from "../../src/settings.js";
import { describe, expect, test } from "@jest/globals";
import { pushSeenBefore, type DirectPushPayload } from "../../src/audit/direct-push.js";
import type { GraphqlReader } from "../../src/github/reader.js";
import { DEFAULT_DIRECT_PUSH_RECHECK_MS, settleUncovered } from "../../src/flows/push-settle.js";
import { warnTruncated, type ScanSummary } from "../../src/background/scan.js";
import { scheduledScanDeps } from "../../src/background/scan-wiring.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

const directPushRecheckFromEnv = (env: Record<string, string>) =>
  loadSettings(env, ["background"]).background.directPushRecheckMs;

describe("DIRECT_PUSH_RECHECK_MS", () => {
  test("15 s by default; 0 allowed; garbage, negatives and over 10 minutes refused with the variable's name", () => {
    expect(directPushRecheckFromEnv({})).toBe(15_000);
    expect(DEFAULT_DIRECT_PUSH_RECHECK_MS).toBe(15_000);
    expect(directPushRecheckFromEnv({ DIRECT_PUSH_RECHECK_MS: " " })).toBe(15_000);
    expect(directPushRecheckFromEnv({ DIRECT_PUSH_RECHECK_MS: "0" })).toBe(0);
    expect(directPushRecheckFromEnv({ DIRECT_PUSH_RECHECK_MS: "2500" })).toBe(2500);
    // A duration with a unit is a duration like any other (src/settings.ts): 15s is 15000 ms.
    expect(directPushRecheckFromEnv({ DIRECT_PUSH_RECHECK_MS: "15s" })).toBe(15_000);
    for (const bad of ["-1", "1e3", "abc", "600001", "11m", "off"])
      expect(() => directPushRecheckFromEnv({ DIRECT_PUSH_RECHECK_MS: bad })).toThrow(
        /DIRECT_PUSH_RECHECK_MS/,
      );
  });
});

const payload = (over: Partial<DirectPushPayload>): DirectPushPayload => ({
  branch: "main",
  pusher: "m",
  before: B,
  after: A,
  forced: false,
  commitsWithoutPr: [A],
  pushedAt: "",
  policySource: "defaults",
  ...over,
});

describe("pushSeenBefore", () => {
  const rec = { deliveryId: "d2", branch: "main", before: B, forced: false };
  test("the same delivery, or the same branch and before (with the same after): on record", () => {
    expect(pushSeenBefore(rec, { deliveryId: "d2", payload: payload({ before: C }) })).toBe(true);
    expect(pushSeenBefore(rec, { deliveryId: "d1", payload: payload({}) })).toBe(true);
  });
  test("a force push back to a recorded after from another before is a change of its own", () => {
    expect(
      pushSeenBefore({ ...rec, before: C, forced: true }, { deliveryId: "d1", payload: payload({}) }),
    ).toBe(false);
    expect(
      pushSeenBefore(
        { ...rec, before: C, forced: true },
        { deliveryId: "d1", payload: payload({ before: null, foundBy: "scan" }) },
      ),
    ).toBe(false);
  });
  test("another branch, or an unreadable payload, is not the same push", () => {
    expect(pushSeenBefore(rec, { deliveryId: "d1", payload: payload({ branch: "release" }) })).toBe(false);
    expect(pushSeenBefore(rec, { deliveryId: "d1", payload: null })).toBe(false);
  });
  test("the scan's record of the commit is the same arrival as a late non-forced delivery of its push; a second scan too", () => {
    expect(
      pushSeenBefore(rec, { deliveryId: "scan-1", payload: payload({ before: null, foundBy: "scan" }) }),
    ).toBe(true);
    expect(
      pushSeenBefore(
        { deliveryId: "scan-2", branch: "main", before: null, forced: false },
        { deliveryId: "scan-1", payload: payload({ before: null, foundBy: "scan" }) },
      ),
    ).toBe(true);
  });
});

function reader(
  answers: Record<string, { number: number; merged: boolean; baseRefName: string }[]>,
  asked: string[][],
): GraphqlReader {
  return {
    reads: 0,
    async query(_q: string, v: Record<string, unknown>) {
      const shas = Object.keys(v)
        .filter((k) => /^c\d+$/.test(k))
        .map((k) => v[k] as string);
      asked.push(shas);
      const repository: Record<string, unknown> = {
        nameWithOwner: "acme/p",
        defaultBranchRef: { name: "main" },
        policy: null,
      };
      shas.forEach(
        (s, i) =>
          (repository[`c${i}`] = {
            oid: s,
            associatedPullRequests: {
              nodes: (answers[s] ?? []).map((p) => ({ ...p, baseRepository: { nameWithOwner: "acme/p" } })),
            },
          }),
      );
      return { data: { repository, org: null }, errors: [] };
    },
  } as unknown as GraphqlReader;
}

describe("settleUncovered", () => {
  test("merges on record are dropped first; the rest read again once after the wait; a PR merged into the branch covers", async () => {
    const asked: string[][] = [];
    const waits: number[] = [];
    const store = {
      mergedOnRecord: async (_r: string, branch: string, shas: readonly string[]) =>
        new Set(shas.filter((s) => s === C && branch === "main")),
    };
    const out = await settleUncovered(
      {
        store,
        reader: reader(
          {
            [A]: [{ number: 1, merged: true, baseRefName: "main" }],
            [B]: [{ number: 2, merged: true, baseRefName: "dev" }],
          },
          asked,
        ),
        recheckMs: 15_000,
        sleep: async (ms) => void waits.push(ms),
      },
      "acme/p",
      [
        { branch: "main", sha: A },
        { branch: "main", sha: B },
        { branch: "main", sha: C },
      ],
    );
    expect(out.remaining.map((c) => c.sha)).toStrictEqual([B]);
    expect(out.merges).toStrictEqual([
      { sha: C, by: "merge_record" },
      { sha: A, by: "reread" },
    ]);
    expect(asked).toStrictEqual([[A, B]]);
    expect(waits).toStrictEqual([15_000]);
    expect(out.reads).toBe(1);
  });
  test("nothing left after the merge records: no wait, no read", async () => {
    const asked: string[][] = [];
    const waits: number[] = [];
    const store = {
      mergedOnRecord: async (_r: string, _b: string, shas: readonly string[]) => new Set(shas),
    };
    const out = await settleUncovered(
      { store, reader: reader({}, asked), recheckMs: 15_000, sleep: async (ms) => void waits.push(ms) },
      "acme/p",
      [{ branch: "main", sha: A }],
    );
    expect(out).toStrictEqual({ remaining: [], merges: [{ sha: A, by: "merge_record" }], reads: 0 });
    expect(asked).toStrictEqual([]);
    expect(waits).toStrictEqual([]);
  });
  test("more than 21 commits are re-read 21 a request", async () => {
    const asked: string[][] = [];
    const shas = Array.from({ length: 30 }, (_, i) => i.toString(16).padStart(40, "0"));
    const out = await settleUncovered(
      { store: {}, reader: reader({}, asked), recheckMs: 0, sleep: async () => {} },
      "acme/p",
      shas.map((sha) => ({ branch: "main", sha })),
    );
    expect(asked.map((a) => a.length)).toStrictEqual([21, 9]);
    expect(out.remaining).toHaveLength(30);
  });
});

describe("the scheduled scan", () => {
  const base = {
    scan: { intervalMs: 3_600_000, store: {} as never },
    appId: 1,
    recorder: {} as never,
    tickets: null,
  };
  const log = { info: () => {}, warn: () => {}, error: () => {} };
  test("looks for direct pushes whenever the app records them", () => {
    const store = {
      recordDirectPush: async () => ({ id: "x", duplicate: false }),
      recordedPushShas: async () => new Set<string>(),
    };
    const deps = scheduledScanDeps({ ...base, directPushes: store, recheckMs: 0 }, [], log);
    expect(deps.directPushes).toBe(store);
    expect(deps.directPushRecheckMs).toBe(0);
    expect(scheduledScanDeps({ ...base, directPushes: null }, [], log).directPushes).toBeUndefined();
  });
  test("a truncated branch history is a warning naming the branch and the window", () => {
    const warned: string[] = [];
    const summary = {
      from: "F",
      to: "T",
      directPushes: { recorded: [], truncated: ["acme/p main"] },
    } as unknown as ScanSummary;
    warnTruncated({ ...log, warn: (_o, m) => void warned.push(m) }, summary);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain("acme/p main from F to T");
  });
});
