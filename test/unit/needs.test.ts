/**
 * policy/needs: what a policy needs beyond the one read, decided from literals (no I/O): the
 * declarer question, the declared-on question, the files, the teams and the tickets lookup.
 */
import { describe, expect, test } from "@jest/globals";
import { configSchema, type ConfigInput } from "../../src/config/schema.js";
import { evidenceNeeds, lookUpTickets, teamsToRead } from "../../src/policy/needs.js";
import type { ChangedFiles, Evidence, LabelEvent, ReviewInfo } from "../../src/policy/types.js";
import type { LabelClaim } from "../../src/refs.js";
import { evidence as fixtureEvidence, HEAD } from "../helpers/fixtures.js";

type Over = Omit<Partial<Evidence>, "pr"> & { pr?: Partial<Evidence["pr"]> };
const evidence = (over: Over = {}) => fixtureEvidence(over);
const config = (c: ConfigInput = {}) => configSchema.parse(c);
const AT = "2026-11-20T03:00:00Z";
const ev = (login: string | null, bot = false): LabelEvent => ({
  label: "emergency",
  actor: login === null ? null : { login, isBot: bot },
  at: AT,
});
const labelled = (events: LabelEvent[], over: Over = {}) =>
  evidence({
    ...over,
    pr: { labels: ["emergency"], ...over.pr },
    labelHistory: { events, truncated: false },
  });
const approval = (login: string): ReviewInfo => ({
  author: { login, isBot: false },
  state: "APPROVED",
  submittedAt: "2026-11-20T09:00:00Z",
  commitOid: HEAD,
  authorCanPush: true,
  url: `https://github.com/acme/payments/pull/1#review-${login}`,
});
const files = (paths: string[], over: Partial<ChangedFiles> = {}): ChangedFiles => ({
  paths,
  total: paths.length,
  complete: true,
  ...over,
});
const NEXT = { prId: "PR_node", after: "CURSOR100" };

describe("an ordinary PR", () => {
  test("needs nothing beyond the read (one read per evaluation)", () => {
    const n = evidenceNeeds(config(), { evidence: evidence() });
    expect({ ...n, config: undefined }).toStrictEqual({
      config: undefined,
      declarer: null,
      declaredOn: null,
      files: null,
      teams: null,
      tickets: null,
    });
  });
});

describe("declarer and declaredOn", () => {
  test("default rule: ask whoever applied the label for write access; the head a delivery named for it", () => {
    const claims: LabelClaim[] = [{ label: "emergency", sender: "dev", headSha: HEAD, at: AT }];
    const n = evidenceNeeds(config(), { evidence: labelled([ev("dev")]) }, claims);
    expect(n.declarer).toStrictEqual({ login: "dev", teams: null });
    expect(n.declaredOn).toStrictEqual({ at: AT, fromClaims: HEAD });
  });

  test("no delivery for the labelling: declaredOn is asked of the record only", () => {
    const n = evidenceNeeds(config(), { evidence: labelled([ev("dev")]) });
    expect(n.declaredOn).toStrictEqual({ at: AT, fromClaims: null });
  });

  test("allowed_declarers: a listed login needs no question; anyone else is asked of the listed teams in order", () => {
    const c = config({ emergency: { allowed_declarers: ["Oncall-Lead", "acme/sre", "acme/ops"] } });
    expect(evidenceNeeds(c, { evidence: labelled([ev("oncall-lead")]) }).declarer).toBeNull();
    expect(evidenceNeeds(c, { evidence: labelled([ev("sam")]) }).declarer).toStrictEqual({
      login: "sam",
      teams: ["acme/sre", "acme/ops"],
    });
  });

  test("apps and unknown declarers are decided without asking; their declaredOn is still looked for", () => {
    expect(evidenceNeeds(config(), { evidence: labelled([ev("labeler", true)]) }).declarer).toBeNull();
    const ghost = evidenceNeeds(config(), { evidence: labelled([ev(null)]) });
    expect(ghost.declarer).toBeNull();
    expect(ghost.declaredOn).toStrictEqual({ at: AT, fromClaims: null });
  });

  test("nothing is asked for a label with no LabeledEvent, a base that is not gated, or the emergency path off", () => {
    expect(evidenceNeeds(config(), { evidence: labelled([]) })).toMatchObject({
      declarer: null,
      declaredOn: null,
    });
    const sandbox = labelled([ev("dev")], { pr: { baseRef: "sandbox" } });
    expect(evidenceNeeds(config(), { evidence: sandbox })).toMatchObject({
      declarer: null,
      declaredOn: null,
    });
    const off = config({ emergency: { enabled: false } });
    expect(evidenceNeeds(off, { evidence: labelled([ev("dev")]) })).toMatchObject({
      declarer: null,
      declaredOn: null,
    });
  });
});

describe("files and teams (approvals.rules)", () => {
  const pathRule = { approvals: { rules: [{ name: "infra", paths: ["infra/"], teams: ["acme/sre"] }] } };

  test("no rules: neither files nor teams", () => {
    const n = evidenceNeeds(config(), { evidence: evidence({ files: files(["a"]) }), filesNext: NEXT });
    expect(n).toMatchObject({ files: null, teams: null });
  });

  test("a path rule and more than 100 files: page from the read's cursor", () => {
    const e = evidence({ files: files(["infra/a.tf"], { total: 250, complete: false }) });
    expect(evidenceNeeds(config(pathRule), { evidence: e, filesNext: NEXT }).files).toStrictEqual({
      more: NEXT,
    });
  });

  test("all files in the read, or past GitHub's 3,000: nothing to page (the latter fails closed)", () => {
    const all = evidence({ files: files(["infra/a.tf"]) });
    expect(evidenceNeeds(config(pathRule), { evidence: all }).files).toStrictEqual({ more: null });
    const huge = evidence({ files: files(["infra/a.tf"], { total: 3001, complete: false }) });
    expect(evidenceNeeds(config(pathRule), { evidence: huge, filesNext: NEXT }).files).toStrictEqual({
      more: null,
    });
  });

  test("a rule without paths or codeowners needs no files, but may need teams", () => {
    const c = config({ approvals: { rules: [{ name: "sre", teams: ["acme/sre"] }] } });
    const n = evidenceNeeds(c, { evidence: evidence({ files: files(["a"]) }), filesNext: NEXT });
    expect(n.files).toBeNull();
    expect(n.teams?.rules.map((r) => r.name)).toStrictEqual(["sre"]);
    expect(n.teams?.settings).toStrictEqual({ dismissStale: true, allowContributors: false });
  });

  test("teamsToRead: the triggered rule's teams once someone eligible approved; none without an approval", () => {
    const n = evidenceNeeds(config(pathRule), { evidence: evidence() });
    const touched = evidence({ files: files(["infra/main.tf"]), reviews: [approval("carol")] });
    expect(teamsToRead(n.teams!, touched)).toStrictEqual(["acme/sre"]);
    expect(teamsToRead(n.teams!, { ...touched, reviews: [] })).toStrictEqual([]);
    const untouched = evidence({ files: files(["src/app.ts"]), reviews: [approval("carol")] });
    expect(teamsToRead(n.teams!, untouched)).toStrictEqual([]);
  });
});

describe("tickets", () => {
  const projects = { tickets: { projects: ["OPS"] } };

  test("tickets.required on a gated base: always; not required, or not gated: never", () => {
    const required = config({ tickets: { required: true, projects: ["OPS"] } });
    expect(evidenceNeeds(required, { evidence: evidence() }).tickets).toStrictEqual({ when: "always" });
    const sandbox = evidence({ pr: { baseRef: "sandbox" } });
    expect(evidenceNeeds(required, { evidence: sandbox }).tickets).toBeNull();
    expect(evidenceNeeds(config(projects), { evidence: evidence() }).tickets).toBeNull();
  });

  test("an emergency label whose two settings differ: whether the declaration is accepted decides", () => {
    const c = config({ ...projects, emergency: { require_ticket: true } });
    const n = evidenceNeeds(c, { evidence: labelled([ev("dev")]) });
    expect(n.tickets).toStrictEqual({ when: "emergency" });
    const accepted = labelled([ev("dev")], {
      declarer: { login: "dev", canWrite: true, teams: [] },
      declaredOn: { at: AT, headSha: HEAD },
    });
    expect(lookUpTickets(n, accepted)).toBe(true);
    const refused = { ...accepted, declarer: { login: "dev", canWrite: false, teams: [] } };
    expect(lookUpTickets(n, refused)).toBe(false);
    // Without the label the declaration cannot be accepted: tickets.required (false) decides now.
    expect(evidenceNeeds(c, { evidence: evidence() }).tickets).toBeNull();
  });

  test("tickets required except for an accepted emergency", () => {
    const c = config({ tickets: { required: true, projects: ["OPS"] } });
    const n = evidenceNeeds(c, { evidence: labelled([ev("dev")]) });
    expect(n.tickets).toStrictEqual({ when: "normal" });
    const accepted = labelled([ev("dev")], {
      declarer: { login: "dev", canWrite: true, teams: [] },
      declaredOn: { at: AT, headSha: HEAD },
    });
    expect(lookUpTickets(n, accepted)).toBe(false);
    // Declared on an older head: not accepted, so the tickets are looked up.
    expect(lookUpTickets(n, { ...accepted, declaredOn: { at: AT, headSha: "b".repeat(40) } })).toBe(true);
  });

  test("both settings true: always, whatever the declaration", () => {
    const c = config({ tickets: { required: true, projects: ["OPS"] }, emergency: { require_ticket: true } });
    const n = evidenceNeeds(c, { evidence: labelled([ev("dev")]) });
    expect(n.tickets).toStrictEqual({ when: "always" });
    expect(lookUpTickets(n, labelled([ev("dev")]))).toBe(true);
    expect(lookUpTickets({ ...n, tickets: null }, labelled([ev("dev")]))).toBe(false);
  });
});
