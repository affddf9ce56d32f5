/**
 * The rooms' import rules (docs/architecture.md, "The rooms, and what each may import"), checked by
 * dependency-cruiser: `npm run lint` runs `depcruise src --validate`, and
 * test/unit/architecture.test.ts runs the same rules through the API.
 *
 * Type-only imports are seen (tsPreCompilationDeps): a pure room may take a plain record's type
 * from an I/O room (report/ renders audit rows), never a value.
 *
 * Exceptions are written into the rule they bend (pathNot), each with its reason.
 */

/** Rooms that do I/O or run the process: a pure room imports none of their values. */
const IO_ROOMS =
  "^src/(audit|github|jira|intake|flows|background|ops|server|handlers|commands|evidence)/|^src/(index|main|cli)\\.ts$";

/** Packages that talk to the outside world (network, disk, database, process). */
const IO_PACKAGES =
  "^(probot|@octokit/core|@octokit/plugin-retry|pg|better-sqlite3|ioredis|kysely|pino|@probot/pino|prom-client|smee-client|commander|cli-progress)($|/)";

/** node: built-ins a pure function may use (no I/O, no clock): hashing, paths, text. */
const PURE_BUILTINS = "^(node:)?(crypto|path|util|url|assert)$";

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "No import circles anywhere (cli.ts and commands/ included: their plumbing is commands/kit.ts).",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-orphans",
      severity: "error",
      comment: "Every module is imported by someone, except the entry points (npm start, the CLI, the app).",
      from: { orphan: true, pathNot: ["\\.d\\.ts$", "^src/(main|cli|index)\\.ts$"] },
      to: {},
    },
    {
      name: "pure-rooms-no-io",
      severity: "error",
      comment:
        "policy/ (decisions) and report/ (rendering) are pure: no value from an I/O room. A plain " +
        "record's type (type-only import) is fine.",
      from: { path: "^src/(policy|report)/" },
      to: { path: IO_ROOMS, dependencyTypesNot: ["type-only"] },
    },
    {
      name: "pure-rooms-no-io-builtins",
      severity: "error",
      comment: "policy/ and report/ use no node: I/O module (fs, net, http, child_process, os, …).",
      from: { path: "^src/(policy|report)/" },
      to: { dependencyTypes: ["core"], pathNot: PURE_BUILTINS },
    },
    {
      name: "pure-rooms-no-io-packages",
      severity: "error",
      comment: "policy/ and report/ use no package that does I/O.",
      from: { path: "^src/(policy|report)/" },
      to: { path: IO_PACKAGES, dependencyTypesNot: ["type-only"] },
    },
    {
      name: "config-only-pure",
      severity: "error",
      comment:
        "config/ (the policy file) is given a file reader; it imports policy/ types and contract only.",
      from: { path: "^src/config/" },
      to: { path: IO_ROOMS, dependencyTypesNot: ["type-only"] },
    },
    {
      name: "audit-not-github-or-flows",
      severity: "error",
      comment:
        "audit/ (the trail) writes what it is given: it never calls GitHub, Jira or the process's " +
        "rooms. It may import policy/, report/, config/, refs, bounded-map, contract.",
      from: { path: "^src/audit/" },
      to: {
        path: "^src/(github|jira|flows|intake|background|handlers|server|ops|commands|evidence)/|^src/(index|main|cli)\\.ts$",
      },
    },
    {
      name: "github-not-process",
      severity: "error",
      comment: "github/ (GitHub I/O) is called by the process's rooms, never calls them.",
      from: { path: "^src/github/" },
      to: {
        path: "^src/(flows|intake|handlers|background|server|commands|evidence|ops)/|^src/(index|main|cli)\\.ts$",
      },
    },
    {
      name: "github-not-audit",
      severity: "error",
      comment:
        "github/ takes no value from audit/ (types of plain records are fine). Exception: " +
        "github/checkpoint-issue.ts, the checkpoint log kept in a GitHub issue, writes and parses the " +
        "comment format audit/checkpoint.ts defines (pure text and signatures, no store).",
      from: { path: "^src/github/", pathNot: "^src/github/checkpoint-issue\\.ts$" },
      to: { path: "^src/audit/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "jira-not-process",
      severity: "error",
      comment:
        "jira/ (Jira I/O) imports policy/, report/ (redact gives the process's secret values) and refs; " +
        "never audit/, github/, config/ (gatherTickets takes the tickets keys structurally) or the process's rooms.",
      from: { path: "^src/jira/" },
      to: {
        path: "^src/(audit|github|config|ops|flows|intake|handlers|background|server|commands|evidence)/|^src/(index|main|cli)\\.ts$",
      },
    },
    {
      name: "evidence-only-sources",
      severity: "error",
      comment:
        "evidence/ completes a PR's evidence from github/, jira/ and policy/; it records and publishes nothing.",
      from: { path: "^src/evidence/" },
      to: {
        path: "^src/(audit|flows|intake|handlers|background|server|commands)/|^src/(index|main|cli)\\.ts$",
        dependencyTypesNot: ["type-only"],
      },
    },
    {
      name: "events-enter-through-handlers",
      severity: "error",
      comment:
        "handlers/ is the only place an event enters: only the wiring (index.ts, main.ts) imports it, " +
        "and no lower room reaches back up into it.",
      from: { pathNot: "^src/handlers/|^src/(index|main)\\.ts$" },
      to: { path: "^src/handlers/" },
    },
    {
      name: "lower-rooms-not-handlers-flows",
      severity: "error",
      comment:
        "The evaluation runs one way: handlers → intake → flows. intake/, ops/ and server/ never " +
        "import flows/, background/ or commands/.",
      from: { path: "^src/(intake|ops|server)/" },
      to: { path: "^src/(flows|background|commands)/" },
    },
    {
      name: "flows-not-background-commands",
      severity: "error",
      comment: "flows/ is run by intake (and the CLI); it never imports background/ or commands/.",
      from: { path: "^src/flows/" },
      to: { path: "^src/(background|commands)/" },
    },
    {
      name: "commands-only-from-cli",
      severity: "error",
      comment: "commands/ is the CLI's: only cli.ts (and commands/ itself) import it.",
      from: { pathNot: "^src/commands/|^src/cli\\.ts$" },
      to: { path: "^src/commands/" },
    },
    {
      name: "entry-points-not-imported",
      severity: "error",
      comment:
        "index.ts, main.ts and cli.ts are edges: no room imports them (main.ts imports index.ts). " +
        "Exception: commands/ importing cli.ts (see no-circular; removed by the cli-kit branch).",
      from: { pathNot: "^src/main\\.ts$|^src/commands/" },
      to: { path: "^src/(index|main|cli)\\.ts$" },
    },
    {
      name: "leaves-import-nothing",
      severity: "error",
      comment: "refs.ts, bounded-map.ts and contract.ts import nothing of changegate's.",
      from: { path: "^src/(refs|bounded-map|contract)\\.ts$" },
      to: { path: "^src/" },
    },
    {
      name: "not-to-dev-dep",
      severity: "error",
      comment:
        "src/ runs in the production image, which has no devDependencies. Exception: " +
        "server/webhook-proxy.ts loads smee-client on demand for local development and says so when absent.",
      from: { path: "^src/", pathNot: "^src/server/webhook-proxy\\.ts$" },
      to: { dependencyTypes: ["npm-dev"], dependencyTypesNot: ["type-only"] },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "Every import resolves.",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(lib|coverage)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    skipAnalysisNotInRules: true,
  },
};
