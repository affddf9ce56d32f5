#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster for the tests, listening on 127.0.0.1 only, and print the
# line that points the tests at it:
#
#   eval "$(.ci/postgres.sh)"      # → export TEST_DATABASE_URL=postgres://postgres@127.0.0.1:PORT/changegate_test
#
# Idempotent: installs PostgreSQL with apt-get only when no server binaries are found, reuses a
# cluster that is already running in the data directory, and creates the database only if missing.
# Everything but the final `export` line goes to stderr. Settings (environment):
#   CHANGEGATE_PG_DIR   data + socket + log directory (default /tmp/changegate-pg)
#   CHANGEGATE_PG_PORT  port to use (default: 5432 when free, else the first free one above it)
#   CHANGEGATE_PG_DB    database name (default changegate_test)
# Authentication is `trust` for 127.0.0.1 connections: this cluster is for tests, never for data.
set -euo pipefail

DIR="${CHANGEGATE_PG_DIR:-/tmp/changegate-pg}"
DB="${CHANGEGATE_PG_DB:-changegate_test}"
DATA="$DIR/data"
PORT_FILE="$DIR/port"
LOG="$DIR/server.log"

say() { echo "postgres.sh: $*" >&2; }

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return 0
  fi
  return 1
}

BIN="$(find_bin || true)"
if [ -z "$BIN" ]; then
  say "PostgreSQL server binaries not found: installing with apt-get"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
  BIN="$(find_bin)" || { say "apt-get install postgresql did not provide initdb/pg_ctl"; exit 1; }
fi
say "using $BIN ($("$BIN/postgres" --version))"

# initdb and postgres refuse to run as root: run them as the postgres user then.
if [ "$(id -u)" = 0 ]; then
  if ! id postgres >/dev/null 2>&1; then useradd --system --home-dir "$DIR" --shell /bin/sh postgres; fi
  OWNER=postgres
  as_owner() { runuser -u postgres -- "$@"; }
else
  OWNER="$(id -un)"
  as_owner() { "$@"; }
fi

mkdir -p "$DIR"
chown "$OWNER" "$DIR" 2>/dev/null || true
chmod 700 "$DIR"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

if running && [ -f "$PORT_FILE" ]; then
  PORT="$(cat "$PORT_FILE")"
  say "reusing the cluster already running in $DATA on port $PORT"
else
  if [ ! -f "$DATA/PG_VERSION" ]; then
    say "initdb $DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2 \
      || as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >&2
  fi
  PORT="${CHANGEGATE_PG_PORT:-5432}"
  if [ -z "${CHANGEGATE_PG_PORT:-}" ]; then
    while port_in_use "$PORT"; do PORT=$((PORT + 1)); done
  elif port_in_use "$PORT"; then
    say "port $PORT is already in use"; exit 1
  fi
  echo "$PORT" >"$PORT_FILE"
  say "starting on 127.0.0.1:$PORT (log: $LOG)"
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c max_connections=200 -c fsync=on" start >&2
fi

PSQL=("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
for _ in $(seq 1 30); do
  if "${PSQL[@]}" -c "select 1" >/dev/null 2>&1; then break; fi
  sleep 1
done
if [ "$("${PSQL[@]}" -c "select 1 from pg_database where datname = '$DB'")" != 1 ]; then
  say "creating database $DB"
  "${PSQL[@]}" -c "create database \"$DB\"" >&2
fi

echo "export TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/$DB"
