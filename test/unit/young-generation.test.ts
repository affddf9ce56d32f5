import { describe, expect, test } from "@jest/globals";
import { getHeapSpaceStatistics } from "node:v8";
import { capYoungGeneration } from "../../src/ops/young-generation.js";

const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space")!.space_size;

describe("the young generation's cap", () => {
  test("an operator's own sizing wins: nothing is steered", () => {
    const cap = capYoungGeneration(1, ["--max-semi-space-size=16"], "");
    expect(cap.description).toBe("young generation: the operator's own sizing");
    const viaEnv = capYoungGeneration(1, [], "--semi-space-growth-factor=4");
    expect(viaEnv.description).toBe("young generation: the operator's own sizing");
  });

  test("at the cap, the young generation does not grow however much survives", async () => {
    const at = newSpace();
    const cap = capYoungGeneration(at, [], "");
    cap.start();
    try {
      expect(cap.description).toMatch(/young generation held at ≤ \d+ MB/);
      // Many short-lived objects that survive a scavenge or two: what makes V8 grow the new space.
      let keep: unknown[] = [];
      for (let round = 0; round < 40; round++) {
        keep = [
          keep.length ? keep.slice(-1000) : [],
          ...Array.from({ length: 20_000 }, (_, i) => ({ i, s: `x${i}` })),
        ];
        await new Promise((r) => setImmediate(r));
      }
      expect(keep.length).toBeGreaterThan(0);
      expect(newSpace()).toBeLessThanOrEqual(at);
    } finally {
      cap.stop();
    }
  });
});
