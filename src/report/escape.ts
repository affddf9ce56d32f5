/**
 * Escaping for user-controlled text (PR titles, commit messages, logins, ticket summaries, CI names)
 * placed in markdown: no HTML, no @mentions, no cross-reference pings, no broken tables.
 */
const ZWSP = "\u200b";

/** Escape text for inline markdown, including a table cell. Newlines collapse to spaces. */
export function md(text: string, maxLength = 300): string {
  let t = text.replace(/[\r\n\t]+/g, " ").trim();
  if (t.length > maxLength) t = `${t.slice(0, maxLength - 1)}…`;
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
  let t = text.replace(/[\r\n\t]+/g, " ").replace(/\|/g, "¦");
  if (t.length > maxLength) t = `${t.slice(0, maxLength - 1)}…`;
  const fence = "`".repeat(longestRun(t, "`") + 1);
  const pad = t.startsWith("`") || t.endsWith("`") ? " " : "";
  return `${fence}${pad}${t}${pad}${fence}`;
}

/** A fenced code block that the content cannot close, with HTML left inert. */
export function codeBlock(text: string): string {
  const fence = "`".repeat(Math.max(3, longestRun(text, "`") + 1));
  return `${fence}text\n${text}\n${fence}`;
}

/** A link whose target came from outside: only http(s) URLs, otherwise plain text. */
export function link(label: string, url: string | null | undefined): string {
  if (!url || !/^https?:\/\/[^\s()<>]+$/i.test(url)) return label;
  return `[${label}](${url})`;
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
