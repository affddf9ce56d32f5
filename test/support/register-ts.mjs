// `node --import ./test/support/register-ts.mjs script.ts`: run the project's TypeScript sources in a
// plain Node process without a build step (the benchmark, and the tests' child processes), by
// transpiling .ts files with the project's own TypeScript as Node loads them. Type checking is
// `npm run typecheck`'s job.
import { register } from "node:module";

register("./ts-hooks.mjs", import.meta.url);
