/**
 * jest setupFilesAfterEnv: an HTTP interceptor a test file applied ends with that file.
 *
 * nock (through @mswjs/interceptors) patches `node:http`/`node:https` when it is imported and keeps
 * the interceptor on the file's global (under a symbol). Core modules are shared by every test
 * file a jest worker runs, the file's global is not: without this, the next file in the same
 * worker sent its requests through the previous file's interceptor, whose properties jest had
 * soft-deleted at teardown ("'emitter' property was accessed on [ClientRequestInterceptor] after
 * it was soft deleted", JEST-01), and which could still answer them with that file's mocks.
 * test/unit/test-support.test.ts runs two files in one worker to prove it stays fixed.
 */
import { afterAll } from "@jest/globals";

interface Disposable {
  dispose(): void;
}

/** The interceptors applied on this file's global: @mswjs/interceptors keeps each under a symbol. */
function appliedInterceptors(): Disposable[] {
  const out: Disposable[] = [];
  for (const s of Object.getOwnPropertySymbols(globalThis)) {
    const v = (globalThis as Record<symbol, unknown>)[s];
    const name = (v as { constructor?: { name?: string } } | null)?.constructor?.name ?? "";
    if (name.endsWith("Interceptor") && typeof (v as Partial<Disposable>).dispose === "function") out.push(v as Disposable);
  }
  return out;
}

afterAll(() => {
  for (const i of appliedInterceptors()) i.dispose();
});
