/**
 * After an emergency merge, end to end (`node lib/main.js` against the simulator, GitHub and Jira):
 * the label applied (a timeline LabeledEvent), the merge owing a retroactive review, the author's
 * `/changegate approve` refused and another engineer's counted, tickets moved to Done through
 * Jira's transitions API; and an unreviewed emergency merge reported overdue by the timer.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { SimPull } from "../sim/model.js";
import { World } from "../sim/world.js";

let w: World;

beforeAll(async () => {
  // The overdue check runs every second here; review_within_hours is tiny in the overdue test.
  w = await World.start({ jira: "cloud", env: { RETRO_REVIEW_CHECK_INTERVAL_MS: "1000" } });
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

interface Rec {
  type: string;
  reviewedBy?: string;
  via?: string;
  target?: string;
  results?: { key: string; result: string; status: string | null }[];
}

function records(pr: SimPull): Rec[] {
  const show = w.cg.cli(["audit", "show", `${pr.repo}#${pr.number}`, "--json"]);
  expect(show.code).toBe(0);
  return show.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Rec);
}

function retroRuns(pr: SimPull) {
  return w.model
    .runsOn(pr.repo, pr.commits[pr.commits.length - 1]!)
    .filter((r) => r.name === "changegate/retro-review");
}

function digest(pr: SimPull): string {
  return (
    w.model.commentsOf(pr.repo, pr.number).find((c) => c.body.includes("<!-- changegate:digest -->"))?.body ??
    ""
  );
}

async function until(what: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("emergency changes after the merge", () => {
  test("retroactive review by comment (the author's refused), tickets moved to Done, export columns", async () => {
    const { repo } = w.repo({ policy: "tickets:\n  projects: [OPS]\n  transition_on_merge: Done\n" });
    w.sim.jira.setIssue("OPS-41", "In Progress");
    const pr = w.model.openPullRequest(repo, { author: "dev", title: "OPS-41 Stop the bleeding" });
    w.model.ci(pr, "build", { conclusion: "failure" });
    w.model.addLabel(pr, "emergency", "dev");
    await w.settle(60_000);
    expect(digest(pr)).toContain("Retroactive review due within 48 hours of the merge");

    w.model.merge(pr, "dev");
    await w.settle(60_000);
    await until(() => retroRuns(pr).length > 0);
    expect(retroRuns(pr).at(-1)).toMatchObject({ status: "in_progress" });
    expect(w.sim.jira.issues.get("OPS-41")!.status).toBe("Done");
    expect(digest(pr)).toContain("Tickets moved to `Done` on merge");
    expect(digest(pr)).toContain("Retroactive review due by");

    w.model.addComment(repo, pr.number, "/changegate approve", "dev", null);
    await w.settle(60_000);
    expect(records(pr).some((r) => r.type === "retro_review")).toBe(false);
    expect(
      w.cg.logs.some(
        (l) =>
          String(l.msg).includes("not a retroactive review") && String(l.msg).includes("the PR's author"),
      ),
    ).toBe(true);

    w.model.addComment(repo, pr.number, "Checked the hotfix.\n/changegate approve", "rita", null);
    await w.settle(60_000);
    await until(() => records(pr).some((r) => r.type === "retro_review"));
    expect(records(pr).find((r) => r.type === "retro_review")).toMatchObject({
      reviewedBy: "rita",
      via: "comment",
    });
    expect(records(pr).find((r) => r.type === "ticket_transition")).toMatchObject({
      target: "Done",
      results: [{ key: "OPS-41", result: "moved", status: "Done" }],
    });
    await until(() => retroRuns(pr).at(-1)?.conclusion === "success");
    // The run opened at the merge was completed in place: one run, no second creation.
    expect(retroRuns(pr)).toHaveLength(1);
    expect(digest(pr)).toContain("Retroactively reviewed by");

    const out = w.cg.cli([
      "audit",
      "export",
      "--from",
      "2000-01-01",
      "--to",
      "2100-01-01",
      "--repo",
      pr.repo,
      "--format",
      "json",
    ]);
    expect(out.code).toBe(0);
    const row = (JSON.parse(out.stdout) as { changes: Record<string, unknown>[] }).changes.find(
      (c) => c.pr === pr.number,
    )!;
    expect(row).toMatchObject({
      emergency: true,
      emergency_declared_by: "dev",
      retro_review: "reviewed",
      retro_reviewed_by: "rita",
      ticket_transitions: [{ key: "OPS-41", result: "moved", status: "Done" }],
    });
  }, 180_000);

  test("no review in time: the timer logs it non-compliant with how late, fails the retro-review check, records it once", async () => {
    const { repo } = w.repo({ policy: "emergency:\n  review_within_hours: 0.0005\n" });
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.addLabel(pr, "emergency", "dev");
    await w.settle(60_000);
    w.model.merge(pr, "dev");
    await w.settle(60_000);
    await until(
      () => w.cg.logs.some((l) => String(l.msg).includes(`${pr.repo}#${pr.number} is non-compliant!`)),
      90_000,
    );
    const line = w.cg.logs.find((l) => String(l.msg).includes(`${pr.repo}#${pr.number} is non-compliant!`))!;
    expect(String(line.msg)).toMatch(/no retroactive review: it was due by .* and is \d+ min late/);
    await until(() => retroRuns(pr).at(-1)?.conclusion === "failure");
    // Several more ticks: still one overdue record and one log line.
    await new Promise((r) => setTimeout(r, 3000));
    expect(records(pr).filter((r) => r.type === "retro_overdue")).toHaveLength(1);
    expect(
      w.cg.logs.filter((l) => String(l.msg).includes(`${pr.repo}#${pr.number} is non-compliant!`)),
    ).toHaveLength(1);
  }, 180_000);
});
