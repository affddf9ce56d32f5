/**
 * jest globalTeardown: say so when suites were left out: the PostgreSQL suites (see pg-setup.mjs),
 * and those whose tool is not installed (test/support/tools.ts), each with the one command that
 * includes it. With CI set nothing is ever left out: those suites fail instead.
 */
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { takeLeftOut } from "./left-out.mjs";

export default async function pgTeardown() {
  const why = process.env.CHANGEGATE_PG_LEFT_OUT;
  if (why) {
    process.stdout.write(
      `\nNOTE: the PostgreSQL suites (test/audit/*.pg.test.ts, test/integration/replicas.pg.test.ts) were left out: ${why}.\n` +
        `      To include them: install PostgreSQL (apt-get install postgresql) and run npm test again, or run\n` +
        `      eval "$(bash .ci/postgres.sh)" && npm test\n`,
    );
  }
  const left = takeLeftOut();
  if (process.env.CHANGEGATE_LEFT_OUT_FILE)
    rmSync(dirname(process.env.CHANGEGATE_LEFT_OUT_FILE), { recursive: true, force: true });
  if (left.length === 0) return;
  const one = left.length === 1;
  process.stdout.write(
    `\nNOTE: ${left.length} suite${one ? " was" : "s were"} left out: a tool ${one ? "it needs" : "they need"} is not installed here:\n`,
  );
  for (const e of left) {
    process.stdout.write(
      `      ${e.suite}: needs ${e.tool}. To include it: ${e.install}, then\n        node --experimental-vm-modules node_modules/jest/bin/jest.js ${e.suite}\n`,
    );
  }
  process.stdout.write(`      (With CI set these suites fail instead of being left out.)\n`);
}
