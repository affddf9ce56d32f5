/**
 * A sampled change's evidence file shows its branch's enforcement at the change's moment from the
 * `branch_enforcement` records (issue 23): in force, NOT in force (with what was missing), not
 * observed (before the first record), and the old "not observed" text when the branch was never
 * recorded or the change names no branch.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AuditStore } from "../../src/audit/database.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { ChainEnforcement } from "../../src/audit/enforcement.js";
import { enforcementAt } from "../../src/audit/sample-evidence.js";
import { main, type CliIo } from "../../src/cli.js";
import type { Enforcement } from "../../src/policy/enforcement.js";
import { ENFORCEMENT_NOT_OBSERVED } from "../../src/report/sample-evidence-html.js";
import { merge, tempDir } from "./records.js";

const tmp = tempDir();
const DB = `sqlite:${join(tmp.dir, "a.db")}`;
const H = 3_600_000;
const at = (h: number) => new Date(Date.parse("2026-03-05T00:00:00Z") + h * H).toISOString();
const ENFORCED: Enforcement = { state: "enforced", missing: [], by: "ruleset 12" };
const NOT: Enforcement = {
  state: "not_enforced",
  missing: [
    {
      code: "not_required",
      text: "no ruleset or branch protection in force requires the `changegate` check",
    },
  ],
  by: null,
};

beforeAll(async () => {
  const store = await AuditStore.open(DB);
  try {
    const w = new ChainWriter(store);
    const enf = new ChainEnforcement(w);
    const observe = (h: number, e: Enforcement) =>
      enf.observe({
        at: at(h),
        deliveryId: `s${h}`,
        trigger: "scan",
        installationId: 1,
        owner: "acme",
        repo: "payments",
        branch: "main",
        appId: 4242,
        enforcement: e,
        read: { requests: [], facts: {} },
      });
    // In force 00:00–11:00, not 12:00–14:00 (the change's stretch 11–12 too), in force again from 15:00.
    for (let h = 0; h <= 11; h++) await observe(h, ENFORCED);
    for (let h = 12; h <= 14; h++) await observe(h, NOT);
    for (let h = 15; h <= 20; h++) await observe(h, ENFORCED);
    const onMain = (number: number, h: number) => ({
      ...merge({ number, mergedAt: at(h) }),
      baseRef: "main",
    });
    await w.recordMerge(onMain(1, 5));
    await w.recordMerge(onMain(2, 13));
    await w.recordMerge(onMain(3, -14)); // before the first observation
    await w.recordMerge(merge({ number: 4, mergedAt: at(6) })); // an older record: no baseRef, no evaluation
    await w.recordMerge({ ...merge({ number: 5, mergedAt: at(6) }), baseRef: "release" }); // never observed
  } finally {
    await store.close();
  }
}, 60_000);
afterAll(() => tmp.cleanup());

describe("the evidence file's enforcement", () => {
  test("in force, NOT in force with what was missing, not observed, and never recorded", async () => {
    const io: CliIo = {
      stdout: { write: () => true },
      stderr: { write: () => true, isTTY: false },
      env: { DATABASE_URL: DB },
      cwd: tmp.dir,
      now: () => new Date("2026-04-02T12:00:00.000Z"),
    };
    const code = await main(
      [
        "audit",
        "sample",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--size",
        "10",
        "--seed",
        "x",
        "--out",
        "s",
      ],
      io,
    );
    expect(code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(tmp.dir, "s", "manifest.json"), "utf8")) as {
      entries: { pr: number; evidence: string }[];
    };
    const shown = new Map(
      manifest.entries.map((e) => {
        const page = readFileSync(join(tmp.dir, "s", e.evidence), "utf8");
        const section = /<h2 id="enforcement">[\s\S]*?(?=<h2 id="record">)/.exec(page)![0];
        return [e.pr, section] as const;
      }),
    );
    expect([...shown.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(shown.get(1)).toContain(`data-enforcement="enforced"`);
    expect(shown.get(1)).toContain(`<code>main</code> at ${at(5)}: in force`);
    expect(shown.get(1)).toMatch(/<code data-enforcement-record>acme\/payments@\d+<\/code>/);
    expect(shown.get(2)).toContain(`data-enforcement="not_enforced"`);
    expect(shown.get(2)).toContain(
      "no ruleset or branch protection in force requires the `changegate` check",
    );
    expect(shown.get(3)).toContain(`data-enforcement="not_observed"`);
    expect(shown.get(3)).toContain("No branch_enforcement record before the change");
    for (const n of [4, 5]) {
      expect(shown.get(n)).toContain(`data-enforcement="not observed"`);
      expect(shown.get(n)).toContain(ENFORCEMENT_NOT_OBSERVED);
    }
  });

  test("enforcementAt on its own: the moment's period; another branch's or repository's records do not count", () => {
    const rec = (
      seq: number,
      h: number,
      state: "enforced" | "not_enforced",
      branch = "main",
      chain = "acme/payments",
    ) => ({
      chain,
      seq,
      hash: `h${seq}`,
      at: at(h),
      payload: {
        branch,
        state,
        missing: [],
        previous: null,
        gapBoundMs: 3 * H,
        observedAt: at(h),
      } as never,
    });
    const records = [
      rec(1, 0, "enforced"),
      rec(2, 0, "not_enforced", "dev"),
      rec(3, 0, "not_enforced", "main", "acme/web"),
    ];
    const now = new Date(at(48));
    expect(enforcementAt(records, { observedAt: at(2) }, "Acme/Payments", "main", at(1), now)).toEqual({
      branch: "main",
      at: at(1),
      state: "enforced",
      missing: [],
      record: "acme/payments@1",
      hash: "h1",
    });
    // Past the last observation and the gap bound: not observed.
    expect(enforcementAt(records, { observedAt: at(2) }, "acme/payments", "main", at(10), now)?.state).toBe(
      "not_observed",
    );
    expect(enforcementAt(records, null, "acme/payments", "release", at(1), now)).toBeNull();
  });
});
