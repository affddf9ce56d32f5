/**
 * Faults injected per route: server errors for N calls, secondary rate limits (403 and 429 with
 * retry-after), slow or hanging responses, malformed bodies, reset connections.
 */

export type FaultKind =
  /** Answer with this status (5xx by default) and a GitHub-style error body. */
  | { kind: "status"; status?: number; message?: string }
  /** GitHub's secondary rate limit: 403 (or 429) with retry-after and the documented message. */
  | { kind: "secondary"; status?: 403 | 429; retryAfterSeconds?: number }
  /** Answer normally, after a delay. */
  | { kind: "delay"; ms: number }
  /** Never answer (until the client gives up or the simulator stops). */
  | { kind: "hang" }
  /** 200 with a body that is not JSON. */
  | { kind: "malformed"; body?: string }
  /** GraphQL: 200 with valid JSON whose data does not have the shape the query asked for. */
  | { kind: "malformedData"; data?: unknown }
  /** Drop the connection without an answer. */
  | { kind: "reset" };

export interface FaultMatch {
  /** "github" (REST and GraphQL) or "jira"; default: both. */
  target?: "github" | "jira";
  /** HTTP method, upper case. */
  method?: string;
  /**
   * The route template ("POST /repos/{owner}/{repo}/check-runs", "graphql"), or a RegExp tested
   * against "METHOD /path" (REST paths without /api/v3).
   */
  route?: string | RegExp;
  /** GraphQL operation name (ChangegateEvidence, ChangegateFile, ...). */
  operation?: string;
  /** Only requests made with this installation's token. */
  installationId?: number;
  /** Only requests about this repository ("owner/name"). */
  repo?: string;
}

export type FaultSpec = FaultMatch &
  FaultKind & {
    /** How many matching requests it affects (default: all). */
    times?: number;
    /** Let this many matching requests through first. */
    after?: number;
  };

export interface RequestFacts {
  target: "github" | "jira";
  method: string;
  /** METHOD /path (without /api/v3) */
  line: string;
  route: string;
  operation: string | null;
  installationId: number | null;
  repo: string | null;
}

export class Fault {
  /** Requests it answered. */
  hits = 0;
  private seen = 0;
  removed = false;
  constructor(readonly spec: FaultSpec) {}

  matches(f: RequestFacts): boolean {
    const s = this.spec;
    if (this.removed) return false;
    if (s.target && s.target !== f.target) return false;
    if (s.method && s.method.toUpperCase() !== f.method) return false;
    if (s.route !== undefined) {
      if (typeof s.route === "string" ? s.route !== f.route : !s.route.test(f.line)) return false;
    }
    if (s.operation && s.operation !== f.operation) return false;
    if (s.installationId !== undefined && s.installationId !== f.installationId) return false;
    if (s.repo && s.repo.toLowerCase() !== f.repo?.toLowerCase()) return false;
    return true;
  }

  /** Count a matching request; true when this one is to be faulted. */
  take(): boolean {
    this.seen++;
    if (this.seen <= (this.spec.after ?? 0)) return false;
    if (this.spec.times !== undefined && this.hits >= this.spec.times) return false;
    this.hits++;
    return true;
  }

  remove(): void {
    this.removed = true;
  }
}

export const SECONDARY_LIMIT_MESSAGE =
  "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.";
