#!/usr/bin/env bash
# SQL injection scan of the demo server with sqlmap (Debian package `sqlmap`, installed when
# missing), on SQLite and on PostgreSQL, naming the database (--dbms).
#
#   scripts/sqlmap-scan.sh --ci            # CI: level 3, risk 1, boolean-blind, 3 runs at once
#   scripts/sqlmap-scan.sh                 # level 3, risk 2, boolean-blind + time-based, 2 at once
#   scripts/sqlmap-scan.sh --full          # release sweep: level 5, risk 3, every technique
#   scripts/sqlmap-scan.sh --backend sqlite --level 3 --risk 2
#   scripts/sqlmap-scan.sh --full --points "login reset-token"   # only these scans (+ control)
#   scripts/sqlmap-scan.sh --self-test     # the verdicts themselves, on SQLite (about a minute)
#
# It builds `rampart` with the `scan-control` feature, whose GET /api/scan-control pastes its
# `title` parameter into SQL. Exit 0 only when sqlmap finds that control injectable and no real
# injection point; 1 when a real point is injectable, 2 when the control is NOT found (the scan
# proved nothing), 3 on a set-up failure. Prints points scanned, requests sent and findings.
# --self-test proves the first two verdicts with real sqlmap runs: the control scanned under
# a real point's name must give 1, and a scan whose control is aimed at an ignored parameter
# (so nothing is found) must give 2; it exits 0 only when both do.
set -euo pipefail
cd "$(dirname "$0")/.."

LEVEL=3 RISK=2 TECH=BT BACKENDS="sqlite postgres" TIME_SEC=2 THREADS=1 JOBS=2 SELF_TEST= POINTS=
while [ $# -gt 0 ]; do
  case "$1" in
    --self-test) SELF_TEST=1 LEVEL=3 RISK=1 TECH=B THREADS=2 BACKENDS=sqlite ;;
    --ci) LEVEL=3 RISK=1 TECH=B THREADS=2 JOBS=3 ;;
    --full) LEVEL=5 RISK=3 TECH=BEUSTQ ;;
    --level) LEVEL=$2; shift ;;
    --risk) RISK=$2; shift ;;
    --technique) TECH=$2; shift ;;
    --backend) BACKENDS=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --points) POINTS=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 3 ;;
  esac
  shift
done
[ "$LEVEL" -ge 3 ] || { echo "level must be at least 3" >&2; exit 3; }

if ! command -v sqlmap >/dev/null 2>&1; then
  echo "== installing sqlmap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq sqlmap >/dev/null ||
    apt-get install -y -qq sqlmap >/dev/null
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/rampart-target}
echo "== building rampart with the scan-control feature"
cargo build -q -p rampart-cli --features scan-control
SCAN_BIN=$(mktemp -d)/rampart-scan
cp "$CARGO_TARGET_DIR/debug/rampart" "$SCAN_BIN"

WORK_ROOT=$(mktemp -d /tmp/rampart-sqlmap.XXXXXX)
WORK=$WORK_ROOT
SERVER_PID= PG_ADMIN_URL= PG_DB=
export PGOPTIONS=--client-min-messages=warning
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$PG_DB" ]; then psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

start_server() { # $1 = database URL; sets PORT and SERVER_PID
  local log=$WORK/server-$2.log
  PORT=0 DATABASE_URL=$1 MAIL_OUTBOX=$WORK/outbox SECRET_KEY=sqlmap-scan-secret-key-0123456789abcdef \
    SECURITY_THROTTLE_ENABLED=false RUST_LOG=warn,rampart=info \
    SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS='{"argon2__memory_cost": 19456, "argon2__rounds": 2, "argon2__parallelism": 1}' \
    "$SCAN_BIN" serve >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 240); do
    PORT=$(sed -n 's/.*rampart listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.5
  done
  echo "the demo server did not start:" >&2; cat "$log" >&2; exit 3
}

token() { # an auth token of user@example.com
  curl -s -X POST "http://127.0.0.1:$PORT/login?include_auth_token" -H 'Content-Type: application/json' \
    -d '{"email":"user@example.com","password":"Us3r-correct-horse-9"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["response"]["user"]["authentication_token"])'
}

# scan NAME DBMS ARGS... : one sqlmap run in the background (at most $JOBS at once); it writes
# "<requests> <injectable|clean>" to its directory's `result` file.
scan() {
  local name=$1 dbms=$2; shift 2
  if [ -n "$POINTS" ] && [ "$name" != control ] && [[ " $POINTS " != *" $name "* ]]; then return 0; fi
  local dir=$WORK/$dbms-$name
  mkdir -p "$dir"
  while [ "$(jobs -rp | grep -vc "^$SERVER_PID\$")" -ge "$JOBS" ]; do wait -n || true; done
  (
    sqlmap --batch --flush-session --disable-coloring --dbms="$dbms" --level="$LEVEL" --risk="$RISK" \
      --technique="$TECH" --time-sec="$TIME_SEC" --threads="$THREADS" --ignore-code=400,401,403,404,413,429 \
      --output-dir="$dir" -t "$dir/traffic.txt" -H 'Accept: application/json' "$@" >"$dir/log.txt" 2>&1 || true
    requests=$(grep -c '^HTTP request \[' "$dir/traffic.txt" 2>/dev/null || true)
    if grep -q "identified the following injection point" "$dir/log.txt"; then verdict=injectable; else verdict=clean; fi
    echo "${requests:-0} $verdict" >"$dir/result"
    echo "   $dbms $name: $verdict (${requests:-0} requests)"
  ) &
}

scan_backend() { # $1 = sqlite | postgres
  local backend=$1 url dbms
  if [ "$backend" = sqlite ]; then
    url="sqlite://$WORK/scan.db" dbms=SQLite
  else
    PG_ADMIN_URL=${RAMPART_TEST_POSTGRES_URL:-$(scripts/start-postgres.sh)}
    PG_DB="rampart_sqlmap_$$"
    psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB" >/dev/null
    url="${PG_ADMIN_URL%/*}/$PG_DB" dbms=PostgreSQL
  fi
  start_server "$url" "$backend"
  local base="http://127.0.0.1:$PORT"
  echo "== $dbms: level $LEVEL, risk $RISK, techniques $TECH, $THREADS thread(s) (server on port $PORT)"
  case "$SELF_TEST" in
    planted) # the control under a real point's name: must be reported as a real injection
      scan control "$dbms" -u "$base/api/scan-control?title=Welcome" -p title
      scan planted "$dbms" -u "$base/api/scan-control?title=Welcome" -p title ;;
    blind) # the control aimed at a parameter the endpoint ignores: nothing to find
      scan control "$dbms" -u "$base/api/scan-control?title=Welcome&page=1" -p page ;;
    *) scan_points "$dbms" "$base" ;;
  esac
  while [ "$(jobs -rp | grep -vc "^$SERVER_PID$")" -gt 0 ]; do wait -n || true; done
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  if grep -q panicked "$WORK/server-$backend.log"; then
    echo "the server panicked during the scan ($WORK/server-$backend.log)" >&2
    echo "0 injectable" >"$WORK/$dbms-server-panic.result"
  fi
}

scan_points() { # $1 = dbms, $2 = base URL: the control and every real injection point
  local dbms=$1 base=$2 tok auth
  local json='Content-Type: application/json'
  # A new token before each signed-in scan: tokens carry their login time, and change-email
  # needs one fresher than 5 minutes (an old one would only ever get the 401).
  fresh() { tok=$(token); auth="Authentication-Token: $tok"; }
  fresh
  scan control "$dbms" -u "$base/api/scan-control?title=Welcome" -p title
  scan login "$dbms" -u "$base/login" -H "$json" -p email,password,next \
    --data '{"email":"user@example.com","password":"wrong-password","next":"/"}'
  scan login-query "$dbms" -u "$base/login?next=/&include_auth_token=1" -H "$json" -p next,include_auth_token \
    --data '{"email":"user@example.com","password":"wrong-password"}'
  scan login-form "$dbms" -u "$base/login" -p email,password --data 'email=user%40example.com&password=wrong'
  scan login-headers "$dbms" -u "$base/login" -H "$json" -p user-agent,referer \
    --data '{"email":"user@example.com","password":"wrong-password"}'
  scan login-xff "$dbms" -u "$base/login" -H "$json" -H 'X-Forwarded-For: 203.0.113.7*' \
    --data '{"email":"user@example.com","password":"wrong-password"}'
  scan register "$dbms" -u "$base/register" -H "$json" -p email,password \
    --data '{"email":"scan@example.com","password":"Scan-pass-1234567"}'
  scan reset "$dbms" -u "$base/reset" -H "$json" -p email --data '{"email":"user@example.com"}'
  scan reset-token "$dbms" -u "$base/reset/scantoken*" -H "$json" --data '{"password":"Scan-pass-1234567"}'
  scan reset-password "$dbms" -u "$base/reset/scantoken" -H "$json" -p password \
    --data '{"password":"Scan-pass-1234567","password_confirm":"Scan-pass-1234567"}'
  scan confirm "$dbms" -u "$base/confirm" -H "$json" -p email --data '{"email":"user@example.com"}'
  scan confirm-token "$dbms" -u "$base/confirm/scantoken*"
  fresh
  scan change "$dbms" -u "$base/change" -H "$json" -H "$auth" -p password,new_password,new_password_confirm \
    --data '{"password":"wrong-password","new_password":"Scan-pass-1234567","new_password_confirm":"Scan-pass-1234567"}'
  fresh
  scan change-email "$dbms" -u "$base/change-email" -H "$json" -H "$auth" -p email \
    --data '{"email":"scan-new@example.com"}'
  scan change-email-token "$dbms" -u "$base/change-email/scantoken*"
  fresh
  scan verify "$dbms" -u "$base/verify" -H "$json" -H "$auth" -p password --data '{"password":"wrong-password"}'
  fresh
  scan auth-token-query "$dbms" -u "$base/api/me?auth_token=$tok" -p auth_token
  fresh
  scan auth-token-header "$dbms" -u "$base/api/me" -H "Authentication-Token: $tok*"
  scan session-cookie "$dbms" -u "$base/api/me" --cookie 'session=scan-session-id' -p session
  fresh
  scan docs-id "$dbms" -u "$base/api/docs/1*" --method PATCH -H "$json" -H "$auth" --data '{"title":"t"}'
  fresh
  scan docs-title "$dbms" -u "$base/api/docs/1" --method PATCH -H "$json" -H "$auth" -p title --data '{"title":"t"}'
}

# Scans every backend into $WORK, prints the figures and returns the verdict (0, 1 or 2).
sweep() {
started=$(date +%s)
for b in $BACKENDS; do scan_backend "$b"; done
backends=$(echo "$BACKENDS" | wc -w)
TOTAL_POINTS=0 TOTAL_REQUESTS=0 INJECTABLE=() CONTROL_FOUND=0
for result in "$WORK"/*/result "$WORK"/*.result; do
  [ -f "$result" ] || continue
  read -r requests verdict <"$result"
  name=$(basename "$(dirname "$result")")
  [ "${result%.result}" != "$result" ] && name=$(basename "$result" .result)
  TOTAL_POINTS=$((TOTAL_POINTS + 1)) TOTAL_REQUESTS=$((TOTAL_REQUESTS + requests))
  if [ "$verdict" = injectable ]; then
    case "$name" in
      *-control) CONTROL_FOUND=$((CONTROL_FOUND + 1)) ;;
      *) INJECTABLE+=("$name") ;;
    esac
  fi
done
echo "sqlmap: $TOTAL_POINTS scans ($((TOTAL_POINTS / backends - 1)) real injection points${POINTS:+ (subset: $POINTS)} + the control, per backend) on $backends backend(s), $TOTAL_REQUESTS requests, level $LEVEL risk $RISK techniques $TECH, $(( $(date +%s) - started )) s; injectable real points: ${#INJECTABLE[@]}; control found on $CONTROL_FOUND of $backends backend(s); logs in $WORK"
if [ ${#INJECTABLE[@]} -gt 0 ]; then
  echo "INJECTABLE: ${INJECTABLE[*]}" >&2
  return 1
fi
if [ "$CONTROL_FOUND" -ne "$backends" ]; then
  echo "the deliberately injectable control was not found on every backend: the scan proves nothing" >&2
  return 2
fi
return 0
}

if [ -z "$SELF_TEST" ]; then
  sweep # its verdict is the exit code (set -e)
  exit 0
fi
# --self-test: each case in its own work directory and database.
failed=0
for case_want in planted:1 blind:2; do
  SELF_TEST=${case_want%:*} want=${case_want#*:}
  WORK=$WORK_ROOT/$SELF_TEST; mkdir -p "$WORK"
  echo "== self-test $SELF_TEST: expecting exit $want"
  set +e
  (set -e; trap cleanup EXIT; sweep)
  rc=$?
  set -e
  if [ "$rc" = "$want" ]; then
    echo "self-test $SELF_TEST: exit $rc as expected"
  else
    echo "self-test $SELF_TEST: exit $rc, expected $want" >&2
    failed=1
  fi
done
echo "sqlmap self-test: $([ "$failed" = 0 ] && echo passed || echo FAILED)"
exit "$failed"
