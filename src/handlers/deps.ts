/** What every webhook handler is given: the intake to hand deliveries to and the locator of their PRs. */
import type { Intake } from "../intake/intake.js";
import type { Locator } from "./locate.js";

export interface HandlerDeps {
  /** The app's id: its own check suites and runs are not CI and must not re-trigger it. */
  appId: number;
  intake: Intake;
  locator: Locator;
}
