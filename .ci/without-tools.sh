#!/usr/bin/env bash
# The first hour of a newcomer with only Node: the suites that need a system tool (Chromium,
# redis-server, promtool, PostgreSQL) are run with those tools off the PATH and no CI:
#   1. without CI they pass, and the run's end names every suite it left out and how to include it;
#   2. with CI set the same run fails, naming the missing tools (CI never leaves a suite out).
# Only those suites run (not the whole suite twice). Called by .ci/run before the full run.
#
# "Off the PATH": a PATH of links to every executable of today's PATH except the tools. PostgreSQL's
# server binaries are also found under /usr/lib/postgresql, so its start-up is turned off with
# CHANGEGATE_PG_AUTOSTART=false (test/support/pg-setup.mjs), and TEST_DATABASE_URL is unset.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITES=(
  test/audit/report.test.ts
  test/audit/sample.test.ts
  test/integration/write-limiter-redis.test.ts
  test/e2e/replicas-redis.test.ts
  test/unit/alerts-promtool.test.ts
  test/audit/schemas.pg.test.ts
  test/audit/store.pg.test.ts
  test/audit/roles.pg.test.ts
  test/integration/replicas.pg.test.ts
)
HIDDEN=" chromium chromium-browser redis-server promtool initdb pg_ctl postgres psql "

SHADOW="$(mktemp -d)"
trap 'rm -rf "$SHADOW"' EXIT
IFS=: read -r -a DIRS <<<"$PATH"
for d in "${DIRS[@]}"; do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    n="$(basename "$f")"
    case "$HIDDEN" in *" $n "*) continue ;; esac
    [ -x "$f" ] && [ ! -d "$f" ] && [ ! -e "$SHADOW/$n" ] && ln -s "$f" "$SHADOW/$n"
  done
done
for t in $HIDDEN; do
  if PATH="$SHADOW" command -v "$t" >/dev/null 2>&1; then echo "without-tools.sh: $t is still on the shadow PATH" >&2; exit 1; fi
done

run_jest() {
  env -u CI -u TEST_DATABASE_URL -u CHROMIUM_PATH PATH="$SHADOW" CHANGEGATE_PG_AUTOSTART=false "$@" \
    node --experimental-vm-modules node_modules/jest/bin/jest.js --maxWorkers=2 "${SUITES[@]}"
}

echo "== without the tools, no CI: the suites pass and say what they left out"
OUT="$SHADOW/out.txt"
if ! run_jest >"$OUT" 2>&1; then cat "$OUT"; echo "without-tools.sh: the suites failed without their tools and without CI (they must be left out)" >&2; exit 1; fi
cat "$OUT"
for s in test/audit/report.test.ts test/integration/write-limiter-redis.test.ts test/e2e/replicas-redis.test.ts test/unit/alerts-promtool.test.ts; do
  grep -q "^      $s: needs " "$OUT" || { echo "without-tools.sh: the end-of-run note does not name $s" >&2; exit 1; }
done
grep -q "NOTE: the PostgreSQL suites .* were left out" "$OUT" || { echo "without-tools.sh: the end-of-run note does not name the PostgreSQL suites" >&2; exit 1; }

echo "== the same with CI set: it must fail, naming the missing tools"
if run_jest CI=true >"$OUT" 2>&1; then cat "$OUT"; echo "without-tools.sh: with CI set the run passed without its tools (it must fail)" >&2; exit 1; fi
for t in "Chromium is not installed, and CI is set" "redis-server is not installed, and CI is set" "promtool is not installed, and CI is set" "CI is set but TEST_DATABASE_URL is not"; do
  grep -q "$t" "$OUT" || { cat "$OUT"; echo "without-tools.sh: with CI set, no failure says \"$t\"" >&2; exit 1; }
done
echo "without-tools.sh: ok (left out and named without CI; failed with CI set)"
