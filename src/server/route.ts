/**
 * An HTTP route is a small value: a handler that answers the requests it recognises (true) and
 * leaves the rest to the next one (false), as Probot's own handlers do.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Probot } from "probot";

export type Route = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

/** Add a route; without a server (a bare Probot instance, as in tests) there is nothing to add it to. */
export function registerRoute(
  app: Probot,
  addHandler: ((route: Route) => void) | undefined,
  route: Route,
): void {
  try {
    addHandler?.(route);
  } catch (err) {
    app.log.debug({ err: (err as Error).message }, "no HTTP server: route not registered");
  }
}
