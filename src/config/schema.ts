/**
 * The policy file `.github/changegate.yml`, validated with zod. Unknown keys, wrong types and bad
 * globs are errors; every key has a documented default.
 */
import picomatch from "picomatch";
import { z } from "zod";
import { reviewRulesSchema } from "./rules-schema.js";

const glob = z
  .string()
  .min(1, "a branch pattern cannot be empty")
  .superRefine((value, ctx) => {
    if (value === "") return; // said once, by min(1)
    try {
      picomatch.makeRe(value, { strictBrackets: true });
    } catch (err) {
      ctx.addIssue({
        code: "custom",
        message: `invalid glob ${JSON.stringify(value)}: ${(err as Error).message}`,
      });
    }
  });

const projectKey = z
  .string()
  .regex(
    /^[A-Z][A-Z0-9_]{0,254}$/,
    "a Jira project key is upper-case letters, digits and _, starting with a letter (e.g. OPS)",
  );

export const TICKET_SOURCES = ["title", "branch", "body", "commits"] as const;

const nonEmptyName = z.string().min(1, "cannot be empty");

/** A GitHub login (an app as `name[bot]`) or a team as `org/team-slug`. */
const declarer = z
  .string()
  .regex(
    /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?|[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9_.-]{1,100})$/,
    "expected a GitHub login (an app as name[bot]) or a team as org/team-slug",
  );

/**
 * A `ci.required` entry after parsing: the check's name, and where it must come from. `app`: a check
 * run from the GitHub App with that slug; `creator`: a commit status created by that login (a GitHub
 * App's bot as `slug[bot]`). Neither: any check run or status of that name (the plain-string form).
 */
export interface RequiredCheck {
  name: string;
  app?: string;
  creator?: string;
}

/** What a file may write: a plain name, or a mapping pinning the name to its source. */
export type RequiredCheckInput = string | RequiredCheck;

const pinnedCheck = z
  .strictObject({
    name: z.string({ error: "name the check (name: build)" }).min(1, "cannot be empty"),
    app: z
      .string({ error: "expected the GitHub App's slug, e.g. github-actions" })
      .min(1, "cannot be empty")
      .optional(),
    creator: z
      .string({ error: "expected the login that creates the commit status" })
      .min(1, "cannot be empty")
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (v.app !== undefined && v.creator !== undefined) {
      ctx.addIssue({ code: "custom", message: "give either app or creator, not both" });
    } else if (v.app === undefined && v.creator === undefined) {
      ctx.addIssue({
        code: "custom",
        message:
          "pin the check to its source with app (a check run from that GitHub App) or creator (a commit status by that login), or write just the name",
      });
    }
  });

/**
 * Plain strings stay valid and mean "any source"; every entry comes out as a RequiredCheck. The entry's
 * kind is decided by its type first, so errors name what is wrong with the form the file used (a union
 * would only say "Invalid input").
 */
export const requiredCheck = z
  .custom<RequiredCheckInput>(() => true)
  .transform((v, ctx): RequiredCheck => {
    if (typeof v === "string") {
      if (v === "") ctx.addIssue({ code: "custom", message: "cannot be empty" });
      return { name: v };
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      ctx.addIssue({
        code: "custom",
        message: "expected a check name, or { name, app } / { name, creator } pinning it to its source",
      });
      return z.NEVER;
    }
    const parsed = pinnedCheck.safeParse(v);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue });
      return z.NEVER;
    }
    return parsed.data;
  });

/** approvals.rules: team and path rules, CODEOWNERS (src/config/rules-schema.ts). */
const reviewRules = reviewRulesSchema(glob);

export const configSchema = z
  .object({
    branches: z
      .array(glob)
      .min(1, "list at least one branch pattern (or omit the key to gate the default branch)")
      .optional(),
    approvals: z
      .strictObject({
        required: z.number().int().min(0).max(100).default(1),
        dismiss_stale: z.boolean().default(true),
        allow_contributors: z.boolean().default(false),
        block_unattributed_commits: z.boolean().default(false),
        rules: reviewRules,
      })
      .prefault({}),
    ci: z
      .strictObject({
        required: z.array(requiredCheck).default([]),
      })
      .prefault({}),
    tickets: z
      .strictObject({
        required: z.boolean().default(false),
        projects: z.array(projectKey).default([]),
        sources: z
          .array(z.enum(TICKET_SOURCES))
          .min(1, "name at least one source")
          .default([...TICKET_SOURCES]),
        allowed_states: z.array(nonEmptyName).default([]),
        /** A Jira status or transition name: each ticket of a gated PR is moved there when the PR merges. */
        transition_on_merge: nonEmptyName.max(255, "at most 255 characters").optional(),
      })
      .prefault({})
      .refine((t) => !t.required || t.projects.length > 0, {
        message:
          "tickets.required is true but tickets.projects is empty: name the Jira project keys to look for",
        path: ["projects"],
      }),
    emergency: z
      .strictObject({
        enabled: z.boolean().default(true),
        label: nonEmptyName.default("emergency"),
        approvals_required: z.number().int().min(0).max(100).default(0),
        require_ci: z.boolean().default(false),
        require_ticket: z.boolean().default(false),
        allowed_declarers: z
          .array(declarer)
          .min(
            1,
            "list at least one login or org/team (or set emergency.enabled: false to turn the emergency path off)",
          )
          .optional(),
        /** An emergency merge must be reviewed retroactively within this many hours of the merge. */
        review_within_hours: z
          .number()
          .positive("must be more than 0 hours")
          .max(8760, "at most 8760 hours (a year)")
          .default(48),
      })
      .prefault({}),
    audit: z
      .strictObject({
        issue_repo: z
          .string()
          .regex(/^[\w.-]+\/[\w.-]+$/, "expected owner/name")
          .optional(),
      })
      .prefault({}),
  })
  .strict()
  .refine((c) => !c.emergency.require_ticket || c.tickets.projects.length > 0, {
    message:
      "emergency.require_ticket is true but tickets.projects is empty: name the Jira project keys to look for",
    path: ["emergency", "require_ticket"],
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** The documented defaults: what applies when no policy file exists anywhere. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}

/** Is `branch` gated by this config? Without `branches`, only the repository's default branch is. */
export function isGatedBranch(config: Config, branch: string, defaultBranch: string): boolean {
  // The default branch's name is a name, not a glob: "feature{a,b}" must not gate "featurea".
  if (!config.branches) return branch === defaultBranch;
  return config.branches.some((p) => picomatch.isMatch(branch, p, { dot: true }));
}
