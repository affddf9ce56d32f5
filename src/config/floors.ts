/**
 * Org floors: the `enforce:` section of the owner's `.github` repository's `.github/changegate.yml`.
 * Pure. `enforceSchema` says which keys a floor may set (each only in its tight direction);
 * `applyFloors` lifts a repository's config to the floors, key by key, and says where the floor won.
 *
 * "Tighter", per key:
 *   branches                        the gated set only grows: floor patterns are added
 *   approvals.required              the larger number
 *   approvals.dismiss_stale         a floor of true forces true
 *   approvals.allow_contributors    a floor of false forces false
 *   approvals.block_unattributed_commits  a floor of true forces true
 *   ci.required                     the floor's checks are added (same name and pin: once)
 *   tickets.required                a floor of true forces true
 *   tickets.projects                narrowed: only the floor's projects count (none named: the floor's)
 *   tickets.allowed_states          narrowed: only states the floor allows (none named: the floor's)
 *   emergency.enabled               a floor of false forces false
 *   emergency.approvals_required    the larger number
 *   emergency.require_ci / require_ticket  a floor of true forces true
 *   emergency.allowed_declarers     narrowed: only the floor's declarers (none left: emergencies off)
 *   emergency.review_within_hours   the smaller number (a retroactive review due sooner)
 */
import picomatch from "picomatch";
import { z } from "zod";
import { configSchema, type Config, type RequiredCheck } from "./schema.js";

const tight = <T extends boolean>(value: T, key: string) =>
  z
    .literal(value, { error: `a floor can only set ${key}: ${value} (the other value enforces nothing)` })
    .optional();

const configShape = configSchema.shape;
const approvalsShape = configShape.approvals.unwrap().shape;
const ticketsShape = configShape.tickets.unwrap().shape;
const emergencyShape = configShape.emergency.unwrap().shape;

/** The keys an `enforce:` section may hold. Anything else is an error naming the key. */
export const enforceSchema = z
  .strictObject({
    branches: configShape.branches,
    approvals: z
      .strictObject({
        required: approvalsShape.required.unwrap().optional(),
        dismiss_stale: tight(true, "approvals.dismiss_stale"),
        allow_contributors: tight(false, "approvals.allow_contributors"),
        block_unattributed_commits: tight(true, "approvals.block_unattributed_commits"),
      })
      .optional(),
    ci: z.strictObject({ required: configShape.ci.unwrap().shape.required.unwrap().optional() }).optional(),
    tickets: z
      .strictObject({
        required: tight(true, "tickets.required"),
        projects: ticketsShape.projects
          .unwrap()
          .min(1, "list at least one project (or omit the key)")
          .optional(),
        allowed_states: ticketsShape.allowed_states
          .unwrap()
          .min(1, "list at least one state (or omit the key)")
          .optional(),
      })
      .optional(),
    emergency: z
      .strictObject({
        enabled: tight(false, "emergency.enabled"),
        approvals_required: emergencyShape.approvals_required.unwrap().optional(),
        require_ci: tight(true, "emergency.require_ci"),
        require_ticket: tight(true, "emergency.require_ticket"),
        allowed_declarers: emergencyShape.allowed_declarers,
        review_within_hours: emergencyShape.review_within_hours.unwrap().optional(),
      })
      .optional(),
  })
  .nullable()
  .transform((v) => v ?? {});

export type Floors = z.output<typeof enforceSchema>;

/** Where a floor overrode the repository's policy: the key, and why, for the digest and the record. */
export interface FloorNote {
  key: string;
  message: string;
}

export interface Floored {
  config: Config;
  notes: FloorNote[];
}

/** A problem that remains after the floors are applied (e.g. tickets required but no project named). */
export interface FloorProblem {
  path: string;
  message: string;
}

/**
 * The repository's config lifted to the floors. `defaultBranch` is needed only when the floors add
 * branches to a config that gates just the default branch (no `branches` key): it stays gated.
 */
export function applyFloors(
  config: Config,
  floors: Floors,
  defaultBranch: string | null,
): Floored | { problem: FloorProblem } {
  const c: Config = structuredClone(config);
  const notes: FloorNote[] = [];
  const note = (key: string, message: string) => notes.push({ key, message });

  if (floors.branches) {
    if (!c.branches && defaultBranch === null) {
      return {
        problem: {
          path: "branches",
          message: "the org floor adds gated branches, but the repository's default branch is unknown here",
        },
      };
    }
    const own = c.branches ?? [literalGlob(defaultBranch!)];
    const missing = floors.branches.filter((p) => !own.includes(p));
    if (missing.length > 0) {
      c.branches = [...own, ...missing];
      note(
        "branches",
        `the org floor also gates ${missing.map((p) => JSON.stringify(p)).join(", ")}: a repository can add gated branches, not remove them`,
      );
    }
  }

  const a = floors.approvals;
  if (a?.required !== undefined && c.approvals.required < a.required) {
    note(
      "approvals.required",
      `the policy asks for ${c.approvals.required}, the org floor for at least ${a.required}: ${a.required} apply`,
    );
    c.approvals.required = a.required;
  }
  if (a?.dismiss_stale && !c.approvals.dismiss_stale) {
    note(
      "approvals.dismiss_stale",
      "the policy turns it off, the org floor requires it: approvals of older commits do not count",
    );
    c.approvals.dismiss_stale = true;
  }
  if (a?.allow_contributors === false && c.approvals.allow_contributors) {
    note(
      "approvals.allow_contributors",
      "the policy lets commit authors approve, the org floor does not: their approvals do not count",
    );
    c.approvals.allow_contributors = false;
  }
  if (a?.block_unattributed_commits && !c.approvals.block_unattributed_commits) {
    note("approvals.block_unattributed_commits", "the policy turns it off, the org floor requires it");
    c.approvals.block_unattributed_commits = true;
  }

  if (floors.ci?.required) {
    const missing = floors.ci.required.filter((f) => !c.ci.required.some((r) => sameCheck(r, f)));
    if (missing.length > 0) {
      c.ci.required = [...c.ci.required, ...missing];
      note(
        "ci.required",
        `the org floor also requires ${missing.map(checkWords).join(", ")}: a repository can add required checks, not remove them`,
      );
    }
  }

  const t = floors.tickets;
  if (t?.required && !c.tickets.required) {
    note("tickets.required", "the policy does not require a ticket, the org floor does");
    c.tickets.required = true;
  }
  if (t?.projects) {
    const narrowed = narrow(c.tickets.projects, t.projects);
    if (narrowed.dropped.length > 0 || c.tickets.projects.length === 0) {
      if (c.tickets.projects.length > 0)
        note(
          "tickets.projects",
          `only the org floor's projects count (${t.projects.join(", ")}): ${narrowed.dropped.join(", ")} ignored`,
        );
      c.tickets.projects = narrowed.kept.length > 0 ? narrowed.kept : [...t.projects];
    }
  }
  if (t?.allowed_states) {
    const narrowed = narrow(c.tickets.allowed_states, t.allowed_states);
    if (narrowed.dropped.length > 0 || c.tickets.allowed_states.length === 0) {
      note(
        "tickets.allowed_states",
        `only the states the org floor allows count (${t.allowed_states.join(", ")})${narrowed.dropped.length > 0 ? `: ${narrowed.dropped.join(", ")} ignored` : ""}`,
      );
      c.tickets.allowed_states = narrowed.kept.length > 0 ? narrowed.kept : [...t.allowed_states];
    }
  }

  const e = floors.emergency;
  if (e?.enabled === false && c.emergency.enabled) {
    note(
      "emergency.enabled",
      "the org floor turns the emergency path off: the emergency label is not honoured",
    );
    c.emergency.enabled = false;
  }
  if (e?.approvals_required !== undefined && c.emergency.approvals_required < e.approvals_required) {
    note(
      "emergency.approvals_required",
      `the policy asks for ${c.emergency.approvals_required}, the org floor for at least ${e.approvals_required}: ${e.approvals_required} apply`,
    );
    c.emergency.approvals_required = e.approvals_required;
  }
  if (e?.require_ci && !c.emergency.require_ci) {
    note("emergency.require_ci", "the org floor requires CI to pass for emergency changes too");
    c.emergency.require_ci = true;
  }
  if (e?.require_ticket && !c.emergency.require_ticket) {
    note("emergency.require_ticket", "the org floor requires a ticket for emergency changes too");
    c.emergency.require_ticket = true;
  }
  if (e?.review_within_hours !== undefined && c.emergency.review_within_hours > e.review_within_hours) {
    note(
      "emergency.review_within_hours",
      `the policy allows ${c.emergency.review_within_hours} hours for the retroactive review, the org floor at most ${e.review_within_hours}: ${e.review_within_hours} apply`,
    );
    c.emergency.review_within_hours = e.review_within_hours;
  }
  if (e?.allowed_declarers) {
    const own = c.emergency.allowed_declarers;
    if (!own) {
      note(
        "emergency.allowed_declarers",
        `only the org floor's declarers may declare an emergency (${e.allowed_declarers.join(", ")})`,
      );
      c.emergency.allowed_declarers = [...e.allowed_declarers];
    } else {
      const narrowed = narrow(own, e.allowed_declarers);
      if (narrowed.dropped.length > 0) {
        if (narrowed.kept.length > 0) {
          note(
            "emergency.allowed_declarers",
            `${narrowed.dropped.join(", ")} may not declare an emergency: not among the org floor's declarers`,
          );
          c.emergency.allowed_declarers = narrowed.kept;
        } else if (c.emergency.enabled) {
          note(
            "emergency.allowed_declarers",
            `none of the policy's declarers (${own.join(", ")}) is among the org floor's: the emergency path is off`,
          );
          c.emergency.enabled = false;
        }
      }
    }
  }

  // What the schema's refinements say of a single file, said again of the combination.
  if (c.tickets.required && c.tickets.projects.length === 0) {
    return {
      problem: {
        path: "tickets.projects",
        message:
          "the org floor requires a ticket, but neither it nor the repository's policy names tickets.projects",
      },
    };
  }
  if (c.emergency.require_ticket && c.tickets.projects.length === 0) {
    return {
      problem: {
        path: "tickets.projects",
        message:
          "the org floor requires a ticket for emergencies, but neither it nor the repository's policy names tickets.projects",
      },
    };
  }
  return { config: c, notes };
}

/** A glob matching exactly `name` (a branch name is a name, not a pattern). */
export function literalGlob(name: string): string {
  return name.replace(/[\\^$.*+?()[\]{}|!@,#-]/g, (ch) => `\\${ch}`);
}

/** Does `branch` match the glob as the gate does? (for tests and the reference) */
export function matchesBranch(branch: string, pattern: string): boolean {
  return picomatch.isMatch(branch, pattern, { dot: true });
}

function narrow(own: string[], allowed: string[]): { kept: string[]; dropped: string[] } {
  const lower = new Set(allowed.map((s) => s.toLowerCase()));
  return {
    kept: own.filter((s) => lower.has(s.toLowerCase())),
    dropped: own.filter((s) => !lower.has(s.toLowerCase())),
  };
}

function sameCheck(a: RequiredCheck, b: RequiredCheck): boolean {
  return a.name === b.name && a.app === b.app && a.creator === b.creator;
}

function checkWords(c: RequiredCheck): string {
  const pin = c.app ? ` from app ${c.app}` : c.creator ? ` by ${c.creator}` : "";
  return `${JSON.stringify(c.name)}${pin}`;
}
