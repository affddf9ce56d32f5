/**
 * Checkpoints on a schedule (off by default): AUDIT_CHECKPOINT_INTERVAL (e.g. 6h, 30m, 1d, or
 * seconds; at least 5 minutes) makes the app publish a signed checkpoint (src/audit/checkpoint*.ts)
 * that often, to AUDIT_CHECKPOINT_FILE when set, else to the pinned issue in AUDIT_ISSUE_REPO.
 * The timer is unref'd (it never keeps the process alive) and runs never overlap. A failed run
 * is logged and retried at the next tick; it never touches evaluations.
 */
import { loadSigningKey, type SigningKey } from "../audit/checkpoint.js";
import { databaseIdentity, FileCheckpointLog, publishCheckpoint } from "../audit/checkpoint-publish.js";
import type { AuditStore } from "../audit/database.js";
import { IssueCheckpointLog } from "../github/checkpoint-issue.js";
import { cliGithub } from "../github/cli-auth.js";
import type { OctokitLike } from "../github/types.js";

/** The checkpoint issue's client (GITHUB_TOKEN first, as githubClientFor), its writes paced when `pace` is given. */
async function pacedClient(repo: string, env: Record<string, string | undefined>, pace?: (installationId: number, octokit: OctokitLike) => OctokitLike): Promise<OctokitLike> {
  const [owner = "", name = ""] = repo.split("/");
  const gh = await cliGithub(env, owner, name, { preferToken: true });
  return pace ? pace(gh.installationId, gh.octokit) : gh.octokit;
}

export interface CheckpointSchedule {
  intervalMs: number;
  key: SigningKey;
  target: { kind: "file"; path: string } | { kind: "issue"; repo: string };
}

export const MIN_CHECKPOINT_INTERVAL_MS = 5 * 60_000;

/** The schedule the environment asks for, null when off; throws a clear message when it is wrong. */
export function checkpointScheduleFromEnv(env: Record<string, string | undefined>): CheckpointSchedule | null {
  const raw = (env.AUDIT_CHECKPOINT_INTERVAL ?? "").trim();
  if (raw === "" || raw === "off" || raw === "0") return null;
  const m = /^(\d+)\s*([smhd]?)$/i.exec(raw);
  if (!m) throw new Error(`AUDIT_CHECKPOINT_INTERVAL ${JSON.stringify(raw)}: expected a duration such as 6h, 30m, 1d or a number of seconds`);
  const unit = { "": 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]!.toLowerCase() as "" | "s" | "m" | "h" | "d"];
  const intervalMs = Number(m[1]) * unit;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < MIN_CHECKPOINT_INTERVAL_MS || intervalMs > 30 * 86_400_000) {
    throw new Error(`AUDIT_CHECKPOINT_INTERVAL ${JSON.stringify(raw)}: must be between 5 minutes and 30 days`);
  }
  const key = loadSigningKey(env.AUDIT_SIGNING_KEY); // throws without naming the value
  const file = (env.AUDIT_CHECKPOINT_FILE ?? "").trim();
  if (file !== "") return { intervalMs, key, target: { kind: "file", path: file } };
  const repo = (env.AUDIT_ISSUE_REPO ?? "").trim();
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) {
    throw new Error("AUDIT_CHECKPOINT_INTERVAL is set but there is nowhere to publish: set AUDIT_ISSUE_REPO=owner/name (a pinned issue there) or AUDIT_CHECKPOINT_FILE");
  }
  return { intervalMs, key, target: { kind: "issue", repo } };
}

/** Run `publish` every intervalMs (first run after one interval); returns stop(). */
export function startCheckpointSchedule(
  intervalMs: number,
  publish: () => Promise<string>,
  log: { info(msg: string): void; error(msg: string): void },
): { stop(): void; running(): boolean } {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    publish()
      .then((where) => log.info(`audit checkpoint published to ${where}`))
      .catch((err: unknown) => log.error(`audit checkpoint failed (next try in ${Math.round(intervalMs / 60_000)} min): ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), running: () => busy };
}

/**
 * main.ts's one call: read the schedule from the environment and start it on `store` (throws when
 * the settings are wrong, so the app refuses to start rather than silently not checkpointing).
 */
export function startCheckpointsFromEnv(
  store: AuditStore,
  env: Record<string, string | undefined>,
  log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void },
  /** The checkpoint issue's writes through the app's write scheduler (main.ts; absent: sent as they come). */
  pace?: (installationId: number, octokit: OctokitLike) => OctokitLike,
): { stop(): void } | null {
  const schedule = checkpointScheduleFromEnv(env);
  if (!schedule) return null;
  const target = schedule.target;
  log.info(`audit checkpoints every ${Math.round(schedule.intervalMs / 60_000)} min to ${target.kind === "file" ? target.path : `the pinned issue in ${target.repo}`} (key ${schedule.key.keyId})`);
  return startCheckpointSchedule(
    schedule.intervalMs,
    async () => {
      const destination =
        target.kind === "file"
          ? new FileCheckpointLog(target.path)
          : new IssueCheckpointLog(await pacedClient(target.repo, env, pace), target.repo, null, (s) => log.warn(s));
      const { where } = await publishCheckpoint(store, destination, { key: schedule.key, database: databaseIdentity(env, store), now: () => new Date(), notes: (n) => log.warn(n) });
      return where;
    },
    log,
  );
}
