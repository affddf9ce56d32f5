/**
 * Limits a policy file must meet before any recursive parser sees it. The `yaml` package composes
 * and converts documents recursively: a 10 KB file nested 5,000 levels deep (`a: [[[…]]]`) exhausts
 * the stack, and on a second parse V8 aborts the whole process (exit 134) instead of throwing.
 * So the size is capped, and the nesting depth is measured here with yaml's Lexer, which is a flat
 * state machine (a loop over a bounded set of states, no recursion per level), before the text is
 * handed to `parseDocument`.
 *
 * Pure: no I/O.
 */
import { CST, Lexer } from "yaml";

/**
 * Policy files are a few hundred bytes; GitHub's blob read returns the text whole. 64 KB keeps the
 * yaml package's slowest inputs (thousands of errors, e.g. unterminated flow collections on every
 * line) near a second of parsing; at 256 KB some take minutes.
 */
export const MAX_POLICY_BYTES = 64 * 1024;
/**
 * Collections inside collections (block or flow), counting the scalar at the bottom: a real policy
 * needs five or six.
 */
export const MAX_POLICY_DEPTH = 32;
/**
 * Anchors (`&a`) and tags (`!t`) in one file. The yaml package's handling of many of them on one
 * node grows much faster than the file (42,000 on one line: 55 s of parsing); a policy uses a few.
 */
export const MAX_POLICY_ANCHORS_AND_TAGS = 100;

export interface TextProblem {
  /** 1-based line where the limit was crossed; null for the file as a whole. */
  line: number | null;
  message: string;
}

export function policySizeProblem(bytes: number): TextProblem | null {
  if (bytes <= MAX_POLICY_BYTES) return null;
  return {
    line: null,
    message: `the file is ${bytes} bytes; a policy file may have at most ${MAX_POLICY_BYTES} bytes (${MAX_POLICY_BYTES / 1024} KB)`,
  };
}

/** The size and depth limits, checked in one linear pass; null when the text may be parsed. */
export function policyTextProblem(text: string, maxDepth = MAX_POLICY_DEPTH): TextProblem | null {
  // A UTF-8 character is at most 3 bytes per UTF-16 unit: skip the count for small files.
  const size =
    text.length * 3 <= MAX_POLICY_BYTES ? null : policySizeProblem(Buffer.byteLength(text, "utf8"));
  if (size) return size;
  const scan = nestingDepth(text, maxDepth);
  if (scan.exceededAt !== null) {
    return {
      line: scan.exceededAt,
      message: `nested more than ${maxDepth} levels deep at line ${scan.exceededAt} (collections inside collections); a policy needs only a few levels`,
    };
  }
  if (scan.propertiesExceededAt !== null) {
    return {
      line: scan.propertiesExceededAt,
      message: `more than ${MAX_POLICY_ANCHORS_AND_TAGS} anchors (&name) and tags (!tag) at line ${scan.propertiesExceededAt}; a policy needs only a few`,
    };
  }
  return null;
}

/**
 * How deeply the text nests, measured on the Lexer's tokens without building a tree. Flow
 * collections count their brackets. Block collections are tracked as a stack of columns: a line
 * whose content starts right of the enclosing level opens a level, one at or left of it closes the
 * levels right of it; on one line, every `-`, `?` or `:` indicator followed by more content opens a
 * level at that content's column (`- - - x`). The count errs high (a scalar value is a level, a
 * flow collection in a block value counts twice) and low by at most half (a block sequence written
 * at its parent key's column), so a file over `limit` by this measure is refused, and a file the
 * parsers see is never more than about 2 × limit deep.
 *
 * Stops at the first token past `limit` (`exceededAt` is its line) or past `maxProperties` anchors
 * and tags (`propertiesExceededAt`), so the work is linear in the text and bounded by the size cap.
 */
export function nestingDepth(
  text: string,
  limit = Number.POSITIVE_INFINITY,
  maxProperties = MAX_POLICY_ANCHORS_AND_TAGS,
): { max: number; exceededAt: number | null; propertiesExceededAt: number | null } {
  const lexer = new Lexer();
  let line = 1;
  let flow = 0;
  /** Columns of the open block levels, strictly increasing. */
  const block: number[] = [];
  let col = 0;
  let atLineStart = true;
  /** An indicator (`-`, `?`, `:`) was seen: the next content on this line opens a level. */
  let pending = false;
  /** The next token is a plain or block scalar's text (after the Lexer's SCALAR marker). */
  let scalarNext = false;
  let max = 0;
  let properties = 0;

  for (const token of lexer.lex(text)) {
    const type = scalarNext ? "scalar-text" : CST.tokenType(token);
    scalarNext = false;
    if (type === "scalar") {
      // Lexer control character (not source text): the scalar's text follows.
      scalarNext = true;
      continue;
    }
    if (type === "doc-mode") continue;
    if (type === "flow-error-end") {
      // The Lexer closed unterminated flow collections at a less indented line.
      flow = 0;
      continue;
    }

    const startCol = col;
    const startLine = line;
    // Advance the position over the token's source text.
    const nl = token.lastIndexOf("\n");
    if (nl < 0) col += token.length;
    else {
      for (let i = token.indexOf("\n"); i >= 0; i = token.indexOf("\n", i + 1)) line++;
      col = token.length - nl - 1;
    }

    if (type === "newline") {
      if (flow === 0) {
        atLineStart = true;
        pending = false;
      }
      continue;
    }
    if (type === "space" || type === "comment" || type === "byte-order-mark") {
      if (type === "space" && token.endsWith("\n") && flow === 0) atLineStart = true;
      continue;
    }
    if (type === "anchor" || type === "tag") {
      if (++properties > maxProperties) return { max, exceededAt: null, propertiesExceededAt: startLine };
    }
    if (type === "doc-start" || type === "doc-end" || type === "directive-line") {
      block.length = 0;
      flow = 0;
      pending = false;
      atLineStart = true;
      continue;
    }

    if (flow === 0) {
      if (atLineStart) {
        while (block.length > 0 && block[block.length - 1]! > startCol) block.pop();
        if (block.length === 0 || block[block.length - 1]! < startCol) block.push(startCol);
        atLineStart = false;
      } else if (pending && (block.length === 0 || block[block.length - 1]! < startCol)) {
        block.push(startCol);
      }
      pending = type === "seq-item-ind" || type === "explicit-key-ind" || type === "map-value-ind";
    }
    if (type === "flow-seq-start" || type === "flow-map-start") flow++;
    else if ((type === "flow-seq-end" || type === "flow-map-end") && flow > 0) flow--;

    // A block scalar's text ends with its last line break: the next token starts a line.
    if (type === "scalar-text" && token.endsWith("\n") && flow === 0) atLineStart = true;

    const depth = block.length + flow;
    if (depth > max) {
      max = depth;
      if (max > limit) return { max, exceededAt: startLine, propertiesExceededAt: null };
    }
  }
  return { max, exceededAt: null, propertiesExceededAt: null };
}
