/**
 * approvals.rules `paths`: globs written the CODEOWNERS/.gitignore way must not leave a rule that
 * never triggers. A leading `/` anchors (every glob with a `/` is anchored anyway), a trailing `/`
 * names a directory, and a glob matching a directory covers everything beneath it.
 */
import { describe, expect, test } from "@jest/globals";
import { configSchema } from "../../src/config/schema.js";
import { triggeredFiles } from "../../src/policy/rules.js";

const ruleWith = (...paths: string[]) =>
  configSchema.parse({ approvals: { rules: [{ name: "infra", paths, teams: ["acme/sre"] }] } }).approvals
    .rules![0]!;
const FILES = ["infra/main.tf", "infra/modules/vpc/net.tf", "src/app.ts", "docs/infra.md"];

describe("paths written as in CODEOWNERS or .gitignore", () => {
  test("a leading slash anchors at the root instead of matching nothing", () => {
    expect(triggeredFiles(ruleWith("/infra/**"), FILES)).toEqual([
      "infra/main.tf",
      "infra/modules/vpc/net.tf",
    ]);
  });

  test("a trailing slash names a directory: everything beneath it", () => {
    expect(triggeredFiles(ruleWith("infra/"), FILES)).toEqual(["infra/main.tf", "infra/modules/vpc/net.tf"]);
    expect(triggeredFiles(ruleWith("/infra/modules/"), FILES)).toEqual(["infra/modules/vpc/net.tf"]);
  });

  test("a directory named without a glob covers what is beneath it, at any depth when it has no slash", () => {
    expect(triggeredFiles(ruleWith("infra/modules"), FILES)).toEqual(["infra/modules/vpc/net.tf"]);
    expect(triggeredFiles(ruleWith("vpc"), FILES)).toEqual(["infra/modules/vpc/net.tf"]);
    expect(triggeredFiles(ruleWith("infra"), FILES)).toEqual(["infra/main.tf", "infra/modules/vpc/net.tf"]);
  });

  test("what matched before still matches, and nothing more than gitignore would", () => {
    expect(triggeredFiles(ruleWith("infra/**", "*.tf"), FILES)).toEqual([
      "infra/main.tf",
      "infra/modules/vpc/net.tf",
    ]);
    expect(triggeredFiles(ruleWith("*.md"), FILES)).toEqual(["docs/infra.md"]);
    expect(triggeredFiles(ruleWith("infra/*.tf"), FILES)).toEqual(["infra/main.tf"]);
    expect(triggeredFiles(ruleWith("src/app.ts"), FILES)).toEqual(["src/app.ts"]);
  });
});
