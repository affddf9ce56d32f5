/**
 * GET /metrics: Prometheus exposition. With METRICS_TOKEN set, only `Authorization: Bearer <token>`
 * gets it (compared in constant time); anything else is 401. With METRICS_PORT set it is served on
 * a listener of its own and not on the webhook port (main.ts).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { Metrics } from "../ops/metrics.js";
import type { Route } from "./route.js";

/** Equal-length digests, so the comparison takes the same time whatever the guess. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer ([^\s]+)$/i.exec((header ?? "").trim());
  const given = createHash("sha256")
    .update(m ? m[1]! : "")
    .digest();
  const want = createHash("sha256").update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

export function metricsRoute(metrics: Pick<Metrics, "expose">, token: string | undefined): Route {
  const required = token && token.length > 0 ? token : null;
  return async (req, res) => {
    if (req.url?.split("?")[0] !== "/metrics" || req.method !== "GET") return false;
    if (required && !tokenMatches(req.headers.authorization, required)) {
      res
        .writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Bearer realm="metrics"' })
        .end("unauthorized\n");
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

/** What an open /metrics shows, for the start-up warning (docs/security.md says the same). */
export const OPEN_METRICS_WARNING =
  "GET /metrics on the webhook port needs no token: whoever reaches that port reads installation ids, request and error counts and the write queue; set METRICS_TOKEN or METRICS_PORT";

/** The metrics listener (METRICS_PORT): /metrics only (404 for anything else); resolves once listening. */
export async function startMetricsServer(
  route: Route,
  port: number,
  host?: string,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    Promise.resolve(route(req, res))
      .then((handled) => {
        if (!handled) res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      })
      .catch(() => {
        if (!res.headersSent)
          res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
      });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a scraper's keep-alive connection must not hold the shutdown
      }),
  };
}
