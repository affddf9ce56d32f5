/**
 * GET /metrics: Prometheus exposition. With METRICS_TOKEN set, only `Authorization: Bearer <token>`
 * gets it (compared in constant time); anything else is 401.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Metrics } from "../runtime/metrics.js";
import type { Route } from "./route.js";

/** Equal-length digests, so the comparison takes the same time whatever the guess. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer ([^\s]+)$/i.exec((header ?? "").trim());
  const given = createHash("sha256").update(m ? m[1]! : "").digest();
  const want = createHash("sha256").update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

export function metricsRoute(metrics: Pick<Metrics, "expose">, token: string | undefined): Route {
  const required = token && token.length > 0 ? token : null;
  return async (req, res) => {
    if (req.url?.split("?")[0] !== "/metrics" || req.method !== "GET") return false;
    if (required && !tokenMatches(req.headers.authorization, required)) {
      res.writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Bearer realm="metrics"' }).end("unauthorized\n");
      return true;
    }
    try {
      const { contentType, body } = await metrics.expose();
      res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" }).end(body);
    } catch {
      res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
    }
    return true;
  };
}
