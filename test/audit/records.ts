/**
 * Audit-test helpers: EvaluationRecord/MergeRecord builders over the shared evidence fixtures
 * (verdicts come from the real evaluate()), temporary SQLite stores, and per-test PostgreSQL
 * schemas on TEST_DATABASE_URL.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { EvaluationRecord, MergeRecord } from "../../src/audit/recorder.js";
import { AuditStore, type OpenOptions } from "../../src/audit/database.js";
import { configSchema, type ConfigInput } from "../../src/config/schema.js";
import type { PrRef } from "../../src/github/types.js";
import { evaluate } from "../../src/policy/evaluate.js";
import type { Evidence, Policy } from "../../src/policy/types.js";
import { evidence, HEAD, INSTALLATION_ID, OWNER, REPO } from "../helpers/fixtures.js";

export function policy(input: ConfigInput = {}, repo = `${OWNER}/${REPO}`): Policy {
  return {
    config: configSchema.parse(input),
    source: { kind: "repo", location: `${repo}:.github/changegate.yml`, contentHash: "f".repeat(64) },
  };
}

export function ref(number = 1, repo = REPO, owner = OWNER): PrRef {
  return { installationId: INSTALLATION_ID, owner, repo, number };
}

export interface EvalSpec {
  number?: number;
  owner?: string;
  repo?: string;
  at?: string;
  head?: string;
  title?: string;
  author?: string;
  approvers?: { login: string; at: string; commit?: string }[];
  checks?: { name: string; state: "success" | "failure" | "pending"; raw?: string }[];
  tickets?: { key: string; status?: string }[];
  labels?: string[];
  policy?: ConfigInput;
  deliveryId?: string;
  sequence?: number;
  state?: Evidence["pr"]["state"];
}

/** An evaluation as the pipeline records it, with the verdict evaluate() gives for the evidence. */
export function evaluation(s: EvalSpec = {}): EvaluationRecord {
  const number = s.number ?? 1;
  const owner = s.owner ?? OWNER;
  const repo = s.repo ?? REPO;
  const head = s.head ?? HEAD;
  const tickets = s.tickets ?? [];
  const base = evidence({
    repo: { owner, name: repo, defaultBranch: "main" },
    commits: [
      {
        oid: head,
        headline: "Change things",
        message: "Change things",
        authors: [s.author ?? "dev"],
        committer: s.author ?? "dev",
        isMerge: false,
        url: "https://github.com/x",
      },
    ],
    reviews: (s.approvers ?? []).map((a) => ({
      author: { login: a.login, isBot: false },
      state: "APPROVED" as const,
      submittedAt: a.at,
      commitOid: a.commit ?? head,
      authorCanPush: true,
      url: `https://github.com/${owner}/${repo}/pull/${number}#review`,
    })),
    checks: (s.checks ?? [{ name: "build", state: "success" }]).map((c) => ({
      kind: "check_run" as const,
      name: c.name,
      state: c.state,
      raw: c.raw ?? c.state,
      source: "github-actions",
      url: null,
    })),
    tickets: {
      refs: tickets.map((t) => ({ key: t.key, foundIn: ["title" as const] })),
      lookup:
        tickets.length === 0
          ? { kind: "not_needed" }
          : {
              kind: "ok",
              found: tickets
                .filter((t) => t.status)
                .map((t) => ({
                  key: t.key,
                  summary: `Ticket ${t.key}`,
                  status: t.status!,
                  url: `https://jira.example/browse/${t.key}`,
                })),
              unknown: tickets.filter((t) => !t.status).map((t) => t.key),
            },
    },
  });
  const ev: Evidence = {
    ...base,
    pr: {
      ...base.pr,
      number,
      title: s.title ?? "Make payments faster",
      url: `https://github.com/${owner}/${repo}/pull/${number}`,
      author: { login: s.author ?? "dev", isBot: false },
      headSha: head,
      labels: s.labels ?? [],
      state: s.state ?? "OPEN",
    },
  };
  const p = policy(s.policy ?? {}, `${owner}/${repo}`);
  const verdict = evaluate(p, ev);
  return {
    at: s.at ?? "2026-03-01T10:00:00.000Z",
    deliveryId: s.deliveryId ?? `d-${number}-${s.at ?? "x"}`,
    event: "pull_request.synchronize",
    ref: { installationId: INSTALLATION_ID, owner, repo, number },
    evidence: ev,
    policy: p,
    verdict,
    outcome: verdict.conclusion,
    error: null,
    ...(s.sequence !== undefined ? { sequence: s.sequence } : {}),
  };
}

export interface MergeSpec {
  number?: number;
  owner?: string;
  repo?: string;
  at?: string;
  mergedAt?: string;
  mergedBy?: string;
  head?: string;
  title?: string;
  author?: string;
  outcome?: MergeRecord["outcome"];
  emergency?: boolean;
  gated?: boolean;
  deliveryId?: string;
}

export function merge(s: MergeSpec = {}): MergeRecord {
  const number = s.number ?? 1;
  const owner = s.owner ?? OWNER;
  const repo = s.repo ?? REPO;
  return {
    at: s.at ?? s.mergedAt ?? "2026-03-02T10:00:00.000Z",
    deliveryId: s.deliveryId ?? `m-${owner}-${repo}-${number}`,
    ref: { installationId: INSTALLATION_ID, owner, repo, number },
    url: `https://github.com/${owner}/${repo}/pull/${number}`,
    title: s.title ?? "Make payments faster",
    author: s.author ?? "dev",
    headSha: s.head ?? HEAD,
    mergedBy: s.mergedBy ?? "merger",
    mergedAt: s.mergedAt ?? "2026-03-02T10:00:00Z",
    mergeCommitSha: "c".repeat(40),
    outcome: s.outcome ?? "success",
    emergency: s.emergency ?? false,
    ...(s.gated !== undefined ? { gated: s.gated } : {}),
  };
}

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix = "changegate-audit-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * TEST_DATABASE_URL, or null when PostgreSQL tests cannot run here. Under CI (CI set) a missing
 * URL is an error, so CI can never skip the PostgreSQL tests silently.
 */
export function pgTestUrl(env: Record<string, string | undefined> = process.env): string | null {
  const url = env.TEST_DATABASE_URL?.trim();
  if (url) return url;
  if (env.CI && env.CI !== "false" && env.CI !== "0") {
    throw new Error(
      'CI is set but TEST_DATABASE_URL is not: start PostgreSQL with `eval "$(.ci/postgres.sh)"` before `npm test`',
    );
  }
  return null;
}

/** A fresh schema on the test server; the URL selects it through the connection's search_path. */
export async function pgSchema(baseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `cg_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(`create schema ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(baseUrl);
  u.searchParams.set("options", `-c search_path=${name}`);
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await c.query(`drop schema if exists ${name} cascade`);
      } finally {
        await c.end();
      }
    },
  };
}

/** How a contract test opens stores: each call is a separate instance (own connection/pool) on one database. */
export interface StoreFactory {
  name: "sqlite" | "postgres";
  url: string;
  /**
   * Can two instances in this one process run transactions at the same time? Not SQLite:
   * better-sqlite3 waits for a lock synchronously, blocking the holder in the same process (two
   * processes are tested in kill.test.ts).
   */
  concurrentInstances: boolean;
  open(options?: OpenOptions): Promise<AuditStore>;
}
