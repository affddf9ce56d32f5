/**
 * Two changegate app instances on one PostgreSQL behave as one: a delivery is processed once
 * whichever replica receives it, and two replicas never evaluate one PR at the same time (the
 * evaluation holds the PR's advisory lock), so the later one always reads newer evidence.
 * Needs TEST_DATABASE_URL (CI provides it and fails rather than skip without it).
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import nock from "nock";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { StoreDeliveryLedger } from "../../src/audit/ledger.js";
import { AuditReader } from "../../src/audit/reader.js";
import { prLockFor } from "../../src/intake/pg-pr-lock.js";
import { evidenceData } from "../helpers/fixtures.js";
import { pullRequestEvent, reviewEvent } from "../helpers/payloads.js";
import { API, harness, mockToken, type Harness } from "../helpers/probot.js";
import { pgSchema, pgTestUrl } from "../audit/records.js";

const base = pgTestUrl();
const REPO_PATH = "/repos/acme/payments";

async function replica(url: string): Promise<{ h: Harness; store: AuditStore }> {
  const store = await AuditStore.open(url);
  const h = await harness({
    recorder: new ChainWriter(store),
    ledger: new StoreDeliveryLedger(store),
    prLock: prLockFor(store),
  });
  return { h, store };
}

// Without PostgreSQL (and without CI) the suite is left out, and the end of the run says so (pg-teardown.mjs).
const describeWithPostgres = base ? describe : describe.skip;

describeWithPostgres("two replicas on one PostgreSQL", () => {
  let schema: { url: string; drop: () => Promise<void> };
  let a: { h: Harness; store: AuditStore };
  let b: { h: Harness; store: AuditStore };
  beforeEach(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    schema = await pgSchema(base!);
    a = await replica(schema.url);
    b = await replica(schema.url);
  });
  afterEach(async () => {
    await a.store.close();
    await b.store.close();
    await schema.drop();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  test("a webhook delivered to both replicas is processed once", async () => {
    const scope = mockToken(mockToken(nock(API)))
      .post("/graphql")
      .reply(200, { data: evidenceData({ reviews: [] }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 1 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 2 });
    await Promise.all([
      a.h.deliver("pull_request", pullRequestEvent("opened"), "same-delivery"),
      b.h.deliver("pull_request", pullRequestEvent("opened"), "same-delivery"),
    ]);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(a.h.changegate.stats().evaluations + b.h.changegate.stats().evaluations).toBe(1);
    expect(a.h.changegate.stats().duplicates + b.h.changegate.stats().duplicates).toBe(1);
  });

  test("a replica starting while another evaluates a delivery does not take it over (it was evaluated by both)", async () => {
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    const scope = mockToken(nock(API))
      .post("/graphql")
      .reply(async () => {
        await answered;
        return [200, { data: evidenceData({ reviews: [] }) }];
      })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 1 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 2 });
    const delivered = a.h.deliver("pull_request", pullRequestEvent("opened"), "in-flight");
    // a has claimed the delivery and is reading GitHub: its row is unfinished, its holder alive.
    for (let i = 0; i < 100 && a.h.changegate.stats().active === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(a.h.changegate.stats().active).toBe(1);
    const c = await replica(schema.url);
    try {
      expect(await c.h.changegate.resumed()).toBe(0);
      answer();
      await delivered;
      await a.h.changegate.idle();
      await c.h.changegate.idle();
      expect(scope.pendingMocks()).toStrictEqual([]);
      expect(a.h.changegate.stats().evaluations + c.h.changegate.stats().evaluations).toBe(1);
    } finally {
      answer();
      await c.store.close();
    }
  });

  test("a delivery whose replica died is resumed by another; one a live replica holds is not", async () => {
    const job = {
      ref: { installationId: 1, owner: "acme", repo: "payments", number: 1 },
      event: "pull_request.opened",
      expectedHead: null,
      merge: false,
    };
    const la = new StoreDeliveryLedger(a.store);
    const lb = new StoreDeliveryLedger(b.store);
    expect(await la.claimPending("held-by-a", [job])).toBe(true);
    expect(await lb.unfinished()).toEqual([]);
    // a dies: its connections close, and with them the session lock that said it was alive.
    await a.store.close();
    a.store = await AuditStore.open(schema.url); // afterEach closes it
    const resumed = await lb.unfinished();
    expect(resumed.map((r) => r.deliveryId)).toEqual(["held-by-a"]);
    // Taken over once: a third process finds nothing while b lives.
    const third = await AuditStore.open(schema.url);
    try {
      expect(await new StoreDeliveryLedger(third).unfinished()).toEqual([]);
    } finally {
      await third.close();
    }
  });

  test("two replicas never evaluate one PR at once: the second reads after the first published", async () => {
    const order: string[] = [];
    let reads = 0;
    const scope = mockToken(mockToken(nock(API)))
      .post("/graphql")
      .times(2)
      .reply(async () => {
        const n = ++reads;
        order.push(`read ${n}`);
        await new Promise((r) => setTimeout(r, 150));
        return [200, { data: evidenceData({ reviews: n === 1 ? [] : [{ login: "alice" }] }) }];
      })
      .post(`${REPO_PATH}/check-runs`)
      .times(2)
      .reply(201, (_uri: string, body: { conclusion: string }) => {
        order.push(`check ${body.conclusion}`);
        return { id: 1 };
      })
      .post(`${REPO_PATH}/issues/1/comments`)
      .times(2)
      .reply(201, () => {
        order.push("comment");
        return { id: 2 };
      });
    await Promise.all([
      a.h.deliver("pull_request", pullRequestEvent("synchronize"), "d-a"),
      b.h.deliver("pull_request_review", reviewEvent("submitted"), "d-b"),
    ]);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(order).toEqual(["read 1", "check failure", "comment", "read 2", "check success", "comment"]);
    // Both verdicts are on the one shared record, in order.
    const rows = await new AuditReader(a.store).prRecords("acme/payments", 1);
    expect(rows.filter((r) => r.kind === "evaluation").map((r) => r.outcome)).toEqual(["failure", "success"]);
  });
});
