/**
 * The README's manual registration asks for exactly what app.yml asks for: every permission at its
 * level and every webhook event (a hand-registered app missing one silently loses what it carries:
 * direct pushes, `/changegate approve`, merge queues, team rules), and says to set the real webhook
 * URL after the setup page (app.yml's is a placeholder).
 */
import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { docSection, ROOT } from "../helpers/docs.js";

const app = parse(readFileSync(join(ROOT, "app.yml"), "utf8")) as {
  default_permissions: Record<string, string>;
  default_events: string[];
  hook_attributes: { url: string };
};
const install = docSection("Install it as a GitHub App").text.replace(/\s+/g, " ");

/** GitHub's settings page names: check_run → "Check run"; statuses is "Commit statuses". */
const uiName = (key: string) =>
  ({ statuses: "Commit statuses" })[key] ?? key.charAt(0).toUpperCase() + key.slice(1).replace(/_/g, " ");
const uiLevel = (level: string) => ({ write: "read & write", read: "read" })[level] ?? level;

/** The comma-separated list after "- <label>" (up to the full stop that ends it). */
function listAfter(label: string): string[] {
  const m = new RegExp(`- ${label}[^:]*: ([^.]*)\\.`).exec(install);
  if (!m) throw new Error(`the "Install it as a GitHub App" section has no "- ${label}…: …." line`);
  return m[1]!.split(",").map((s) => s.trim());
}

describe("registering the app by hand (README) asks for what app.yml asks for", () => {
  test("every permission, at its level", () => {
    const documented = listAfter("Permissions").sort();
    const wanted = Object.entries(app.default_permissions)
      .map(([k, v]) => `${uiName(k)} *${uiLevel(v)}*`)
      .sort();
    expect(documented).toEqual(wanted);
  });

  test("every webhook event", () => {
    const documented = listAfter("Events").sort();
    const wanted = app.default_events.map(uiName).sort();
    expect(wanted).toContain("Merge group");
    expect(documented).toEqual(wanted);
  });

  test("after the setup page: set the real webhook URL (app.yml's is a placeholder)", () => {
    expect(app.hook_attributes.url).toMatch(/example\.invalid/);
    expect(install).toMatch(
      /After the setup page.*set its Webhook URL to `https:\/\/<your host>\/api\/github\/webhooks`/,
    );
  });
});
