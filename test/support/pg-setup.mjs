/**
 * jest globalSetup: the PostgreSQL suites run whenever they can. Without TEST_DATABASE_URL, if
 * PostgreSQL's server binaries are installed, start (or reuse) the throw-away cluster of
 * .ci/postgres.sh on 127.0.0.1 and point the tests at it; if they are not installed, nothing is
 * installed here, and pg-teardown.mjs says at the end of the run which suites were left out and the
 * one command that includes them. CI always sets TEST_DATABASE_URL (and fails without it).
 * CHANGEGATE_PG_AUTOSTART=false turns the start-up off.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function hasServerBinaries() {
  const versions = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql") : [];
  if (versions.some((v) => existsSync(join("/usr/lib/postgresql", v, "bin", "initdb")))) return true;
  if (existsSync("/usr/local/pgsql/bin/initdb")) return true;
  return spawnSync("sh", ["-c", "command -v initdb && command -v pg_ctl"], { stdio: "ignore" }).status === 0;
}

export default async function pgSetup() {
  // Suites left out for a missing tool are noted here by the workers (test/support/left-out.mjs).
  process.env.CHANGEGATE_LEFT_OUT_FILE = join(
    mkdtempSync(join(tmpdir(), "changegate-left-out-")),
    "suites.ndjson",
  );
  if (process.env.TEST_DATABASE_URL?.trim()) return;
  if (process.env.CHANGEGATE_PG_AUTOSTART === "false") {
    process.env.CHANGEGATE_PG_LEFT_OUT = "CHANGEGATE_PG_AUTOSTART=false and no TEST_DATABASE_URL";
    return;
  }
  if (!hasServerBinaries()) {
    process.env.CHANGEGATE_PG_LEFT_OUT = "PostgreSQL is not installed";
    return;
  }
  const r = spawnSync("bash", [join(ROOT, ".ci", "postgres.sh")], { encoding: "utf8", timeout: 120_000 });
  const url = /^export TEST_DATABASE_URL=(\S+)$/m.exec(r.stdout ?? "")?.[1];
  if (r.status !== 0 || !url) {
    process.env.CHANGEGATE_PG_LEFT_OUT = `starting a throw-away PostgreSQL failed: ${(r.stderr ?? "").trim().split("\n").at(-1) ?? `exit ${r.status}`}`;
    return;
  }
  // Workers start after globalSetup and inherit this environment.
  process.env.TEST_DATABASE_URL = url;
  process.env.CHANGEGATE_PG_STARTED = url;
}
