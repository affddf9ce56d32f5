/** Batched delivery completions: one write per batch, by size or after the delay, flushed on demand. */
import { afterEach, beforeEach, expect, jest, test } from "@jest/globals";
import { CompletionBatch } from "../../src/intake/completion-batch.js";

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

function batch(fail = false) {
  const writes: string[][] = [];
  const errors: string[][] = [];
  const b = new CompletionBatch({
    write: async (ids) => {
      if (fail) throw new Error("store down");
      writes.push(ids);
    },
    delayMs: 100,
    max: 3,
    onError: (_e, ids) => void errors.push(ids),
  });
  return { b, writes, errors };
}

test("ids wait for the delay, then leave in one write", async () => {
  const { b, writes } = batch();
  b.add("a");
  b.add("b");
  await jest.advanceTimersByTimeAsync(99);
  expect(writes).toEqual([]);
  await jest.advanceTimersByTimeAsync(1);
  expect(writes).toEqual([["a", "b"]]);
  expect(b.waiting).toBe(0);
});

test("a full batch leaves at once; the rest waits for its own delay", async () => {
  const { b, writes } = batch();
  for (const id of ["a", "b", "c", "d"]) b.add(id);
  await jest.advanceTimersByTimeAsync(0);
  expect(writes).toEqual([["a", "b", "c"]]);
  await jest.advanceTimersByTimeAsync(100);
  expect(writes).toEqual([["a", "b", "c"], ["d"]]);
});

test("flush sends what waits and resolves once written; a failed write is reported, not thrown", async () => {
  const ok = batch();
  ok.b.add("x");
  await ok.b.flush();
  expect(ok.writes).toEqual([["x"]]);
  await ok.b.flush();
  expect(ok.writes).toEqual([["x"]]);
  const down = batch(true);
  down.b.add("y");
  await down.b.flush();
  expect(down.errors).toEqual([["y"]]);
  down.b.add("z");
  await down.b.flush();
  expect(down.errors).toEqual([["y"], ["z"]]);
});
