/** GET /readyz: 200 when every readiness check passes, else 503 with a JSON reason. */
import type { Readiness } from "../ops/readiness.js";
import type { Route } from "./route.js";

export function readyRoute(readiness: Pick<Readiness, "probe">): Route {
  return async (req, res) => {
    if (req.url?.split("?")[0] !== "/readyz" || (req.method !== "GET" && req.method !== "HEAD")) return false;
    let body: Record<string, unknown>;
    let status: number;
    try {
      const state = await readiness.probe();
      status = state.ready ? 200 : 503;
      body = state.ready
        ? { status: "ready", checks: state.checks }
        : { status: "not_ready", check: state.check, reason: state.reason };
    } catch {
      status = 503;
      body = { status: "not_ready", check: "probe", reason: "the readiness probe failed" };
    }
    res
      .writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
      .end(JSON.stringify(body));
    return true;
  };
}
