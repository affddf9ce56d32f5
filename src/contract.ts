/** The external contract: users, branch protection and tests depend on these exact strings. */
export const CHECK_NAME = "changegate";
export const DIGEST_MARKER = "<!-- changegate:digest -->";
export const CONFIG_PATH = ".github/changegate.yml";
/** Ops keep log alarms on this phrase: it is logged when a non-compliant PR is merged. */
export const NON_COMPLIANT_PHRASE = "is non-compliant!";
/** The check run's action button. */
export const REEVALUATE_ACTION = "reevaluate";
