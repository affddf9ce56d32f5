/**
 * writes: the write scheduler the process runs with (npm start). GitHub's documented limits
 * (or CHANGEGATE_WRITE_LIMITS, tests and bench only), kept in memory, or in Redis when REDIS_URL is
 * set so that every replica serving an installation shares them. Redis is loaded only then.
 */
import type { Logger } from "pino";
import { MemoryWriteLimiter, type WriteLimiter } from "./write-limits.js";
import type { Settings } from "../settings.js";
import { WriteScheduler } from "./write-scheduler.js";

export interface ProcessWrites {
  scheduler: WriteScheduler;
  /** One line for the start-up log (no credentials: the Redis URL's password is left out). */
  description: string;
  close(): Promise<void>;
}

export async function createProcessWrites(
  writes: Pick<Settings["writes"], "limits" | "redisUrl">,
  log: () => Pick<Logger, "warn" | "info"> | undefined,
): Promise<ProcessWrites> {
  const { limits, redisUrl: url } = writes;
  let limiter: WriteLimiter;
  let where: string;
  if (url) {
    // settings.ts checked it is a redis:// or rediss:// URL.
    const parsed = new URL(url);
    const { RedisWriteLimiter } = await import("./write-limiter-redis.js");
    limiter = new RedisWriteLimiter(url, limits);
    where = `shared through Redis at ${parsed.hostname}:${parsed.port || 6379}`;
  } else {
    limiter = new MemoryWriteLimiter(limits);
    where = "in this process (set REDIS_URL to share them between replicas)";
  }
  const scheduler = new WriteScheduler({ limiter, limits, log });
  return {
    scheduler,
    description: `GitHub write limits per installation: ≥ ${limits.minGapMs} ms apart, ${limits.perMinute} creations per ${limits.minuteMs / 1000} s, ${limits.perHour} per ${limits.hourMs / 1000} s; ${where}`,
    close: () => limiter.close(),
  };
}
