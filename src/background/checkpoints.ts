/**
 * Checkpoints on a schedule, on by default once a signing key is configured (issue 19):
 * AUDIT_SIGNING_KEY set → a signed checkpoint (src/audit/checkpoint*.ts) every
 * AUDIT_CHECKPOINT_INTERVAL (default 1d; `0`/`off` turns it off; 5 min .. 30 days), to
 * AUDIT_CHECKPOINT_FILE when set, else the pinned issue in AUDIT_ISSUE_REPO when set (both
 * overrides), else the pinned issue in each `audit.issue_repo` the app's repositories' policies
 * (repository or organisation policy) name — the checkpoint there covers only the chains of that
 * installation's account (one organisation's records never appear in another's issue). Without a
 * key: nothing is published, start-up logs one warning, and /metrics shows no checkpoint
 * (audit_checkpoint_last_timestamp_seconds 0: the alert fires).
 *
 * The timer ticks every min(interval, 1 h), the first FIRST_TICK_DELAY_MS after start. Each tick
 * reads the destinations' logs (the newest checkpoint of this key and database there: the
 * audit_checkpoint_last_timestamp_seconds gauge, the oldest over destinations) and publishes to
 * the ones older than the interval, once per interval bucket across replicas and restarts (a
 * delivery-ledger claim `audit-checkpoint:<interval>:<bucket>`; the replica that claimed it retries
 * a failed destination at its next tick). Runs never overlap; the timer is unref'd; a failure is
 * logged and counted, never touches evaluations.
 */
import { signatureValid, type SigningKey } from "../audit/checkpoint.js";
import type { Settings } from "../settings.js";
import {
  databaseIdentity,
  FileCheckpointLog,
  publishCheckpoint,
  type CheckpointLog,
} from "../audit/checkpoint-publish.js";
import type { AuditStore } from "../audit/database.js";
import { IssueCheckpointLog } from "../github/checkpoint-issue.js";
import { cliGithub, githubTargets } from "../github/cli-auth.js";
import type { OctokitLike } from "../github/types.js";

/** The checkpoint issue's client (GITHUB_TOKEN first, as githubClientFor), its writes paced when `pace` is given. */
async function pacedClient(
  repo: string,
  github: Pick<Settings, "github">,
  pace?: (installationId: number, octokit: OctokitLike) => OctokitLike,
): Promise<OctokitLike> {
  const [owner = "", name = ""] = repo.split("/");
  const gh = await cliGithub(github, owner, name, { preferToken: true });
  return pace ? pace(gh.installationId, gh.octokit) : gh.octokit;
}
import type { GithubTarget } from "../github/installation-target.js";
import { pushFacts } from "../github/push-facts.js";
import { policyPoint } from "../github/push-policy.js";
import type { DeliveryLedger } from "../refs.js";
import { redact } from "../report/redact.js";
import type { Metrics } from "../ops/metrics.js";
import { installationRepos } from "./scan-pushes.js";

export type CheckpointTarget =
  { kind: "file"; path: string } | { kind: "issue"; repo: string } | { kind: "policies" };

export interface CheckpointSchedule {
  intervalMs: number;
  key: SigningKey;
  target: CheckpointTarget;
}

export const FIRST_CHECKPOINT_TICK_MS = 20_000;
const MAX_TICK_MS = 3_600_000;

/**
 * The schedule the settings ask for (src/settings.ts checked them: an interval set without a key is
 * refused there). null: off (AUDIT_CHECKPOINT_INTERVAL=0/off) or no key (the caller warns).
 */
export function checkpointSchedule(c: Settings["checkpoints"]): CheckpointSchedule | null {
  if (c.intervalMs === null || c.signingKey === null) return null;
  const target: CheckpointTarget = c.file
    ? { kind: "file", path: c.file }
    : c.issueRepo
      ? { kind: "issue", repo: c.issueRepo }
      : { kind: "policies" };
  return { intervalMs: c.intervalMs, key: c.signingKey, target };
}

/** One place checkpoints go: its log, and which chains it covers (null: every chain). */
export interface CheckpointDestination {
  name: string;
  log: CheckpointLog;
  /** Only the chains of this account (lower-case owner), for a policy's issue repository. */
  account: string | null;
}

export interface CheckpointRunnerDeps {
  store: AuditStore;
  schedule: CheckpointSchedule;
  database: string;
  ledger: Pick<DeliveryLedger, "claim">;
  destinations: () => Promise<CheckpointDestination[]>;
  now: () => Date;
  log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
  metrics?: Metrics;
}

/** The newest checkpoint of this key and database in `log` (ISO), null when none. */
async function newestOwn(log: CheckpointLog, deps: CheckpointRunnerDeps): Promise<string | null> {
  const parsed = await log.read();
  const own = parsed.checkpoints.filter(
    (cp) =>
      cp.statement.database === deps.database &&
      cp.statement.keyId === deps.schedule.key.keyId &&
      signatureValid(cp, deps.schedule.key.publicKey),
  );
  return own.at(-1)?.statement.at ?? null;
}

/** One tick (exported for tests): returns the destinations published to. */
export function checkpointRunner(deps: CheckpointRunnerDeps): { tick(): Promise<string[]> } {
  let owned: string | null = null; // the bucket this process claimed (it retries its failures)
  let cached: { at: number; list: CheckpointDestination[] } | null = null;
  let saidNone = false;
  return {
    async tick(): Promise<string[]> {
      const now = deps.now();
      const interval = deps.schedule.intervalMs;
      if (!cached || now.getTime() - cached.at >= interval)
        cached = { at: now.getTime(), list: await deps.destinations() };
      const dests = cached.list;
      if (dests.length === 0) {
        if (!saidNone)
          deps.log.warn(
            "audit checkpoints: no destination (no policy names audit.issue_repo; set AUDIT_ISSUE_REPO or AUDIT_CHECKPOINT_FILE): nothing published",
          );
        saidNone = true;
        cached = null; // look again next tick
        return [];
      }
      saidNone = false;
      const due: CheckpointDestination[] = [];
      const times = new Map<CheckpointDestination, number>();
      const gauge = () => deps.metrics?.checkpointLast.set(Math.min(...times.values()) / 1000);
      for (const d of dests) {
        let last: string | null;
        try {
          last = await newestOwn(d.log, deps);
        } catch (err) {
          deps.metrics?.checkpointFailures.inc();
          deps.log.error(
            `audit checkpoint: could not read ${d.name}: ${redact(err instanceof Error ? err.message : String(err))}`,
          );
          times.set(d, 0);
          continue;
        }
        const t = last ? Date.parse(last) || 0 : 0;
        times.set(d, t);
        if (now.getTime() - t >= interval) due.push(d);
      }
      gauge();
      if (due.length === 0) return [];
      const bucket = `audit-checkpoint:${interval}:${Math.floor(now.getTime() / interval)}`;
      if (owned !== bucket) {
        if (!(await deps.ledger.claim(bucket))) return []; // another replica (or this one before a restart) has this interval
        owned = bucket;
      }
      const published: string[] = [];
      for (const d of due) {
        try {
          const { where, checkpoint } = await publishCheckpoint(deps.store, d.log, {
            key: deps.schedule.key,
            database: deps.database,
            now: deps.now,
            notes: (n) => deps.log.warn(n),
            ...(d.account ? { chains: (chain: string) => chain.startsWith(`${d.account}/`) } : {}),
          });
          published.push(where);
          times.set(d, Date.parse(checkpoint.statement.at));
          deps.log.info(`audit checkpoint #${checkpoint.statement.sequence} published to ${where}`);
        } catch (err) {
          deps.metrics?.checkpointFailures.inc();
          deps.log.error(
            `audit checkpoint to ${d.name} failed (next try at the next tick): ${redact(err instanceof Error ? err.message : String(err))}`,
          );
        }
      }
      gauge();
      return published;
    },
  };
}

/** Run `tick` after `firstMs`, then every `everyMs`; runs never overlap; returns stop(). */
export function startCheckpointSchedule(
  everyMs: number,
  tick: () => Promise<unknown>,
  log: { error(msg: string): void },
  firstMs = FIRST_CHECKPOINT_TICK_MS,
): { stop(): void; running(): boolean } {
  let busy = false;
  const run = () => {
    if (busy) return;
    busy = true;
    tick()
      .catch((err: unknown) =>
        log.error(
          `audit checkpoint failed (next try in ${Math.round(everyMs / 60_000)} min): ${redact(err instanceof Error ? err.message : String(err))}`,
        ),
      )
      .finally(() => {
        busy = false;
      });
  };
  const first = setTimeout(run, firstMs);
  first.unref();
  const timer = setInterval(run, everyMs);
  timer.unref();
  return {
    stop: () => {
      clearTimeout(first);
      clearInterval(timer);
    },
    running: () => busy,
  };
}

/** The pinned issue in each `audit.issue_repo` the installations' policies name, scoped to the installation's account. */
export async function policyDestinations(
  targets: GithubTarget[],
  log: { warn(msg: string): void },
  notes: (s: string) => void,
): Promise<CheckpointDestination[]> {
  const out = new Map<string, CheckpointDestination>();
  for (const t of targets) {
    let repos: string[];
    try {
      repos = await installationRepos(t.octokit);
    } catch (err) {
      log.warn(
        `audit checkpoints: could not list the repositories of installation ${t.installationId}: ${redact((err as Error).message)}`,
      );
      continue;
    }
    for (const repoName of repos) {
      const [owner, repo] = repoName.split("/") as [string, string];
      try {
        const facts = await pushFacts(t.reader, { owner, repo }, []);
        const point = await policyPoint(t.reader, repoName, facts.configFiles, null);
        const issueRepo = point.config?.audit.issue_repo;
        if (!issueRepo) continue;
        const account = t.account.toLowerCase();
        const key = `${account}\u0000${issueRepo.toLowerCase()}`;
        if (!out.has(key))
          out.set(key, {
            name: `the pinned issue in ${issueRepo} (${t.account}'s chains)`,
            log: new IssueCheckpointLog(t.octokit, issueRepo, null, notes),
            account,
          });
      } catch (err) {
        log.warn(
          `audit checkpoints: could not read the policy of ${repoName}: ${redact((err as Error).message)}`,
        );
      }
    }
  }
  return [...out.values()];
}

/**
 * main.ts's one call: start the schedule the settings ask for on `store` (null when off, said once).
 */
export function startCheckpoints(
  store: AuditStore,
  settings: Pick<Settings, "github" | "checkpoints" | "audit">,
  log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void },
  /** `pace`: the checkpoint issues' writes through the app's write scheduler (main.ts; absent: sent as they come). */
  opts: {
    ledger?: DeliveryLedger;
    metrics?: Metrics;
    pace?: (installationId: number, octokit: OctokitLike) => OctokitLike;
  } = {},
): { stop(): void } | null {
  const schedule = checkpointSchedule(settings.checkpoints);
  opts.metrics?.checkpointEnabled.set(schedule ? 1 : 0);
  if (!schedule) {
    const off = settings.checkpoints.intervalMs === null;
    log.warn(
      off
        ? "audit checkpoints are off (AUDIT_CHECKPOINT_INTERVAL=0): nothing outside the database vouches for the audit trail; /metrics shows no checkpoint"
        : "audit checkpoints are off: AUDIT_SIGNING_KEY is not set (an Ed25519 key: see docs/operations.md); nothing outside the database vouches for the audit trail; /metrics shows no checkpoint (audit_checkpoint_last_timestamp_seconds 0)",
    );
    return null;
  }
  const target = schedule.target;
  const where =
    target.kind === "file"
      ? target.path
      : target.kind === "issue"
        ? `the pinned issue in ${target.repo}`
        : "the pinned issue in each policy's audit.issue_repo";
  log.info(
    `audit checkpoints every ${Math.round(schedule.intervalMs / 60_000)} min to ${where} (key ${schedule.key.keyId}; AUDIT_CHECKPOINT_INTERVAL=0 turns them off)`,
  );
  const notes = (s: string) => log.warn(s);
  const destinations = async (): Promise<CheckpointDestination[]> => {
    if (target.kind === "file")
      return [{ name: target.path, log: new FileCheckpointLog(target.path), account: null }];
    if (target.kind === "issue")
      return [
        {
          name: `the pinned issue in ${target.repo}`,
          log: new IssueCheckpointLog(
            await pacedClient(target.repo, settings, opts.pace),
            target.repo,
            null,
            notes,
          ),
          account: null,
        },
      ];
    const pace = opts.pace;
    const targets = await githubTargets(settings, {});
    return policyDestinations(
      pace ? targets.map((t) => ({ ...t, octokit: pace(t.installationId, t.octokit) })) : targets,
      log,
      notes,
    );
  };
  const ledger: Pick<DeliveryLedger, "claim"> = opts.ledger ?? { claim: async () => true };
  const runner = checkpointRunner({
    store,
    schedule,
    database: databaseIdentity(settings.audit.databaseId, store),
    ledger,
    destinations,
    now: () => new Date(),
    log,
    metrics: opts.metrics,
  });
  return startCheckpointSchedule(Math.min(schedule.intervalMs, MAX_TICK_MS), () => runner.tick(), log);
}
