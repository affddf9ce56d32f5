/**
 * write-limiter-redis: the write limits of write-limits.ts shared by every replica through Redis
 * (REDIS_URL). One Lua script decides and reserves atomically, on Redis's clock (replicas' clocks
 * may differ), with the same steps as `decide`: paused → 1 s spacing → 80/min → 500/h → the checks'
 * reserve. Per installation: the last write's time, the pause, and a sorted set of creation times.
 * Loaded only when REDIS_URL is set.
 */
import { Redis } from "ioredis";
import type { Grant, WriteKind, WriteLimiter, WriteLimits } from "./write-limits.js";

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minGap, perMin, minMs, perHour, hourMs, reserve = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local create, check = ARGV[7] == '1', ARGV[8] == '1'
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - hourMs)
local hourCount = redis.call('ZCARD', KEYS[3])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {0, paused - now, 'paused', hourCount} end
local last = redis.call('GET', KEYS[1])
if last and now - tonumber(last) < minGap then return {0, tonumber(last) + minGap - now, 'spacing', hourCount} end
if create then
  local minute = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. (now - minMs), '+inf', 'WITHSCORES')
  local n = #minute / 2
  if n >= perMin then return {0, tonumber(minute[(n - perMin) * 2 + 2]) + minMs - now, 'minute', hourCount} end
  if hourCount >= perHour then
    local o = redis.call('ZRANGE', KEYS[3], hourCount - perHour, hourCount - perHour, 'WITHSCORES')
    return {0, tonumber(o[2]) + hourMs - now, 'hour', hourCount}
  end
  local cap = perHour - reserve
  if (not check) and hourCount >= cap then
    local o = redis.call('ZRANGE', KEYS[3], hourCount - cap, hourCount - cap, 'WITHSCORES')
    return {0, tonumber(o[2]) + hourMs - now, 'reserve', hourCount}
  end
end
redis.call('SET', KEYS[1], now, 'PX', math.max(minGap, 1) + 1000)
if create then
  local seq = redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[3], now, now .. ':' .. seq)
  redis.call('PEXPIRE', KEYS[3], hourMs + 1000)
  redis.call('PEXPIRE', KEYS[4], hourMs + 1000)
  hourCount = hourCount + 1
end
return {1, 0, 'ok', hourCount}
`;

const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > cur then redis.call('SET', KEYS[1], untilMs, 'PX', tonumber(ARGV[1]) + 1000) end
return untilMs
`;

export class RedisWriteLimiter implements WriteLimiter {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly limits: WriteLimits,
    private readonly prefix = "changegate:writes",
  ) {
    // A Redis that is down fails the write (and so the publish, which is retried, then fails the
    // check): writes are never sent unlimited. Commands fail fast instead of queueing forever.
    this.redis = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
    this.redis.on("error", () => {
      // reported by the failing command; ioredis reconnects by itself
    });
  }

  private keys(installationId: number): string[] {
    const k = `${this.prefix}:{${installationId}}`;
    return [`${k}:last`, `${k}:pause`, `${k}:creations`, `${k}:seq`];
  }

  async acquire(installationId: number, kind: WriteKind): Promise<Grant> {
    const l = this.limits;
    const r = (await this.redis.eval(
      ACQUIRE,
      4,
      ...this.keys(installationId),
      l.minGapMs,
      l.perMinute,
      l.minuteMs,
      l.perHour,
      l.hourMs,
      l.checkReserve,
      kind.create ? "1" : "0",
      kind.check ? "1" : "0",
    )) as [number, number, string, number];
    if (r[0] === 1) return { ok: true, hourCount: Number(r[3]) };
    return {
      ok: false,
      waitMs: Math.max(1, Number(r[1])),
      reason: r[2] as Exclude<Grant, { ok: true }>["reason"],
      hourCount: Number(r[3]),
    };
  }

  /** `untilMs` is turned into a duration from now, then placed on Redis's clock. */
  async pause(installationId: number, untilMs: number): Promise<void> {
    const ms = Math.max(1, Math.round(untilMs - Date.now()));
    await this.redis.eval(PAUSE, 1, this.keys(installationId)[1]!, ms);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
