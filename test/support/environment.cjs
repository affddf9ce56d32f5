/**
 * The tests' jest environment: jest's own node environment (testEnvironment "node"), plus one
 * thing at teardown — after every hook of the test file has run, before jest soft-deletes the
 * file's globals — the HTTP interceptors the file applied are disposed.
 *
 * Why: nock (through @mswjs/interceptors) patches `node:http`/`node:https` when it is imported and
 * keeps the interceptor on the file's global, under a symbol. Core modules are shared by every test
 * file a jest worker runs; the file's global is not. Without this, the next file in the same worker
 * sent its requests through the previous file's interceptor, whose properties jest had
 * soft-deleted ("'emitter' property was accessed on [ClientRequestInterceptor] after it was soft
 * deleted", JEST-01), and which could still answer them with that file's mocks.
 * test/unit/test-support.test.ts runs two files in one worker to prove it.
 */
const { TestEnvironment } = require("jest-environment-node");

/** The @mswjs/interceptors instances applied on a global (each kept under a symbol, with dispose()). */
function appliedInterceptors(global) {
  const out = [];
  for (const s of Object.getOwnPropertySymbols(global)) {
    const v = global[s];
    const name = (v && v.constructor && v.constructor.name) || "";
    if (name.endsWith("Interceptor") && typeof v.dispose === "function") out.push(v);
  }
  return out;
}

module.exports = class ChangegateTestEnvironment extends TestEnvironment {
  async teardown() {
    for (const interceptor of appliedInterceptors(this.global)) interceptor.dispose();
    await super.teardown();
  }
};
