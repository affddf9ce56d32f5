/**
 * Real processes on one SQLite file: a writer killed with SIGKILL in the middle of a burst loses
 * no record it reported committed and corrupts nothing; two writers at once keep one valid chain.
 */
import { afterAll, describe, expect, test } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { AuditReader } from "../../src/audit/reader.js";
import { verifyChains } from "../../src/audit/verify.js";
import { evaluation, tempDir } from "./records.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

interface Committed {
  seq: number;
  delivery: string;
  hash: string;
}

interface Writer {
  child: ChildProcess;
  committed: Committed[];
  /** Resolves when the child has reported at least n commits. */
  reached(n: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function writer(db: string, tag: string, count: number, burst: number): Writer {
  const child = spawn(
    process.execPath,
    [
      "--import",
      fileURLToPath(new URL("../support/register-ts.mjs", import.meta.url)),
      join(fixtures, "append-child.ts"),
      db,
      tag,
      String(count),
      String(burst),
    ],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const committed: Committed[] = [];
  const waiting: { n: number; resolve: () => void }[] = [];
  let buffer = "";
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on("data", (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const m = /^committed (\d+) (\S+) ([0-9a-f]{64})$/.exec(line);
      if (m) committed.push({ seq: Number(m[1]), delivery: m[2]!, hash: m[3]! });
    }
    for (const w of waiting.filter((w) => committed.length >= w.n)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    child,
    committed,
    exited,
    reached: (n) =>
      new Promise<void>((resolve, reject) => {
        if (committed.length >= n) return resolve();
        waiting.push({ n, resolve });
        void exited.then((e) =>
          reject(
            new Error(
              `the writer exited (${e.code ?? e.signal}) after ${committed.length} commits: ${e.stderr}`,
            ),
          ),
        );
      }),
  };
}

describe("processes on one SQLite store", () => {
  test("SIGKILL mid-burst: every record reported committed is there, and the chain verifies", async () => {
    const db = join(tmp.dir, "killed.db");
    const w = writer(db, "k", 0, 4);
    await w.reached(60);
    w.child.kill("SIGKILL");
    const exit = await w.exited;
    expect(exit.signal).toBe("SIGKILL");

    const store = await AuditStore.open(`sqlite:${db}`); // as the restarted app would
    try {
      const report = await verifyChains(new AuditReader(store));
      expect(report.ok).toBe(true);
      expect(report.records).toBeGreaterThanOrEqual(w.committed.length);
      const stored = new Map<number, { delivery: string; hash: string }>();
      for await (const r of new AuditReader(store).chainRecords("acme/payments"))
        stored.set(r.seq, { delivery: r.delivery_id, hash: r.hash });
      const missing = w.committed.filter(
        (c) => stored.get(c.seq)?.hash !== c.hash || stored.get(c.seq)?.delivery !== c.delivery,
      );
      expect(missing).toEqual([]);
      // The restarted writer continues the same chain.
      const next = await new ChainWriter(store).recordEvaluation(
        evaluation({ number: 1, deliveryId: "after-restart" }),
      );
      expect(next.seq).toBe(report.records + 1);
      expect((await verifyChains(new AuditReader(store))).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  test("two writer processes at once: one gap-free valid chain holding every record once", async () => {
    const db = join(tmp.dir, "two-writers.db");
    // Create the schema first so both start on a migrated store (concurrent start-up is covered too: see below).
    await (await AuditStore.open(`sqlite:${db}`)).close();
    const a = writer(db, "a", 60, 3);
    const b = writer(db, "b", 60, 3);
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect([ea.code, ea.stderr]).toEqual([0, ""]);
    expect([eb.code, eb.stderr]).toEqual([0, ""]);
    const store = await AuditStore.open(`sqlite:${db}`);
    try {
      expect(await verifyChains(new AuditReader(store))).toMatchObject({ ok: true, records: 120 });
      const deliveries: string[] = [];
      for await (const r of new AuditReader(store).chainRecords("acme/payments"))
        deliveries.push(r.delivery_id);
      expect(new Set(deliveries).size).toBe(120);
      expect([...a.committed, ...b.committed].map((c) => c.seq).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 120 }, (_, i) => i + 1),
      );
    } finally {
      await store.close();
    }
  });

  test("two processes starting on a fresh file at once both migrate it safely", async () => {
    const db = join(tmp.dir, "fresh-start.db");
    const a = writer(db, "a", 5, 1);
    const b = writer(db, "b", 5, 1);
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect([ea.code, ea.stderr, eb.code, eb.stderr]).toEqual([0, "", 0, ""]);
    const store = await AuditStore.open(`sqlite:${db}`, { migrate: false });
    try {
      expect(await verifyChains(new AuditReader(store))).toMatchObject({ ok: true, records: 10 });
    } finally {
      await store.close();
    }
  });
});
