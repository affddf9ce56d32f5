/** compareMerges: the completeness report, its exact shape, missing and extra records. Pure. */
import { describe, expect, test } from "@jest/globals";
import { compareMerges, completenessPathBeside, renderCompleteness } from "../../src/audit/completeness.js";

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
