/**
 * merge-group: GitHub's merge queue asks for `changegate` on a merge group's head commit. Pure.
 * The group is compliant only when every PR in it has its own recorded verdict, for the head it was
 * queued with and the group's base, and that verdict is success (an ungated base passes as it did
 * for the PR). Anything missing, pending or failed fails the group, naming the PR.
 */

/** The queue's temporary branch: `gh-readonly-queue/<base>/pr-<N>-<base sha>` (refs/heads/ optional). */
export function parseQueueRef(ref: string): { base: string; number: number; sha: string } | null {
  const m = /^(?:refs\/heads\/)?gh-readonly-queue\/(.+)\/pr-(\d{1,9})-([0-9a-f]{40})$/.exec(ref);
  if (!m) return null;
  return { base: m[1]!, number: Number(m[2]), sha: m[3]! };
}

/** A PR in the group: its number and the head commit it was queued with. */
export interface GroupMember {
  number: number;
  headSha: string;
}

/** The PR's own verdict as recorded (the shape of the audit store's OwnVerdict). */
export interface GroupMemberVerdict {
  base: string;
  outcome: "success" | "failure" | "pending";
  title: string;
}

export interface GroupJudgement {
  conclusion: "success" | "failure";
  title: string;
  /** One line per PR: its number and why it counts or does not. */
  lines: { number: number; ok: boolean; why: string }[];
}

export function judgeMergeGroup(
  members: GroupMember[],
  verdicts: Map<number, GroupMemberVerdict>,
  base: string,
): GroupJudgement {
  if (members.length === 0) {
    return {
      conclusion: "failure",
      title: "changegate cannot tell which pull requests are in this merge group",
      lines: [],
    };
  }
  const lines = members.map((m) => {
    const v = verdicts.get(m.number);
    const head = m.headSha.slice(0, 7);
    if (!v)
      return { number: m.number, ok: false, why: `changegate has no recorded verdict for its head ${head}` };
    if (v.base !== base)
      return {
        number: m.number,
        ok: false,
        why: `its verdict for ${head} was for base ${v.base}, not ${base}`,
      };
    if (v.outcome !== "success")
      return { number: m.number, ok: false, why: `its verdict for ${head} is ${v.outcome}: ${v.title}` };
    return { number: m.number, ok: true, why: `compliant at ${head}` };
  });
  const bad = lines.filter((l) => !l.ok);
  if (bad.length === 0) {
    return {
      conclusion: "success",
      title: `Merge group compliant: ${members.length === 1 ? "its pull request has" : `all ${members.length} pull requests have`} a compliant verdict`,
      lines,
    };
  }
  return {
    conclusion: "failure",
    title: `Merge group not compliant: ${bad.map((l) => `#${l.number}`).join(", ")}`,
    lines,
  };
}
