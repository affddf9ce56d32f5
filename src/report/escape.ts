/**
 * Escaping for user-controlled text (PR titles, commit messages, logins, ticket summaries, CI names)
 * placed in markdown: no HTML, no @mentions, no cross-reference pings, no broken tables.
 */
const ZWSP = "\u200b";

/** Escape text for inline markdown, including a table cell. Newlines collapse to spaces. */
export function md(text: string, maxLength = 300): string {
  let t = wellFormed(text)
    .replace(/[\r\n\t]+/g, " ")
    .trim();
  if (t.length > maxLength) t = `${cut(t, maxLength - 1)}…`;
  return t
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[\\`*_{}[\]()|~!#+-]/g, (c) => `\\${c}`)
    .replace(/@/g, `@${ZWSP}`) // @user and @org/team no longer ping
    .replace(/\\#(?=\d)/g, `\\#${ZWSP}`) // #123 no longer links/notifies another issue
    .replace(/\b(GH)\\-(?=\d)/gi, `$1\\-${ZWSP}`) // nor does GH-123
    .replace(/:\/\//g, `:${ZWSP}//`); // no autolinks to arbitrary hosts
}

/** Text inside an inline code span: backticks cannot end it, newlines cannot break the table. */
export function code(text: string, maxLength = 100): string {
  let t = wellFormed(text)
    .replace(/[\r\n\t]+/g, " ")
    .replace(/\|/g, "¦");
  if (t.length > maxLength) t = `${cut(t, maxLength - 1)}…`;
  const fence = "`".repeat(longestRun(t, "`") + 1);
  const pad = t.startsWith("`") || t.endsWith("`") ? " " : "";
  return `${fence}${pad}${t}${pad}${fence}`;
}

/** A fenced code block that the content cannot close, with HTML left inert. */
export function codeBlock(text: string): string {
  text = wellFormed(text);
  const fence = "`".repeat(Math.max(3, longestRun(text, "`") + 1));
  return `${fence}text\n${text}\n${fence}`;
}

/**
 * A link whose target came from outside: only absolute http(s) URLs with a host, otherwise plain text.
 * Characters that could end the link target, break a table row or start HTML are percent-encoded
 * (`|`, `<`, `>`, `"`, `'`, backticks, brackets, parentheses, backslashes, spaces and any other
 * whitespace or control character); tabs and newlines are dropped, as browsers drop them.
 */
export function link(label: string, url: string | null | undefined): string {
  if (!url || LONE_SURROGATE.test(url)) return label;
  const target = url.replace(/[\t\n\r]/g, "");
  if (!/^https?:\/\/[^\s/?#]/i.test(target)) return label;
  let parsed: URL;
  try {
    parsed = new URL(target);
  } catch {
    return label;
  }
  if ((parsed.protocol !== "https:" && parsed.protocol !== "http:") || parsed.hostname === "") return label;
  return `[${label}](${target.replace(UNSAFE_IN_LINK, (c) => encodeURIComponent(c).replace(/[!'()*]/g, (x) => `%${x.charCodeAt(0).toString(16).toUpperCase()}`))})`;
}

/** Characters percent-encoded in a link target: markdown/table/HTML syntax, whitespace and controls. */
const UNSAFE_IN_LINK = /[|<>"'`()[\]\\\s\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}]/gu;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The text with every lone surrogate replaced by U+FFFD (String.prototype.toWellFormed). */
export function wellFormed(text: string): string {
  return text.replace(new RegExp(LONE_SURROGATE.source, "g"), "\ufffd");
}

/**
 * The first `n` UTF-16 code units of `text`, one fewer if the cut would split a surrogate pair:
 * a truncation never leaves half an emoji behind.
 */
export function cut(text: string, n: number): string {
  if (n <= 0) return "";
  if (text.length <= n) return text;
  const c = text.charCodeAt(n - 1);
  return text.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}

function longestRun(s: string, ch: string): number {
  let best = 0;
  let cur = 0;
  for (const c of s) {
    cur = c === ch ? cur + 1 : 0;
    if (cur > best) best = cur;
  }
  return best;
}

/** Text for HTML (element content or a quoted attribute): &, <, >, " and ' escaped, lone surrogates fixed. */
export function html(text: string | number | null | undefined): string {
  return wellFormed(String(text ?? ""))
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}
