/** GET /healthz: the process is up, with its counters (deliveries, evaluations, queue). */
import type { Route } from "./route.js";

export function healthRoute(stats: () => Record<string, number>): Route {
  return (req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/healthz") return false;
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ status: "ok", ...stats() }));
    return true;
  };
}
