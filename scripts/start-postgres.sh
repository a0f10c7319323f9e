#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server on 127.0.0.1:${PGPORT:-54329} (data in
# ${PGDATA_DIR:-/tmp/rampart-pg}) and prints the DATABASE_URL of a fresh `rampart_test`
# database. Idempotent: an already running server is reused.
set -euo pipefail
PGPORT=${PGPORT:-54329}
DATA=${PGDATA_DIR:-/tmp/rampart-pg}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$BIN" ]; then
  echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  exit 1
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  if [ ! -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"
    as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-h 127.0.0.1 -p $PGPORT -k /tmp -c max_connections=200 -c fsync=on" start >/dev/null
fi
psql_() { as_pg psql -h 127.0.0.1 -p "$PGPORT" -U postgres -tAq "$@"; }
if [ "$(psql_ -c "select 1 from pg_database where datname='rampart_test'")" != "1" ]; then
  psql_ -c "create database rampart_test" >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$PGPORT/rampart_test"
