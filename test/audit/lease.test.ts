/**
 * Background-job leases (audit/lease.ts) on SQLite and, with TEST_DATABASE_URL, PostgreSQL: one
 * holder at a time, even when two stores (replicas) ask at once; the position a holder leaves is
 * what the next holder reads; an expired lease is taken over, and its old holder then writes nothing.
 * The redelivery's own runs (background/redelivery.ts) against the lease: two at once redeliver each
 * failed delivery once.
 */
import { afterAll, afterEach, describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import { AuditStore } from "../../src/audit/database.js";
import { StoreLease } from "../../src/audit/lease.js";
import { StoreDeliveryLedger } from "../../src/audit/ledger.js";
import { startRedelivery } from "../../src/background/redelivery.js";
import type { DeliveryAttempt } from "../../src/github/deliveries.js";
import { pgSchema, pgTestUrl, tempDir } from "./records.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;

const quiet = { info() {}, warn() {}, error() {} };

function leaseContract(name: string, target: () => Promise<{ url: string; done: () => Promise<void> }>) {
  describe(`leases on ${name}`, () => {
    const stores: AuditStore[] = [];
    let cleanup: (() => Promise<void>) | null = null;
    const open = async (url: string, now?: () => Date) => {
      const s = await AuditStore.open(url, now ? { now } : {});
      stores.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close().catch(() => {});
      await cleanup?.();
    });

    test("one holder at a time; the position it leaves is the next holder's", async () => {
      const t = await target();
      cleanup = t.done;
      const a = await open(t.url);
      const b = await open(t.url);
      const la = new StoreLease(a, "job", "replica-a");
      const lb = new StoreLease(b, "job", "replica-b");
      expect(await la.acquire(60_000)).toEqual({ position: null });
      expect(await lb.acquire(60_000)).toBeNull();
      expect(await la.acquire(60_000)).toBeNull(); // not re-entrant: a run never overlaps itself
      expect(await la.release("2026-12-06T10:00:00.000Z")).toBe(true);
      expect(await lb.acquire(60_000)).toEqual({ position: "2026-12-06T10:00:00.000Z" });
      expect(await lb.release()).toBe(true); // position unchanged
      expect(await la.acquire(60_000)).toEqual({ position: "2026-12-06T10:00:00.000Z" });
      // Another job's lease is another row.
      expect(await new StoreLease(b, "other-job", "replica-b").acquire(60_000)).toEqual({ position: null });
    });

    test("an expired lease is taken over; the old holder's release then writes nothing", async () => {
      const t = await target();
      cleanup = t.done;
      let clock = Date.parse("2026-12-06T10:00:00Z");
      const now = () => new Date(clock);
      const a = await open(t.url, now);
      const b = await open(t.url, now);
      const la = new StoreLease(a, "job", "replica-a");
      const lb = new StoreLease(b, "job", "replica-b");
      expect(await la.acquire(60_000)).not.toBeNull();
      clock += 59_000;
      expect(await lb.acquire(60_000)).toBeNull();
      clock += 2_000;
      expect(await lb.acquire(60_000)).toEqual({ position: null });
      expect(await la.release("from-a")).toBe(false);
      expect(await lb.release("from-b")).toBe(true);
      expect(await la.acquire(60_000)).toEqual({ position: "from-b" });
    });

    test("two replicas asking at once: exactly one holds it, many times over", async () => {
      const t = await target();
      cleanup = t.done;
      const a = await open(t.url);
      const b = await open(t.url);
      for (let i = 0; i < 10; i++) {
        const la = new StoreLease(a, `race-${i}`, "replica-a");
        const lb = new StoreLease(b, `race-${i}`, "replica-b");
        const got = await Promise.all([la.acquire(60_000), lb.acquire(60_000)]);
        expect(got.filter((g) => g !== null)).toHaveLength(1);
      }
    });

    test("the ledger says which deliveries some process claimed (what the redelivery skips)", async () => {
      const t = await target();
      cleanup = t.done;
      const a = await open(t.url);
      const ledger = new StoreDeliveryLedger(a);
      expect(await ledger.claim("guid-claimed")).toBe(true);
      expect(await ledger.claimPending("guid-with-jobs", [])).toBe(true);
      const many = Array.from({ length: 1200 }, (_, i) => `guid-${i}`); // more than one statement's chunk
      expect(
        [
          ...(await ledger.processed([
            "guid-claimed",
            "guid-never",
            "guid-with-jobs",
            ...many,
            "guid-claimed",
          ])),
        ].sort(),
      ).toEqual(["guid-claimed", "guid-with-jobs"]);
      expect(await ledger.processed([])).toEqual(new Set());
    });

    test("two redelivery runs at once (two replicas): each failed delivery is redelivered once", async () => {
      const t = await target();
      cleanup = t.done;
      const at = new Date().toISOString();
      const attempts: DeliveryAttempt[] = Array.from({ length: 5 }, (_, i) => ({
        id: 100 + i,
        guid: `guid-${i}`,
        deliveredAt: at,
        redelivery: false,
        statusCode: 502,
        event: "pull_request",
        action: "closed",
        installationId: 1,
        repositoryId: 2,
      }));
      const asked: number[] = [];
      const github = {
        list: async () => {
          await new Promise((r) => setTimeout(r, 50)); // the listing takes a while: the runs overlap
          return { attempts, complete: true, malformed: 0, pages: 1 };
        },
        redeliver: async (id: number) => void asked.push(id),
      };
      const run = async (holder: string) => {
        const store = await open(t.url);
        return startRedelivery({
          intervalMs: 0,
          github,
          processed: async () => new Set(),
          lease: new StoreLease(store, "webhook-redelivery", holder),
          now: () => new Date(),
          log: quiet,
        });
      };
      const r1 = await run("replica-a");
      const r2 = await run("replica-b");
      const results = await Promise.all([r1.runOnce(), r2.runOnce()]);
      expect(results.map((r) => r.ran).sort()).toEqual([false, true]);
      expect(asked.sort()).toEqual([100, 101, 102, 103, 104]);
    });
  });
}

leaseContract("SQLite", async () => ({
  url: `sqlite:${join(tmp.dir, `lease-${++n}.db`)}`,
  done: async () => {},
}));

const pgBase = pgTestUrl();
if (pgBase) {
  leaseContract("PostgreSQL", async () => {
    const s = await pgSchema(pgBase);
    return { url: s.url, done: s.drop };
  });
}
