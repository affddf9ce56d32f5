/** The `changegate` check on a merge group's head: the group's verdict, one line per PR. Pure. */
import type { GroupJudgement } from "../policy/merge-group.js";
import { code, md } from "./escape.js";
import { clip } from "./digest.js";
import { MAX_TITLE } from "./types.js";

export function renderGroupCheck(
  j: GroupJudgement,
  group: { base: string; headSha: string },
): { conclusion: "success" | "failure"; title: string; summary: string } {
  const lines = [
    `Merge group into ${code(group.base)} at ${code(group.headSha.slice(0, 12))}: changegate passes it only when every pull request in it has its own compliant verdict, recorded for the head it was queued with.`,
    "",
  ];
  for (const l of j.lines) lines.push(`- ${l.ok ? "✅" : "❌"} #${l.number}: ${md(l.why, 400)}`);
  return { conclusion: j.conclusion, title: clip(j.title, MAX_TITLE), summary: lines.join("\n") };
}

/** When the group cannot be judged (GitHub or the store cannot say): a failure naming why. */
export function renderGroupFailure(
  why: string,
  group: { base: string; headSha: string },
): { conclusion: "failure"; title: string; summary: string } {
  return {
    conclusion: "failure",
    title: "changegate could not judge this merge group",
    summary: `Merge group into ${code(group.base)} at ${code(group.headSha.slice(0, 12))}: ${md(why, 600)}\n\nchangegate fails closed; GitHub removes the group from the queue and a later group is judged again.`,
  };
}
