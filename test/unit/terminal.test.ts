/** The digest as terminal text (src/report/terminal.ts): readable, and inert for the terminal. */
import { describe, expect, test } from "@jest/globals";
import { DIGEST_MARKER } from "../../src/contract.js";
import { md } from "../../src/report/escape.js";
import { digestForTerminal, terminalLine } from "../../src/report/terminal.js";

describe("digestForTerminal", () => {
  test("markdown decorations go, escaped user text reads as written", () => {
    const body = [
      "## ❌ changegate: not compliant",
      "",
      "> [!WARNING]",
      `> **Emergency label ignored:** ${md("fix <b>x</b> (a|b) #12 @bob")}.`,
      "<details><summary>Shipped</summary>",
      "",
      "- [a1b2c3d](https://github.com/acme/x/commit/a1b2c3d)",
      "</details>",
      "",
      DIGEST_MARKER,
    ].join("\n");
    const out = digestForTerminal(body);
    expect(out).toContain("## ❌ changegate: not compliant");
    expect(out).toContain("> WARNING:");
    expect(out).toContain("Emergency label ignored: fix <b>x</b> (a|b) #");
    expect(out).toContain("Shipped");
    expect(out).toContain("a1b2c3d <https://github.com/acme/x/commit/a1b2c3d>");
    expect(out).not.toContain("changegate:digest");
    expect(out).not.toContain("<details>");
    expect(out.endsWith("\n")).toBe(true);
  });

  test("terminal escape sequences and bidi overrides in user text are removed", () => {
    const hostile = `title \u001b[2J\u001b]0;pwned\u0007 \u202eevil\u009b31m`;
    const out = digestForTerminal(`| Rule | ${md(hostile)} |`);
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(terminalLine(`a\nb\u001b[31mc`)).toBe("a b[31mc");
  });
});
