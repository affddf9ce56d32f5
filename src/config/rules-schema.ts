/**
 * approvals.rules: every rule whose paths a PR touches must be met as well as approvals.required.
 * A rule counts approvals from its teams/users (anyone eligible when it names none), or, with
 * `codeowners: true`, from each changed file's owners in the default branch's CODEOWNERS.
 * Evaluated by src/policy/rules.ts.
 */
import { z } from "zod";

/** `org/team-slug`, as GitHub spells a team. */
const team = z
  .string()
  .regex(
    /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9_.-]{1,100}$/,
    "expected a team as org/team-slug (e.g. acme/sre), without @",
  );
/** A GitHub user login (bots cannot approve, so no `[bot]`). */
const user = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, "expected a GitHub login, without @");

export function reviewRulesSchema(glob: z.ZodType<string>) {
  const rule = z
    .strictObject({
      name: z
        .string({ error: "name the rule (name: infrastructure)" })
        .min(1, "cannot be empty")
        .max(100, "at most 100 characters"),
      paths: z
        .array(glob)
        .min(1, "list at least one path glob, or omit paths to apply the rule to every PR")
        .max(100)
        .optional(),
      teams: z.array(team).max(20, "at most 20 teams per rule").optional(),
      users: z.array(user).max(100, "at most 100 users per rule").optional(),
      required: z.number().int().min(1).max(100).default(1),
      codeowners: z.boolean().default(false),
    })
    .superRefine((r, ctx) => {
      if (r.codeowners && (r.teams !== undefined || r.users !== undefined)) {
        ctx.addIssue({
          code: "custom",
          message: "a codeowners rule takes its owners from CODEOWNERS: remove teams and users",
        });
      }
    });
  return (
    z
      .array(rule)
      .max(50, "at most 50 rules")
      .superRefine((rules, ctx) => {
        const seen = new Set<string>();
        rules.forEach((r, i) => {
          const key = r.name.toLowerCase();
          if (seen.has(key))
            ctx.addIssue({
              code: "custom",
              message: `two rules are named ${JSON.stringify(r.name)}: rule names must be unique`,
              path: [i, "name"],
            });
          seen.add(key);
        });
      })
      // Absent (not []) when the file has none: existing policies parse, and are recorded, as before.
      .optional()
  );
}

export type ReviewRuleConfig = NonNullable<z.output<ReturnType<typeof reviewRulesSchema>>>[number];
