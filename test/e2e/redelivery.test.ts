/**
 * The redelivery of failed webhook deliveries end to end: `node lib/main.js` against the simulator,
 * which logs every webhook it sends to the app per attempt (GET /app/hook/deliveries) and redelivers
 * on request (POST /app/hook/deliveries/{id}/attempts). changegate is down while a non-compliant PR
 * merges and a commit is pushed straight to the gated branch: those deliveries fail. With no scan
 * (AUDIT_SCAN_INTERVAL off), the start-up redelivery run asks GitHub for them again: the merge and the
 * direct push are recorded and logged `is non-compliant!`. A redelivery delivered twice is processed
 * once. The simulator's delivery answers are checked against GitHub's OpenAPI description.
 */
import { createSign } from "node:crypto";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { NON_COMPLIANT_PHRASE } from "../../src/contract.js";
import { conforms } from "../sim/conforms.js";
import type { SimRepo } from "../sim/model.js";
import { World } from "../sim/world.js";

let w: World;

beforeAll(async () => {
  // No scan: only the redelivery can find what was missed. REDELIVERY_INTERVAL is left at its default.
  w = await World.start({ env: { DIRECT_PUSH_RECHECK_MS: "200", AUDIT_SCAN_INTERVAL: "off" } });
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

function appJwt(): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const t = Math.floor(Date.now() / 1000);
  const body = `${enc({ alg: "RS256", typ: "JWT" })}.${enc({ iss: String(w.appId), iat: t - 30, exp: t + 500 })}`;
  return `${body}.${createSign("RSA-SHA256").update(body).sign(w.privateKey).toString("base64url")}`;
}

async function gh(
  method: string,
  path: string,
  auth = `bearer ${appJwt()}`,
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${w.sim.githubUrl}/api/v3${path}`, {
    method,
    headers: { authorization: auth, accept: "application/vnd.github+json" },
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, headers: res.headers };
}

function exported(repo: SimRepo): Record<string, unknown>[] {
  const out = w.cg.cli([
    "audit",
    "export",
    "--from",
    "2000-01-01",
    "--to",
    "2100-01-01",
    "--repo",
    repo.fullName,
    "--format",
    "json",
  ]);
  expect(out.code).toBe(0);
  return (JSON.parse(out.stdout) as { changes: Record<string, unknown>[] }).changes;
}

async function until(what: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out\n${w.cg.logText(30)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const alarms = (text: string, from: number) =>
  w.cg.logs
    .slice(from)
    .filter((l) => typeof l.msg === "string" && l.msg.includes(NON_COMPLIANT_PHRASE) && l.msg.includes(text));

describe("failed deliveries are redelivered at start-up", () => {
  let repo: SimRepo;
  let prNumber = 0;
  let mergeGuid = "";
  let pushGuid = "";

  test("down while a non-compliant PR merges and a commit is pushed to main: the first redelivery run records both", async () => {
    const org = w.org();
    repo = w.repo({ policy: "approvals:\n  required: 1\n", org }).repo;
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    prNumber = pr.number;
    await w.settle();
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "failure" });

    await w.cg.kill("SIGKILL");
    const logged = w.sim.deliveries.attempts.length;
    w.model.merge(pr, "admin"); // pull_request closed (merged) and the push of the merge commit
    const { after } = w.model.directPush(repo, "main", [{ message: "hotfix straight to main" }], {
      by: "mallory",
    });
    await w.sim.deliveries.idle();
    const failed = w.sim.deliveries.attempts.slice(logged);
    // Every attempt while down failed as GitHub logs a refused connection.
    expect(failed.length).toBeGreaterThanOrEqual(3);
    expect(
      failed.every((a) => a.status_code === 502 && a.status === "failed to connect to host" && !a.redelivery),
    ).toBe(true);
    mergeGuid = failed.find((a) => a.event === "pull_request" && a.action === "closed")!.guid;
    pushGuid = failed.find((a) => a.event === "push" && a.body.includes(`"after":"${after}"`))!.guid;
    expect(
      exported(repo).filter((r) => r.change_type === "merge" || r.change_type === "direct_push"),
    ).toEqual([]);

    const from = w.cg.logs.length;
    await w.cg.respawn();
    // The redelivery run at start-up asks for each failed delivery again, one log line each (no payload).
    await until(
      () =>
        w.cg.logs
          .slice(from)
          .filter(
            (l) => l.msg === "asked GitHub to redeliver a webhook delivery that failed on every attempt",
          ).length >= failed.length,
    );
    const asked = w.cg.logs
      .slice(from)
      .filter((l) => l.msg === "asked GitHub to redeliver a webhook delivery that failed on every attempt");
    expect(asked.map((l) => l.delivery).sort()).toEqual([...new Set(failed.map((a) => a.guid))].sort());
    expect(asked.find((l) => l.delivery === mergeGuid)).toMatchObject({
      event: "pull_request",
      action: "closed",
    });
    expect(JSON.stringify(asked)).not.toContain("hotfix straight to main");
    await until(() => alarms(`#${pr.number}`, from).length > 0 && alarms("mallory", from).length > 0);
    await w.settle();

    // GitHub's log now shows a successful redelivery for each guid.
    await w.sim.deliveries.idle();
    const redelivered = w.sim.deliveries.attempts.filter((a) => a.redelivery);
    expect(redelivered.map((a) => a.guid).sort()).toEqual([...new Set(failed.map((a) => a.guid))].sort());
    expect(redelivered.every((a) => a.status_code >= 200 && a.status_code < 300)).toBe(true);

    const rows = exported(repo);
    expect(rows.filter((r) => r.change_type === "merge")).toEqual([
      expect.objectContaining({ pr: pr.number, merged_by: "admin", bypass: true, found_by: "webhook" }),
    ]);
    expect(rows.filter((r) => r.change_type === "direct_push")).toEqual([
      expect.objectContaining({ head_sha: after, merged_by: "mallory", bypass: true, found_by: "webhook" }),
    ]);
    // Prometheus: found and redelivered counted.
    const metrics = await (await fetch(`${w.cg.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `changegate_redeliveries_total\\{result="redelivered"\\} ${new Set(failed.map((a) => a.guid)).size}`,
      ),
    );
  }, 180_000);

  test("a redelivery delivered twice more is processed once: one merge record, one direct_push record", async () => {
    expect(mergeGuid).not.toBe("");
    const attemptOf = (guid: string) => w.sim.deliveries.attempts.find((a) => a.guid === guid)!.id;
    const from = w.cg.logs.length;
    for (const guid of [mergeGuid, pushGuid]) {
      const id = attemptOf(guid);
      const [a, b] = await Promise.all([
        gh("POST", `/app/hook/deliveries/${id}/attempts`),
        gh("POST", `/app/hook/deliveries/${id}/attempts`),
      ]);
      expect([a.status, b.status]).toEqual([202, 202]);
    }
    await w.sim.deliveries.idle();
    await w.settle();
    const rows = exported(repo);
    expect(rows.filter((r) => r.change_type === "merge" && r.pr === prNumber)).toHaveLength(1);
    expect(rows.filter((r) => r.change_type === "direct_push")).toHaveLength(1);
    expect(alarms("", from)).toEqual([]);
  }, 120_000);

  test("a restart finds nothing left to redeliver: what was processed is not asked for again", async () => {
    const from = w.cg.logs.length;
    const before = w.sim.deliveries.attempts.length;
    await w.cg.kill("SIGTERM");
    const seq = w.sim.requests.at(-1)?.seq ?? 0;
    await w.cg.respawn();
    await until(
      () => w.sim.since(seq, (r) => r.route === "GET /app/hook/deliveries" && r.status === 200).length > 0,
    );
    await w.settle();
    expect(w.sim.since(seq, (r) => r.route === "POST /app/hook/deliveries/{delivery_id}/attempts")).toEqual(
      [],
    );
    expect(
      w.cg.logs
        .slice(from)
        .filter((l) => l.msg === "asked GitHub to redeliver a webhook delivery that failed on every attempt"),
    ).toEqual([]);
    expect(w.sim.deliveries.attempts.length).toBe(before);
  }, 120_000);
});

describe("the simulator's delivery log in GitHub's shapes (GHES 3.19 OpenAPI)", () => {
  test("list (cursor pages, per_page <= 100), one delivery, a redelivery (202); an installation token is refused", async () => {
    const spec = createRequire(import.meta.url)("@octokit/openapi/generated/ghes-3.19.json");
    const schema = (path: string, method: string, status: number) =>
      spec.paths[path][method].responses[String(status)].content?.["application/json"]?.schema;
    const first = await gh("GET", "/app/hook/deliveries?per_page=2");
    expect(first.status).toBe(200);
    expect(first.json).toHaveLength(2);
    expect(conforms(schema("/app/hook/deliveries", "get", 200), first.json, spec)).toEqual([]);
    const link = first.headers.get("link")!;
    expect(link).toMatch(/rel="next"/);
    const next = new URL(/<([^>]+)>; rel="next"/.exec(link)![1]!);
    const second = await gh("GET", `/app/hook/deliveries?${next.searchParams.toString()}`);
    expect(second.json[0].id).toBeLessThan(first.json[1].id); // newest first, no overlap
    const all = await gh("GET", "/app/hook/deliveries?per_page=1000");
    expect(all.json.length).toBeLessThanOrEqual(100);
    const one = await gh("GET", `/app/hook/deliveries/${first.json[0].id}`);
    expect(one.status).toBe(200);
    expect(conforms(schema("/app/hook/deliveries/{delivery_id}", "get", 200), one.json, spec)).toEqual([]);
    expect(one.json.guid).toBe(first.json[0].guid);
    expect((await gh("GET", "/app/hook/deliveries/999999999")).status).toBe(404);
    expect((await gh("POST", "/app/hook/deliveries/999999999/attempts")).status).toBe(404);
    expect((await gh("GET", "/app/hook/deliveries", "token ghs_not_a_jwt")).status).toBe(401);
  });
});
