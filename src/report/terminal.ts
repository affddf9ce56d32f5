/**
 * The digest (GitHub markdown) as plain text for a terminal, for `changegate check owner/name#N`.
 * Pure. The digest's user text is already escaped for markdown (escape.ts); here the escapes are
 * undone for reading, and every control character is removed, so a PR title or commit message
 * carrying terminal escape sequences (ESC [ …) or bidi overrides cannot act on the terminal.
 */
// eslint-disable-next-line no-control-regex -- removing control characters is this module's job
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function digestForTerminal(markdown: string): string {
  const text = markdown
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<summary>([\s\S]*?)<\/summary>/g, "$1")
    .replace(/<\/?(?:details|summary|br|sub|sup|b|i|p)\b[^>]*>/g, "")
    .replace(/^> \[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]$/gm, "> $1:")
    .replace(/\[([^\]\n]*)\]\((https?:[^)\s]*)\)/g, "$1 <$2>")
    .replace(/\*\*([^*\n]+)\*\*/g, "$1")
    .replace(/\\([\\`*_{}[\]()|~!#+-])/g, "$1")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(CONTROL, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  return `${text}\n`;
}

/** One line of untrusted text for a terminal (no control characters, no line breaks). */
export function terminalLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, " ").replace(CONTROL, "");
}
