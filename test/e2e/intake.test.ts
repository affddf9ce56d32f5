/**
 * Nobody holds the intake shut (issue 19), against `node lib/main.js` on the simulator: idle
 * connections that declare GitHub's biggest body and send none of it hold nothing, so a normal
 * delivery is answered at once and judged right, and they are cut at the body deadline; a
 * merge_group is answered at once even when GitHub's check writes are slow, and its check is right
 * once the write gets through.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { connect, type Socket } from "node:net";
import { CHECK_NAME } from "../../src/contract.js";
import type { SimPull } from "../sim/model.js";
import { World } from "../sim/world.js";

let w: World;
const BODY_TIMEOUT_SECONDS = 3;

beforeAll(async () => {
  w = await World.start({ env: { HTTP_BODY_TIMEOUT_SECONDS: String(BODY_TIMEOUT_SECONDS) } });
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

/** A POST to the webhook route declaring `declared` body bytes and sending none; `answer` is the status line's code. */
async function holdOpen(
  declared: number,
): Promise<{ socket: Socket; answer: Promise<{ status: string; at: number }> }> {
  const { hostname, port } = new URL(w.cg.url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((r) => socket.once("connect", () => r()));
  let got = "";
  const answer = new Promise<{ status: string; at: number }>((resolve) => {
    socket.on("data", (d) => {
      got += d.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) resolve({ status: m[1]!, at: Date.now() });
    });
    socket.on("error", () => resolve({ status: "error", at: Date.now() }));
    socket.on("close", () =>
      resolve({ status: /^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? "closed", at: Date.now() }),
    );
  });
  socket.write(
    [
      "POST /api/github/webhooks HTTP/1.1",
      `host: ${hostname}:${port}`,
      "content-type: application/json",
      "x-github-event: pull_request",
      `x-github-delivery: held-${Math.random().toString(36).slice(2)}`,
      `content-length: ${declared}`,
      "",
      "",
    ].join("\r\n"),
  );
  return { socket, answer };
}

function lastDelivery(name: string, action: string) {
  const d = w.cg.deliveries.filter((x) => x.name === name && x.action === action).at(-1);
  if (!d) throw new Error(`no ${name}.${action} delivery was sent`);
  return d;
}

describe("the body budget cannot be held by declared lengths", () => {
  test("four idle connections declaring 25 MB each: a normal delivery is still answered 2xx in under a second and its check is right; the four are cut at the body deadline", async () => {
    const held = await Promise.all([0, 1, 2, 3].map(() => holdOpen(25 * 1024 * 1024)));
    const opened = Date.now();
    try {
      const { repo } = w.repo({ policy: "approvals:\n  required: 1\n" });
      const pr = w.model.openPullRequest(repo, { author: "dev" });
      w.model.review(pr, { author: "alice" });
      await w.settle();
      for (const action of ["opened"]) {
        const d = lastDelivery("pull_request", action);
        expect(d.status).toBeGreaterThanOrEqual(200);
        expect(d.status).toBeLessThan(300);
        expect(d.answeredAt! - d.sentAt).toBeLessThan(1000);
      }
      const review = lastDelivery("pull_request_review", "submitted");
      expect(review.status).toBeGreaterThanOrEqual(200);
      expect(review.status).toBeLessThan(300);
      expect(review.answeredAt! - review.sentAt).toBeLessThan(1000);
      expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });

      // None of the four ever sent a byte: each is cut with 408 at the deadline (not Node's 300 s).
      const answers = await Promise.all(held.map((h) => h.answer));
      expect(answers.map((a) => a.status)).toEqual(["408", "408", "408", "408"]);
      for (const a of answers) {
        expect(a.at - opened).toBeGreaterThanOrEqual(BODY_TIMEOUT_SECONDS * 1000 - 500);
        expect(a.at - opened).toBeLessThan(BODY_TIMEOUT_SECONDS * 1000 + 5000);
      }
      // The 408 goes out before its log line has come through the process's stdout: wait for the fourth.
      const cuts = () => w.cg.logs.filter((l) => String(l.msg).includes("request body cut with 408"));
      await w.cg.waitForLog(() => cuts().length >= 4, 10_000).catch(() => undefined);
      expect(cuts()).toHaveLength(4);
      expect(w.cg.exitInfo).toBeNull();
    } finally {
      for (const h of held) h.socket.destroy();
    }
  }, 120_000);
});

describe("merge_group through the intake", () => {
  function groupCheck(pr: SimPull, headSha: string) {
    return w.model
      .runsOn(pr.repo, headSha)
      .filter((r) => r.name === CHECK_NAME)
      .at(-1);
  }

  test("with GitHub's check writes slow, a merge_group is answered at once (< 1 s) and its check is right later", async () => {
    const { repo } = w.repo({ policy: "approvals:\n  required: 1\n" });
    const good = w.model.openPullRequest(repo, { author: "dev" });
    w.model.review(good, { author: "alice" });
    await w.settle();
    expect(w.check(good)).toMatchObject({ conclusion: "success" });

    const slow = w.sim.fault({
      route: "POST /repos/{owner}/{repo}/check-runs",
      repo: repo.fullName,
      kind: "delay",
      ms: 4000,
    });
    try {
      const entry = w.model.enqueue(good);
      // Answered before the slow write (4 s) could have finished.
      const deadline = Date.now() + 10_000;
      while (lastDelivery("merge_group", "checks_requested").answeredAt === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const d = lastDelivery("merge_group", "checks_requested");
      expect(d.status).toBeGreaterThanOrEqual(200);
      expect(d.status).toBeLessThan(300);
      expect(d.answeredAt! - d.sentAt).toBeLessThan(1000);
      expect(groupCheck(good, entry.headSha)).toBeUndefined();
      await w.settle(60_000);
      expect(slow.hits).toBeGreaterThanOrEqual(1);
      expect(groupCheck(good, entry.headSha)).toMatchObject({ status: "completed", conclusion: "success" });
      // One check on the group's head: judged once.
      expect(w.model.runsOn(good.repo, entry.headSha).filter((r) => r.name === CHECK_NAME)).toHaveLength(1);
    } finally {
      slow.removed = true;
    }
  }, 120_000);
});
