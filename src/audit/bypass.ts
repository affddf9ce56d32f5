/**
 * Bypasses, moved (issue 10): the decision is src/policy/merge.ts (isBypass, judgeMerge), the
 * issue's text src/report/bypass.ts, and creating it src/github/bypass-issue.ts. This module only
 * re-exports them for the audit code and tests that still import it here; it goes once they
 * import from the new homes.
 */
export { isBypass } from "../policy/merge.js";
export { BYPASS_LABEL, bypassEntry, bypassMarker } from "../report/bypass.js";
export { reportBypass, type BypassReport, type IssueWriter } from "../github/bypass-issue.js";
