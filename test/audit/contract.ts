/**
 * The store's behaviour, run against SQLite (store.sqlite.test.ts) and PostgreSQL
 * (store.pg.test.ts). Every `factory().open()` is a separate store instance with its own
 * connection(s) on the same database, as two processes would have.
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import { sql } from "kysely";
import { migrations } from "../../src/audit/migrations.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { StoreDeliveryLedger } from "../../src/audit/ledger.js";
import { AuditReader } from "../../src/audit/reader.js";
import { StoreTicketIndex } from "../../src/audit/ticket-index.js";
import { verifyChains } from "../../src/audit/verify.js";
import { prKey, type PrRef } from "../../src/github/types.js";
import { OLD } from "../helpers/fixtures.js";
import { evaluation, merge, ref, type StoreFactory } from "./records.js";

export function storeContract(factory: () => StoreFactory): void {
  const opened: AuditStore[] = [];
  const open = async (...args: Parameters<StoreFactory["open"]>) => {
    const s = await factory().open(...args);
    opened.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  /** What someone with direct database access would have to do first to change records. */
  async function dropGuards(store: AuditStore): Promise<void> {
    if (store.dialect === "sqlite") {
      await sql`drop trigger audit_record_no_update`.execute(store.db);
      await sql`drop trigger audit_record_no_delete`.execute(store.db);
    } else {
      await sql`alter table audit_record disable trigger user`.execute(store.db);
    }
  }

  async function fill(store: AuditStore, n: number): Promise<void> {
    const rec = new ChainWriter(store);
    for (let i = 0; i < n; i++) {
      await rec.recordEvaluation(
        evaluation({
          number: 1 + (i % 2),
          at: `2026-03-01T10:00:0${i}.000Z`,
          approvers: [{ login: "alice", at: "2026-03-01T09:00:00Z" }],
        }),
      );
    }
  }

  describe("migrations", () => {
    test("run once: a second start applies nothing and keeps every record", async () => {
      const a = await open();
      const names = Object.keys(migrations(a.dialect));
      expect(await a.appliedMigrations()).toEqual(names);
      await fill(a, 3);
      const again = await a.migrate();
      expect(again).toEqual({ applied: [], newer: [] });
      const b = await open();
      expect(await b.appliedMigrations()).toEqual(names);
      expect(await new AuditReader(b).countRecords()).toBe(3);
      expect((await verifyChains(new AuditReader(b))).ok).toBe(true);
    });

    test("a database migrated by a newer changegate is left alone", async () => {
      const a = await open();
      await sql`insert into changegate_migration (name, timestamp) values ('9999_from_the_future', '2030-01-01T00:00:00.000Z')`.execute(
        a.db,
      );
      const b = await open();
      expect(await b.migrate()).toEqual({ applied: [], newer: ["9999_from_the_future"] });
      await fill(b, 1);
      expect(await new AuditReader(b).countRecords()).toBe(1);
    });
  });

  describe("the hash chain", () => {
    test("evaluations and merges form one valid chain per repository", async () => {
      const store = await open();
      const rec = new ChainWriter(store);
      const e1 = await rec.recordEvaluation(evaluation({ number: 1, at: "2026-03-01T10:00:00Z" }));
      const e2 = await rec.recordEvaluation(evaluation({ number: 2, at: "2026-03-01T10:01:00Z" }));
      const other = await rec.recordEvaluation(
        evaluation({ number: 7, repo: "ledger", at: "2026-03-01T10:02:00Z" }),
      );
      const m = await rec.recordMerge(merge({ number: 1 }));
      expect([e1.id, e2.id, m.id, other.id]).toEqual([
        "acme/payments@1",
        "acme/payments@2",
        "acme/payments@3",
        "acme/ledger@1",
      ]);
      const rows = [];
      for await (const r of new AuditReader(store).chainRecords("acme/payments")) rows.push(r);
      expect(rows.map((r) => r.prev_hash)).toEqual(["0".repeat(64), e1.hash, e2.hash]);
      const report = await verifyChains(new AuditReader(store));
      expect(report).toMatchObject({ ok: true, chains: 2, records: 4, problems: [] });
      expect(report.heads).toEqual([
        { chain: "acme/ledger", seq: 1, hash: other.hash },
        { chain: "acme/payments", seq: 3, hash: m.hash },
      ]);
    });

    test("the database refuses to update or delete a record", async () => {
      const store = await open();
      await fill(store, 1);
      const attempt = async (q: ReturnType<typeof sql>) => {
        try {
          const r = await q.execute(store.db);
          return `no error: ${String(r.numAffectedRows)} rows changed; ${await new AuditReader(store).countRecords()} left`;
        } catch (e) {
          return (e as Error).message;
        }
      };
      expect(await attempt(sql`update audit_record set outcome = 'success'`)).toMatch(
        /append-only: update refused/,
      );
      expect(await attempt(sql`delete from audit_record where seq = 1`)).toMatch(
        /append-only: delete refused/,
      );
      expect(await attempt(sql`delete from audit_record`)).toMatch(/append-only: delete refused/);
      expect(await new AuditReader(store).countRecords()).toBe(1);
    });

    test("the chain heads are an insert-only log: one entry per record, the newest is the head, update and delete refused", async () => {
      const store = await open();
      await fill(store, 3);
      const entries = await store.db
        .selectFrom("audit_chain")
        .select(["chain", "seq"])
        .where("chain", "=", "acme/payments")
        .orderBy("seq")
        .execute();
      expect(entries.map((e) => Number(e.seq))).toEqual([1, 2, 3]);
      expect(await new AuditReader(store).chainHead("acme/payments")).toMatchObject({ seq: 3 });
      const attempt = async (q: ReturnType<typeof sql>) => {
        try {
          await q.execute(store.db);
          return "no error";
        } catch (e) {
          return (e as Error).message;
        }
      };
      expect(
        await attempt(
          sql`update audit_chain set seq = 2, hash = 'x' where chain = 'acme/payments' and seq = 3`,
        ),
      ).toMatch(/insert-only: update refused/);
      expect(await attempt(sql`delete from audit_chain where chain = 'acme/payments' and seq = 3`)).toMatch(
        /insert-only: delete refused/,
      );
      expect(await new AuditReader(store).chainHead("acme/payments")).toMatchObject({ seq: 3 });
    });

    test("a tampered record is named by verify", async () => {
      const store = await open();
      await fill(store, 4);
      await dropGuards(store);
      await sql`update audit_record set outcome = 'tampered' where chain = 'acme/payments' and seq = 3`.execute(
        store.db,
      );
      const report = await verifyChains(new AuditReader(await open()));
      expect(report.ok).toBe(false);
      expect(report.problems).toHaveLength(1);
      expect(report.problems[0]).toMatchObject({ record: "acme/payments@3", seq: 3 });
      expect(report.problems[0]!.message).toMatch(/record 3 was altered/);
    });

    test("a record removed from the middle is detected", async () => {
      const store = await open();
      await fill(store, 4);
      await dropGuards(store);
      await sql`delete from audit_record where chain = 'acme/payments' and seq = 2`.execute(store.db);
      const report = await verifyChains(new AuditReader(store));
      expect(report.ok).toBe(false);
      expect(report.problems[0]).toMatchObject({ record: "acme/payments@2" });
      expect(report.problems[0]!.message).toMatch(/record 2 is missing/);
    });

    test("a record removed from the end is detected through the chain head", async () => {
      const store = await open();
      await fill(store, 4);
      await dropGuards(store);
      await sql`delete from audit_record where chain = 'acme/payments' and seq = 4`.execute(store.db);
      const report = await verifyChains(new AuditReader(store));
      expect(report.ok).toBe(false);
      expect(report.problems[0]).toMatchObject({ record: "acme/payments@4" });
      expect(report.problems[0]!.message).toMatch(/records 4–4 were removed/);
    });

    test("a renumbered chain (record removed, the rest shifted down) breaks at the first shifted record", async () => {
      const store = await open();
      await fill(store, 4);
      await dropGuards(store);
      await sql`delete from audit_record where chain = 'acme/payments' and seq = 2`.execute(store.db);
      await sql`update audit_record set seq = seq - 1 where chain = 'acme/payments' and seq > 2`.execute(
        store.db,
      );
      const report = await verifyChains(new AuditReader(store));
      expect(report.problems[0]).toMatchObject({ record: "acme/payments@2" });
      expect(report.problems[0]!.message).toMatch(/does not follow record 1/);
    });

    test("appends from two store instances keep one gap-free valid chain", async () => {
      const a = await open();
      const b = await open();
      const ra = new ChainWriter(a);
      const rb = new ChainWriter(b);
      const n = 30;
      const append = (i: number) =>
        (i % 2 === 0 ? ra : rb).recordEvaluation(
          evaluation({ number: 1 + (i % 3), deliveryId: `c-${i}`, at: "2026-03-01T10:00:00Z" }),
        );
      const results = [];
      if (factory().concurrentInstances) {
        results.push(...(await Promise.all(Array.from({ length: n }, (_, i) => append(i)))));
      } else {
        for (let i = 0; i < n; i++) results.push(await append(i)); // each instance continues the other's chain
      }
      expect(results.map((r) => r.seq).sort((x, y) => x - y)).toEqual(
        Array.from({ length: n }, (_, i) => i + 1),
      );
      const report = await verifyChains(new AuditReader(a));
      expect(report).toMatchObject({ ok: true, records: n });
    });
  });

  describe("merges", () => {
    test("a merge names the evaluation that stood for the merged head, and bypass follows isBypass", async () => {
      const store = await open();
      const rec = new ChainWriter(store);
      await rec.recordEvaluation(
        evaluation({
          number: 1,
          head: OLD,
          approvers: [{ login: "alice", at: "2026-03-01T09:00:00Z", commit: OLD }],
        }),
      );
      const stood = await rec.recordEvaluation(evaluation({ number: 1, sequence: 5 }));
      await rec.recordEvaluation(
        evaluation({ number: 1, sequence: 4, approvers: [{ login: "alice", at: "2026-03-01T09:00:00Z" }] }),
      );
      const m = await rec.recordMerge(merge({ number: 1, outcome: "failure" }));
      expect(m).toMatchObject({
        bypass: true,
        duplicate: false,
        standing: { seq: stood.seq, hash: stood.hash, outcome: "failure" },
      });

      const compliant = await rec.recordMerge(merge({ number: 2, outcome: "success" }));
      expect(compliant).toMatchObject({ bypass: false, standing: null });
      const ungated = await rec.recordMerge(merge({ number: 3, outcome: "none", gated: false }));
      expect(ungated.bypass).toBe(false);
      const unknownGate = await rec.recordMerge(merge({ number: 4, outcome: "pending" }));
      expect(unknownGate.bypass).toBe(true);

      const rows = await new AuditReader(store).prRecords("ACME/Payments", 1);
      expect(rows.map((r) => [r.kind, r.bypass])).toEqual([
        ["evaluation", null],
        ["evaluation", null],
        ["evaluation", null],
        ["merge", 1],
      ]);
    });

    test("verdictsAt gives each PR's latest own verdict at one head, with the base and gating it was judged on", async () => {
      const a = await open();
      const b = await open();
      const rec = new ChainWriter(a);
      await rec.recordEvaluation(evaluation({ number: 1, sequence: 1 }));
      await rec.recordEvaluation(
        evaluation({ number: 1, sequence: 2, approvers: [{ login: "alice", at: "2026-03-01T09:00:00Z" }] }),
      );
      await rec.recordEvaluation(evaluation({ number: 2, sequence: 1, policy: { branches: ["release/*"] } }));
      await rec.recordEvaluation(evaluation({ number: 3, head: OLD }));
      const got = await new ChainWriter(b).verdictsAt(ref(1), evaluation().evidence.pr.headSha, [1, 2, 3, 4]);
      expect([...got.keys()].sort()).toEqual([1, 2]);
      expect(got.get(1)).toMatchObject({
        number: 1,
        base: "main",
        outcome: "success",
        gated: true,
        emergency: false,
      });
      expect(got.get(1)!.title).toMatch(/^Compliant/);
      expect(got.get(2)).toMatchObject({ outcome: "success", gated: false });
      expect(await new ChainWriter(b).verdictsAt(ref(1), OLD, [])).toEqual(new Map());
    });

    test("a merge delivered again is recorded once", async () => {
      const a = await open();
      const b = await open();
      const first = await new ChainWriter(a).recordMerge(merge({ number: 9, deliveryId: "m-1" }));
      const again = await new ChainWriter(b).recordMerge(merge({ number: 9, deliveryId: "m-1 (resumed)" }));
      expect(again).toMatchObject({ duplicate: true, id: first.id, hash: first.hash });
      expect(await new AuditReader(a).countRecords()).toBe(1);
    });
  });

  describe("several processes", () => {
    test("a delivery id is claimed once across two store instances", async () => {
      const a = new StoreDeliveryLedger(await open());
      const b = new StoreDeliveryLedger(await open());
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).claim("delivery-42")),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await a.claim("delivery-43")).toBe(true);
      expect(await b.claim("delivery-43")).toBe(false);
    });

    test("claimPending claims and records the jobs in one go, once across two store instances", async () => {
      const [sa, sb] = [await open(), await open()];
      const a = new StoreDeliveryLedger(sa);
      const b = new StoreDeliveryLedger(sb);
      const job = (n: number) => ({
        ref: ref(n),
        event: "pull_request.opened",
        expectedHead: null,
        merge: false,
      });
      const claims = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).claimPending("dp-1", [job(i + 1)])),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      const winner = claims.indexOf(true) + 1;
      // A repeat records nothing: the winner's jobs stand, and the plain claim sees it taken.
      expect(await a.claim("dp-1")).toBe(false);
      expect(await b.claimPending("dp-2", [])).toBe(true);
      expect(await a.claimPending("dp-2", [job(9)])).toBe(false);
      // Both processes die: a third resumes what they left.
      await Promise.all([sa.close(), sb.close()]);
      expect(await new StoreDeliveryLedger(await open()).unfinished()).toEqual([
        { deliveryId: "dp-1", jobs: [job(winner)] },
      ]);
    });

    test("a merge group's job keeps its facts through the store, so another process resumes it as a group (issue 19)", async () => {
      const group = {
        action: "checks_requested" as const,
        reason: null,
        headSha: "9".repeat(40),
        headRef: `refs/heads/gh-readonly-queue/main/pr-3-${"b".repeat(40)}`,
        baseSha: "b".repeat(40),
        baseRef: "refs/heads/main",
      };
      const job = {
        ref: ref(3),
        event: "merge_group.checks_requested",
        expectedHead: null,
        merge: false,
        group,
      };
      const [sa, sb] = [await open(), await open()];
      expect(await new StoreDeliveryLedger(sa).claimPending("mg-1", [job])).toBe(true);
      expect(await new StoreDeliveryLedger(sb).claimPending("mg-1", [job])).toBe(false);
      // The process holding it dies: another resumes it, as a group.
      await Promise.all([sa.close(), sb.close()]);
      expect(await new StoreDeliveryLedger(await open()).unfinished()).toEqual([
        { deliveryId: "mg-1", jobs: [job] },
      ]);
    });

    test("release forgets a claim that led to nothing, never one with jobs", async () => {
      const a = new StoreDeliveryLedger(await open());
      const job = { ref: ref(1), event: "check_run.completed", expectedHead: null, merge: false };
      expect(await a.claim("r-1")).toBe(true);
      await a.release("r-1");
      expect(await a.claim("r-1")).toBe(true); // the redelivery is processed
      await a.pending("r-1", [job]);
      await a.release("r-1");
      expect(await a.claim("r-1")).toBe(false); // jobs queued: still a repeat
    });

    test("claims asked for together are group-committed: one insert, each caller told whether it was first", async () => {
      const store = await open();
      const a = new StoreDeliveryLedger(store);
      const job = (n: number) => ({
        ref: ref(n),
        event: "pull_request.opened",
        expectedHead: null,
        merge: false,
      });
      expect(await a.claim("g-0")).toBe(true);
      let inserts = 0;
      const bookkeeping = store.bookkeeping.bind(store);
      store.bookkeeping = ((fn: Parameters<typeof store.bookkeeping>[0]) => {
        inserts++;
        return bookkeeping(fn);
      }) as typeof store.bookkeeping;
      // 450 claims in one turn: 3 batches of at most 200; repeats inside a batch and of an older claim.
      const ids = Array.from({ length: 450 }, (_, i) => (i === 7 ? "g-3" : i === 9 ? "g-0" : `g-${i}`));
      const got = await Promise.all(ids.map((id, i) => (i % 3 ? a.claimPending(id, [job(i)]) : a.claim(id))));
      expect(inserts).toBe(3);
      expect(got.filter((x) => !x)).toHaveLength(3);
      expect(got[0]).toBe(false); // g-0, claimed before
      expect(got[7]).toBe(false); // g-3 again, after its first claim at index 3 in the same batch
      expect(got[9]).toBe(false); // g-0 again
      expect(got[3]).toBe(true);
      await store.close(); // the process dies: another resumes its deliveries
      const unfinished = await new StoreDeliveryLedger(await open()).unfinished();
      // Only the claims that carried jobs and won are pending, with their own jobs.
      expect(unfinished.find((d) => d.deliveryId === "g-4")).toEqual({ deliveryId: "g-4", jobs: [job(4)] });
      expect(unfinished.some((d) => d.deliveryId === "g-3" || d.deliveryId === "g-6")).toBe(false);
    });

    test("completeMany completes every delivery it names, and only those", async () => {
      const sa = await open();
      const a = new StoreDeliveryLedger(sa);
      const job = (n: number) => ({
        ref: ref(n),
        event: "pull_request.opened",
        expectedHead: null,
        merge: false,
      });
      const ids = Array.from({ length: 1203 }, (_, i) => `dm-${i}`);
      for (const [i, id] of ids.entries()) expect(await a.claimPending(id, [job(i % 50)])).toBe(true);
      await a.completeMany(ids.filter((id) => id !== "dm-7" && id !== "dm-1202"));
      await a.completeMany([]);
      await sa.close(); // the process dies: another resumes its deliveries
      const left = await new StoreDeliveryLedger(await open()).unfinished();
      expect(left.map((d) => d.deliveryId).sort()).toEqual(["dm-1202", "dm-7"]);
    });

    test("unfinished deliveries are resumed once, oldest first, and completed ones never", async () => {
      let t = Date.parse("2026-03-01T10:00:00Z");
      const now = () => new Date((t += 1000));
      const sa = await open({ now });
      const a = new StoreDeliveryLedger(sa);
      const job = (n: number) => ({
        ref: ref(n),
        event: "pull_request.opened",
        expectedHead: null,
        merge: false,
      });
      for (const id of ["d-1", "d-2", "d-3"]) await a.claim(id);
      await a.pending("d-2", [job(2)]);
      await a.pending("d-1", [job(1), job(11)]);
      await a.pending("d-3", [job(3)]);
      await a.complete("d-3");
      await sa.close(); // a dies with d-1 and d-2 unfinished
      const sb = await open({ now });
      const b = new StoreDeliveryLedger(sb);
      const c = new StoreDeliveryLedger(await open({ now }));
      expect(await b.unfinished()).toEqual([
        { deliveryId: "d-1", jobs: [job(1), job(11)] },
        { deliveryId: "d-2", jobs: [job(2)] },
      ]);
      expect(await c.unfinished()).toEqual([]);
      // The process that took them over died too: another one takes them.
      await sb.close();
      t += 11 * 60_000;
      expect((await c.unfinished()).map((d) => d.deliveryId)).toEqual(["d-1", "d-2"]);
    });

    test("evaluation sequences are shared, and the newest evidence wins whoever recorded last", async () => {
      const a = await open();
      const b = await open();
      const pr = ref(5);
      const s1 = await new ChainWriter(a).nextSequence(pr);
      const s2 = await new ChainWriter(b).nextSequence(pr);
      const s3 = await new ChainWriter(a).nextSequence(pr);
      expect([s1, s2, s3]).toEqual([1, 2, 3]);
      expect(await new ChainWriter(b).nextSequence(ref(6))).toBe(1);
      expect(await latestEvaluation(a, pr)).toBeNull();
      // The evaluation that started last (3) finishes first; the older ones (1, 2) record after it.
      await new ChainWriter(a).recordEvaluation(
        evaluation({ number: 5, sequence: s3, head: "3".repeat(40) }),
      );
      await new ChainWriter(b).recordEvaluation(
        evaluation({ number: 5, sequence: s1, head: "1".repeat(40) }),
      );
      expect(await latestEvaluation(b, pr)).toMatchObject({ sequence: 3, headSha: "3".repeat(40) });
      expect(await isSuperseded(b, pr, s1)).toBe(true);
      expect(await isSuperseded(a, pr, s2)).toBe(true);
      expect(await isSuperseded(a, pr, s3)).toBe(false);
      // Without a sequence from the pipeline the store takes the next one itself.
      await new ChainWriter(a).recordEvaluation(evaluation({ number: 5, head: "4".repeat(40) }));
      expect(await latestEvaluation(b, pr)).toMatchObject({ sequence: 4, headSha: "4".repeat(40) });
      expect(prKey(pr)).toBe("77:acme/payments#5");
    });
  });

  describe("the Jira key → PR index", () => {
    const needsTickets = { tickets: { required: true, projects: ["OPS"], allowed_states: ["Approved"] } };

    test("follows each evaluation's ticket keys and closes on merge", async () => {
      const store = await open();
      const rec = new ChainWriter(store);
      const index = new StoreTicketIndex(store);
      await rec.recordEvaluation(
        evaluation({
          number: 1,
          policy: needsTickets,
          tickets: [
            { key: "OPS-1", status: "Approved" },
            { key: "OPS-2", status: "Approved" },
          ],
        }),
      );
      await rec.recordEvaluation(
        evaluation({
          number: 2,
          repo: "ledger",
          policy: needsTickets,
          tickets: [{ key: "OPS-1", status: "Approved" }],
        }),
      );
      expect(await index.prsForKey("ops-1")).toEqual([ref(2, "ledger"), ref(1)]);
      expect(await index.prsForKey("OPS-2")).toEqual([ref(1)]);
      await rec.recordEvaluation(
        evaluation({ number: 1, policy: needsTickets, tickets: [{ key: "OPS-2", status: "Approved" }] }),
      );
      expect(await index.prsForKey("OPS-1")).toEqual([ref(2, "ledger")]);
      await rec.recordMerge(merge({ number: 1 }));
      expect(await index.prsForKey("OPS-2")).toEqual([]);
      expect(await index.prsForKey("")).toEqual([]);
    });

    test("a policy that skips the tickets rule indexes nothing; PRs failing only on tickets are listed for the re-check", async () => {
      const store = await open();
      const rec = new ChainWriter(store);
      const index = new StoreTicketIndex(store);
      await rec.recordEvaluation(evaluation({ number: 1, tickets: [{ key: "OPS-1", status: "Done" }] }));
      expect(await index.prsForKey("OPS-1")).toEqual([]);
      const approved = [{ login: "alice", at: "2026-03-01T09:00:00Z" }];
      await rec.recordEvaluation(
        evaluation({
          number: 2,
          policy: needsTickets,
          approvers: approved,
          tickets: [{ key: "OPS-3", status: "Open" }],
        }),
      );
      await rec.recordEvaluation(
        evaluation({ number: 3, policy: needsTickets, approvers: approved, tickets: [] }),
      );
      await rec.recordEvaluation(
        evaluation({ number: 4, policy: needsTickets, tickets: [{ key: "OPS-4", status: "Open" }] }),
      );
      expect(await index.prsForKey("OPS-3")).toEqual([ref(2)]);
      expect(await index.waitingOnTickets()).toEqual([ref(2), ref(3)]);
      await rec.recordMerge(merge({ number: 2 }));
      expect(await index.waitingOnTickets()).toEqual([ref(3)]);
    });
  });
}

/**
 * The recorded evaluation of a PR with the biggest sequence (the newest evidence), read straight
 * from the table: the store itself no longer offers this (issue 10: only tests called it).
 */
async function latestEvaluation(
  store: AuditStore,
  pr: PrRef,
): Promise<{ seq: number; sequence: number; headSha: string; outcome: string; at: string } | null> {
  const r = await store.db
    .selectFrom("audit_record")
    .select(["seq", "sequence", "head_sha", "outcome", "recorded_at"])
    .where("chain", "=", `${pr.owner}/${pr.repo}`.toLowerCase())
    .where("pr_number", "=", pr.number)
    .where("installation_id", "=", pr.installationId)
    .where("kind", "=", "evaluation")
    .orderBy("sequence", "desc")
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return r
    ? { seq: r.seq, sequence: r.sequence ?? 0, headSha: r.head_sha, outcome: r.outcome, at: r.recorded_at }
    : null;
}

/** Has an evaluation that saw newer evidence than `sequence` been recorded? */
async function isSuperseded(store: AuditStore, pr: PrRef, sequence: number): Promise<boolean> {
  const latest = await latestEvaluation(store, pr);
  return latest !== null && latest.sequence > sequence;
}
