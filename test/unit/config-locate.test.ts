/** Key paths of policy problems → lines in the file (src/config/locate.ts), through the app's loader. */
import { describe, expect, test } from "@jest/globals";
import { loadPolicy } from "../../src/config/load.js";
import { locateIssues } from "../../src/config/locate.js";

async function problems(text: string) {
  const r = await loadPolicy(
    { repoFile: { repo: "acme/x", path: ".github/changegate.yml", text }, orgFile: null },
    async () => null,
  );
  if (r.ok) throw new Error("expected an invalid policy");
  return locateIssues(text, r.problem.issues).map((i) => `${i.line ?? "-"} ${i.path}`);
}

describe("locateIssues", () => {
  test("a wrong value, an unknown key and a list item: the line of each", async () => {
    const text = [
      "# policy",
      "approvals:",
      "  required: -1",
      "  requried: 2",
      "ci:",
      "  required:",
      "    - lint",
      "    - { name: build, app: a, creator: b }",
      "",
    ].join("\n");
    expect(await problems(text)).toEqual(["3 approvals.required", "4 approvals.requried", "8 ci.required.1"]);
  });

  test("a missing key points at its nearest ancestor (tickets.projects → the tickets: line)", async () => {
    const text = "branches: [main]\n\ntickets:\n  required: true\n";
    expect(await problems(text)).toEqual(["3 tickets.projects"]);
  });

  test("flow style and a top-level unknown key", async () => {
    expect(await problems("approvals: { required: 1 }\nemergency: { label: '' }\nextra: 1\n")).toEqual([
      "2 emergency.label",
      "3 extra",
    ]);
  });

  test("whole-file problems take the line their message names (YAML errors, the nesting limit), else none", async () => {
    expect(await problems("approvals:\n  required: 1\nci: [\n")).toEqual([expect.stringMatching(/^\d+ $/)]);
    expect((await problems("approvals:\n  required: 1\nci: [\n"))[0]).not.toBe("- ");
    expect(await problems(`approvals:\n  required: 1\nx: ${"[".repeat(100)}${"]".repeat(100)}\n`)).toEqual([
      "3 ",
    ]);
    expect(await problems("- a\n- b\n")).toEqual(["- "]);
  });

  test("a path that is not in the file (an _extends base's key) has no line", () => {
    expect(locateIssues("approvals:\n  required: 1\n", [{ path: "tickets.projects", message: "x" }])).toEqual(
      [{ path: "tickets.projects", message: "x", line: null }],
    );
  });
});
