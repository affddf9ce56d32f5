/** jest globalTeardown: say so when the PostgreSQL suites were left out (see pg-setup.mjs). */
export default async function pgTeardown() {
  const why = process.env.CHANGEGATE_PG_LEFT_OUT;
  if (!why) return;
  process.stdout.write(
    `\nNOTE: the PostgreSQL suites (test/audit/*.pg.test.ts, test/integration/replicas.pg.test.ts) were left out: ${why}.\n` +
      `      To include them: install PostgreSQL (apt-get install postgresql) and run npm test again, or run\n` +
      `      eval "$(bash .ci/postgres.sh)" && npm test\n`,
  );
}
