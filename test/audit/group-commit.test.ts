import { afterAll, afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import { sql } from "kysely";
import { AuditStore } from "../../src/audit/database.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditReader } from "../../src/audit/reader.js";
import { verifyChains } from "../../src/audit/verify.js";
import { GroupCommit } from "../../src/audit/group-commit.js";
import { evaluation, tempDir } from "./records.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

let n = 0;
let store: AuditStore;
beforeEach(async () => {
  store = await AuditStore.open(`sqlite:${join(tmp.dir, `group-${++n}.db`)}`);
});
afterEach(() => store.close());

const count = async () =>
  Number((await sql<{ n: number }>`select count(*) as n from audit_record`.execute(store.db)).rows[0]!.n);

describe("group commit of audit records (SQLite)", () => {
  test("the records asked for in one event-loop turn share one transaction, and the chain stays whole", async () => {
    const writer = new ChainWriter(store);
    const before = { ...store.groupCommit.stats };
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) => writer.recordEvaluation(evaluation({ number: (i % 3) + 1 }))),
    );
    expect(store.groupCommit.stats.commits - before.commits).toBe(1);
    expect(store.groupCommit.stats.appends - before.appends).toBe(10);
    expect(ids.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await count()).toBe(10);
    const report = await verifyChains(new AuditReader(store));
    expect(report).toMatchObject({ ok: true, records: 10 });
  });

  test("records asked for in separate turns commit separately (each waits for its own fsync)", async () => {
    const writer = new ChainWriter(store);
    const before = store.groupCommit.stats.commits;
    await writer.recordEvaluation(evaluation({ number: 1 }));
    await writer.recordEvaluation(evaluation({ number: 2 }));
    expect(store.groupCommit.stats.commits - before).toBe(2);
  });

  test("an append that throws is rolled back alone; the others of its group are committed", async () => {
    const writer = new ChainWriter(store);
    const failing = store.inChainTransaction("acme/widgets", async (tx) => {
      await tx
        .insertInto("audit_chain")
        .values({ chain: "acme/widgets", seq: 99, hash: "x".repeat(64), updated_at: "2026-01-01T00:00:00Z" })
        .execute();
      throw new Error("boom");
    });
    const good = [
      writer.recordEvaluation(evaluation({ number: 1 })),
      writer.recordEvaluation(evaluation({ number: 2 })),
    ];
    await expect(failing).rejects.toThrow("boom");
    expect((await Promise.all(good)).map((r) => r.seq)).toEqual([1, 2]);
    // The failed append's row is gone with its savepoint.
    const stray = await store.db.selectFrom("audit_chain").select("seq").where("seq", "=", 99).execute();
    expect(stray).toEqual([]);
    expect((await verifyChains(new AuditReader(store))).ok).toBe(true);
  });

  test("no append resolves before its group's COMMIT; a failed COMMIT fails every append of the group", async () => {
    // A deferred foreign key is checked at COMMIT: one append that breaks it fails the whole transaction.
    await sql`create table parent (id integer primary key)`.execute(store.db);
    await sql`create table child (pid integer references parent(id) deferrable initially deferred)`.execute(
      store.db,
    );
    const writer = new ChainWriter(store);
    const settled: string[] = [];
    const first = writer.recordEvaluation(evaluation({ number: 1 })).then(
      () => settled.push("first resolved"),
      () => settled.push("first rejected"),
    );
    const breaker = store
      .inChainTransaction("x", async (tx) => {
        await sql`insert into child (pid) values (42)`.execute(tx);
        settled.push("breaker ran");
        return "ok";
      })
      .then(
        () => settled.push("breaker resolved"),
        () => settled.push("breaker rejected"),
      );
    await Promise.all([first, breaker]);
    // Both appends ran; neither resolved: both rejected once the COMMIT failed.
    expect(settled[0]).toBe("breaker ran");
    expect(settled.slice(1).sort()).toEqual(["breaker rejected", "first rejected"]);
    expect(await count()).toBe(0);
    // The store goes on: the next group commits.
    await expect(writer.recordEvaluation(evaluation({ number: 1 }))).resolves.toMatchObject({ seq: 1 });
  });

  test("at most maxGroup appends share one transaction", async () => {
    const group = new GroupCommit<unknown>((fn) => store.db.connection().execute(fn as never), 4);
    await Promise.all(Array.from({ length: 10 }, () => group.run(async () => 1)));
    expect(group.stats).toEqual({ commits: 3, appends: 10 });
  });
});
