/** judgeMerge: a merge judged from the PR's own recorded verdict, as data. Pure. */
import { describe, expect, test } from "@jest/globals";
import { defaultConfig } from "../../src/config/schema.js";
import { isBypass, judgeMerge, mergeNeedsDeclarer, standingVerdict } from "../../src/policy/merge.js";
import { evidence } from "../helpers/fixtures.js";

const config = defaultConfig();
const merged = (labels: string[] = [], baseRef = "main") =>
  evidence({ pr: { state: "MERGED", baseRef, labels } });

describe("judgeMerge", () => {
  test("a success recorded for this base is compliant", () => {
    expect(
      judgeMerge(config, merged(), { base: "main", outcome: "success", emergency: false }, "main"),
    ).toStrictEqual({
      outcome: "success",
      gated: true,
      emergency: false,
      bypass: false,
    });
  });

  test("failure or pending into a gated branch is a bypass; the standing verdict's emergency counts", () => {
    expect(
      judgeMerge(config, merged(), { base: "main", outcome: "failure", emergency: false }, "main"),
    ).toMatchObject({ outcome: "failure", bypass: true });
    expect(
      judgeMerge(config, merged(), { base: "main", outcome: "pending", emergency: true }, "main"),
    ).toMatchObject({ emergency: true, bypass: true });
  });

  test("a verdict for another base is none: never judged into this base", () => {
    const own = { base: "develop", outcome: "success" as const, emergency: false };
    expect(standingVerdict(own, "main")).toBeNull();
    expect(judgeMerge(config, merged(), own, "main")).toMatchObject({ outcome: "none", bypass: true });
  });

  test("an ungated base is no bypass; an invalid policy (null) gates everything", () => {
    expect(judgeMerge(config, merged([], "develop"), null, "main")).toMatchObject({
      outcome: "none",
      gated: false,
      bypass: false,
    });
    expect(judgeMerge(null, merged([], "develop"), null, "main")).toMatchObject({
      gated: true,
      bypass: true,
      emergency: false,
    });
  });

  test("with no standing verdict, the emergency label counts only if its declaration is accepted now", () => {
    expect(mergeNeedsDeclarer(config, ["emergency"], null)).toBe(true);
    expect(
      mergeNeedsDeclarer(config, ["emergency"], { base: "main", outcome: "success", emergency: false }),
    ).toBe(false);
    expect(mergeNeedsDeclarer(null, ["emergency"], null)).toBe(false);
    // No label event and no declarer facts: not accepted.
    expect(
      judgeMerge(
        config,
        { ...merged(["emergency"]), labelHistory: { events: [], truncated: true } },
        null,
        "main",
      ).emergency,
    ).toBe(false);
  });

  test("isBypass: absent gated counts as gated", () => {
    expect(isBypass({ outcome: "none" })).toBe(true);
    expect(isBypass({ outcome: "success" })).toBe(false);
    expect(isBypass({ outcome: "failure", gated: false })).toBe(false);
  });
});
