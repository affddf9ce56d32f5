#!/usr/bin/env node
/**
 * `npm start`: runs changegate with Probot's server. Without APP_ID, Probot's setup page registers
 * the GitHub App from app.yml. SIGTERM stops accepting webhooks and drains running evaluations.
 */
import { ProbotOctokit, run } from "probot";
import { createChangegate } from "./index.js";

/**
 * Production Octokit: Probot's throttling stays on, and secondary rate limits are retried twice.
 * CHANGEGATE_THROTTLE=off (benchmarks only) turns the write spacing off to measure changegate itself.
 */
const throttleOff = process.env.CHANGEGATE_THROTTLE === "off";
const Octokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  throttle: throttleOff
    ? { enabled: false }
    : {
        ...(options.throttle as object),
        onSecondaryRateLimit: (_retryAfter: number, _opts: unknown, _octokit: unknown, retryCount: number) => retryCount < 2,
      },
}));
if (throttleOff) console.warn("CHANGEGATE_THROTTLE=off: GitHub write spacing is disabled (benchmarks only)");

const changegate = createChangegate();
const server = await run(changegate.appFn, { Octokit: Octokit as typeof ProbotOctokit });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.info(`${signal}: no longer accepting webhooks; finishing running evaluations`);
  const deadline = new Promise((r) => setTimeout(r, 25_000).unref());
  try {
    await server.stop();
  } catch {
    // already stopped
  }
  await Promise.race([changegate.idle(), deadline]);
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
