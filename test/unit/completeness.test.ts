/** compareMerges: the completeness report, its exact shape, missing and extra records. Pure. */
import { describe, expect, test } from "@jest/globals";
import {
  compareMerges,
  completenessPathBeside,
  enforcementGapLines,
  renderCompleteness,
} from "../../src/audit/completeness.js";

const window = {
  from: "2026-03-01T00:00:00.000Z",
  to: "2026-04-01T00:00:00.000Z",
  generatedAt: "2026-04-02T00:00:00.000Z",
};
const gh = (n: number, repo = "acme/payments") => ({
  repo,
  number: n,
  mergedAt: `2026-03-${String((n % 28) + 1).padStart(2, "0")}T10:00:00Z`,
  url: `https://github.com/${repo}/pull/${n}`,
});

describe("compareMerges", () => {
  test("a missing and an extra record over more than one page of merges", () => {
    const github = Array.from({ length: 150 }, (_, i) => gh(i + 1));
    const records = github
      .filter((g) => g.number !== 42)
      .map((g) => ({ repo: "Acme/Payments", number: g.number, mergedAt: g.mergedAt }));
    records.push({ repo: "acme/payments", number: 999, mergedAt: "2026-03-05T00:00:00Z" });
    const r = compareMerges(window, github, records, ["acme/payments"]);
    expect(r).toStrictEqual({
      kind: "changegate-completeness",
      ...window,
      complete: false,
      repositories: [
        {
          repo: "acme/payments",
          githubMerges: 150,
          records: 150,
          missing: [
            { number: 42, mergedAt: gh(42).mergedAt, url: "https://github.com/acme/payments/pull/42" },
          ],
          extra: [{ number: 999, mergedAt: "2026-03-05T00:00:00Z" }],
        },
      ],
    });
    const text = renderCompleteness(r);
    expect(text).toContain("NOT COMPLETE");
    expect(text).toContain("missing record: #42");
    expect(text).toContain("extra record: #999");
  });

  test("complete when both sides agree; a repository with nothing on either side is listed and complete", () => {
    const r = compareMerges(
      window,
      [gh(1), gh(2, "acme/web")],
      [
        { repo: "acme/payments", number: 1, mergedAt: gh(1).mergedAt },
        { repo: "acme/web", number: 2, mergedAt: gh(2).mergedAt },
      ],
      ["acme/quiet"],
    );
    expect(r.complete).toBe(true);
    expect(r.repositories.map((x) => [x.repo, x.githubMerges, x.records])).toEqual([
      ["acme/payments", 1, 1],
      ["acme/quiet", 0, 0],
      ["acme/web", 1, 1],
    ]);
  });

  test("a PR recorded twice is an extra record", () => {
    const r = compareMerges(
      window,
      [gh(1)],
      [
        { repo: "acme/payments", number: 1, mergedAt: "x" },
        { repo: "acme/payments", number: 1, mergedAt: "x" },
      ],
    );
    expect(r.complete).toBe(false);
    expect(r.repositories[0]!.extra).toEqual([{ number: 1, mergedAt: "x" }]);
  });

  test("beside an export: x.csv gives x.completeness.json", () => {
    expect(completenessPathBeside("/tmp/q1.csv")).toBe("/tmp/q1.completeness.json");
    expect(completenessPathBeside("/tmp/q1")).toBe("/tmp/q1.completeness.json");
  });
});

describe("enforcementGapLines (issue 23)", () => {
  const period = { from: "2026-03-01T00:00:00.000Z", to: "2026-03-02T00:00:00.000Z" };
  const timeline = (
    branch: string,
    states: [string, string, "enforced" | "not_enforced" | "not_observed"][],
  ) => {
    const periods = states.map(([from, to, state]) => ({ from, to, state, missing: [] }));
    return {
      repo: "acme/payments",
      branch,
      firstObservation: null,
      lastObservation: null,
      periods,
      gaps: [],
      inForce: periods.every((p) => p.state === "enforced"),
    };
  };

  test("one line per branch not in force or not observed, with how long; none when every branch was in force", () => {
    const lines = enforcementGapLines(period, [
      timeline("main", [
        ["2026-03-01T00:00:00.000Z", "2026-03-01T02:00:00.000Z", "not_observed"],
        ["2026-03-01T02:00:00.000Z", "2026-03-01T05:00:00.000Z", "not_enforced"],
        ["2026-03-01T05:00:00.000Z", "2026-03-02T00:00:00.000Z", "enforced"],
      ]),
      timeline("release", [["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z", "enforced"]]),
      timeline("hotfix", [["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z", "not_observed"]]),
    ]);
    expect(lines).toEqual([
      "enforcement gap: acme/payments main: not in force 3.0 h, not observed 2.0 h (changegate audit enforcement --from 2026-03-01T00:00:00.000Z --to 2026-03-02T00:00:00.000Z --repo acme/payments)",
      "enforcement gap: acme/payments hotfix: not observed 24.0 h (changegate audit enforcement --from 2026-03-01T00:00:00.000Z --to 2026-03-02T00:00:00.000Z --repo acme/payments)",
    ]);
    expect(
      enforcementGapLines(period, [
        timeline("main", [["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z", "enforced"]]),
      ]),
    ).toEqual(["enforcement: every gated branch was in force for the whole window"]);
    // Nothing observed is never "in force".
    expect(enforcementGapLines(period, [])[0]).toMatch(/^enforcement: no gated branch was ever observed/);
  });
});
