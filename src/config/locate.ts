/**
 * Where in a policy file a problem is: a ConfigIssue's dotted key path ("approvals.required",
 * "ci.required.1") → the 1-based line of that key (or list item) in the file's text, using the
 * yaml package's node ranges and LineCounter. A key that is missing (a required sibling, a
 * cross-key rule) points at its nearest ancestor that exists; a whole-file problem at the line its
 * message names, if any. Pure: no I/O.
 *
 * Only called for text that passed the limits (limits.ts) and parsed: a nested or huge file is
 * never handed to the parser here either.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { policyTextProblem } from "./limits.js";
import type { ConfigIssue } from "./load.js";

export interface LocatedIssue extends ConfigIssue {
  /** 1-based line in the file; null when the problem is about the file as a whole. */
  line: number | null;
}

export function locateIssues(text: string, issues: ConfigIssue[]): LocatedIssue[] {
  const limit = policyTextProblem(text);
  if (limit)
    return issues.map((i) => ({
      ...i,
      line: i.path === "" ? (limit.line ?? lineInMessage(i.message)) : null,
    }));
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument> | null = null;
  try {
    doc = parseDocument(text, { uniqueKeys: true, lineCounter });
  } catch {
    doc = null;
  }
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;
  return issues.map((issue) => {
    if (issue.path === "" || !doc || doc.errors.length > 0)
      return { ...issue, line: lineInMessage(issue.message) };
    return { ...issue, line: lineOfPath(doc.contents as Node | null, issue.path.split("."), lineOf) };
  });
}

/** The line of the deepest node on `path` that exists (the key's line for a mapping entry). */
function lineOfPath(root: Node | null, path: string[], lineOf: (offset: number) => number): number | null {
  let node: unknown = root;
  let line: number | null = null;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === seg);
      if (!pair) break;
      const at = (isScalar(pair.key) && pair.key.range) || (pair.value as Node | null)?.range;
      if (at) line = lineOf(at[0]);
      node = pair.value;
    } else if (isSeq(node)) {
      if (!/^\d+$/.test(seg)) break;
      const item = node.items[Number(seg)] as Node | undefined;
      if (!item) break;
      if (item.range) line = lineOf(item.range[0]);
      node = item;
    } else {
      break;
    }
  }
  return line;
}

/** "… at line 4 …" in a whole-file message (YAML syntax errors, the nesting limit). */
function lineInMessage(message: string): number | null {
  const m = /\bat line (\d+)\b/.exec(message);
  return m ? Number(m[1]) : null;
}
