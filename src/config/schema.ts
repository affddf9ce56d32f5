/**
 * The policy file `.github/changegate.yml`, validated with zod. Unknown keys, wrong types and bad
 * globs are errors; every key has a documented default.
 */
import picomatch from "picomatch";
import { z } from "zod";


const glob = z
  .string()
  .min(1, "a branch pattern cannot be empty")
  .superRefine((value, ctx) => {
    if (value === "") return; // said once, by min(1)
    try {
      picomatch.makeRe(value, { strictBrackets: true });
    } catch (err) {
      ctx.addIssue({ code: "custom", message: `invalid glob ${JSON.stringify(value)}: ${(err as Error).message}` });
    }
  });

const projectKey = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,254}$/, "a Jira project key is upper-case letters, digits and _, starting with a letter (e.g. OPS)");

export const TICKET_SOURCES = ["title", "branch", "body", "commits"] as const;

const nonEmptyName = z.string().min(1, "cannot be empty");

/** A GitHub login (an app as `name[bot]`) or a team as `org/team-slug`. */
const declarer = z
  .string()
  .regex(
    /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?|[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9_.-]{1,100})$/,
    "expected a GitHub login (an app as name[bot]) or a team as org/team-slug",
  );

export const configSchema = z
  .object({
    branches: z.array(glob).min(1, "list at least one branch pattern (or omit the key to gate the default branch)").optional(),
    approvals: z
      .strictObject({
        required: z.number().int().min(0).max(100).default(1),
        dismiss_stale: z.boolean().default(true),
        allow_contributors: z.boolean().default(false),
        block_unattributed_commits: z.boolean().default(false),
      })
      .prefault({}),
    ci: z
      .strictObject({
        required: z.array(nonEmptyName).default([]),
      })
      .prefault({}),
    tickets: z
      .strictObject({
        required: z.boolean().default(false),
        projects: z.array(projectKey).default([]),
        sources: z.array(z.enum(TICKET_SOURCES)).min(1, "name at least one source").default([...TICKET_SOURCES]),
        allowed_states: z.array(nonEmptyName).default([]),
      })
      .prefault({})
      .refine((t) => !t.required || t.projects.length > 0, {
        message: "tickets.required is true but tickets.projects is empty: name the Jira project keys to look for",
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
          .min(1, "list at least one login or org/team (or set emergency.enabled: false to turn the emergency path off)")
          .optional(),
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
    message: "emergency.require_ticket is true but tickets.projects is empty: name the Jira project keys to look for",
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
