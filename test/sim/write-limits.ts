/**
 * GitHub's documented limits on an installation's writes, enforced by the simulator so that a test
 * fails where production would (REST "Rate limits for the REST API", secondary rate limits):
 * - at most `perMinute` (80) content-creating requests per rolling minute and `perHour` (500) per
 *   rolling hour; beyond that a 403 with GitHub's message and `retry-after`;
 * - after a secondary-limit answer to a write, every write of that installation sent before its
 *   `retry-after` has passed is refused again (and recorded as a violation: GitHub may ban an
 *   integration that keeps going);
 * - content creation: a new issue comment, check run, issue or commit status.
 * The ~1 s between writes is guidance, not a refusal: tests measure it from `sim.requests`.
 */

/** Routes that create content (the rest of the writes update). */
export const CONTENT_CREATING = new Set([
  "POST /repos/{owner}/{repo}/check-runs",
  "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
  "POST /repos/{owner}/{repo}/issues",
  "POST /repos/{owner}/{repo}/statuses/{sha}",
]);

export interface SimWriteLimits {
  perMinute: number;
  minuteMs: number;
  perHour: number;
  hourMs: number;
}

export const GITHUB_LIMITS: SimWriteLimits = {
  perMinute: 80,
  minuteMs: 60_000,
  perHour: 500,
  hourMs: 3_600_000,
};

export interface LimitViolation {
  kind: "minute" | "hour" | "early";
  installationId: number;
  route: string;
  at: number;
}

export class WriteLimitEnforcer {
  /** Every write refused (over a window, or sent before retry-after). */
  readonly violations: LimitViolation[] = [];
  private readonly creations = new Map<number, number[]>();
  private readonly blockedUntil = new Map<number, number>();

  constructor(public limits: SimWriteLimits = GITHUB_LIMITS) {}

  static isWrite(method: string, route: string): boolean {
    return (
      method !== "GET" && method !== "HEAD" && route !== "POST /graphql" && !route.includes("/access_tokens")
    );
  }

  /**
   * A write arrives: null to let it through, else the refusal (retry-after in seconds). Counts the
   * creation when it goes through.
   */
  admit(
    installationId: number,
    method: string,
    route: string,
    now = Date.now(),
  ): { retryAfterSeconds: number } | null {
    if (!WriteLimitEnforcer.isWrite(method, route)) return null;
    const blocked = this.blockedUntil.get(installationId) ?? 0;
    if (blocked > now) {
      this.violations.push({ kind: "early", installationId, route, at: now });
      return { retryAfterSeconds: Math.ceil((blocked - now) / 1000) };
    }
    if (!CONTENT_CREATING.has(route)) return null;
    const { perMinute, minuteMs, perHour, hourMs } = this.limits;
    const times = (this.creations.get(installationId) ?? []).filter((t) => t > now - hourMs);
    this.creations.set(installationId, times);
    const minute = times.filter((t) => t > now - minuteMs);
    let until = 0;
    let kind: LimitViolation["kind"] | null = null;
    if (minute.length >= perMinute) {
      kind = "minute";
      until = minute[minute.length - perMinute]! + minuteMs;
    } else if (times.length >= perHour) {
      kind = "hour";
      until = times[times.length - perHour]! + hourMs;
    }
    if (kind) {
      this.violations.push({ kind, installationId, route, at: now });
      this.secondaryAnswered(installationId, until);
      return { retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) };
    }
    times.push(now);
    return null;
  }

  /** A secondary-limit answer was given to a write of this installation (here or by a fault). */
  secondaryAnswered(installationId: number, untilMs: number): void {
    this.blockedUntil.set(installationId, Math.max(this.blockedUntil.get(installationId) ?? 0, untilMs));
  }
}
