#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what is missing (PostgreSQL server, Redis server,
# Runs every test on a fresh machine: installs what is missing (PostgreSQL, Redis, nginx,
# Chromium and chromedriver for the browser tests, the real Flask-Security-Too and schemathesis
# from pip), starts PostgreSQL and Redis on loopback, then runs `cargo test --workspace` and the
# sqlmap scan (scripts/sqlmap-scan.sh --ci). Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: $*; install them (apt-get install $*) and rerun" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "$@" >/dev/null
}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== installing PostgreSQL"
  apt_install postgresql
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "== installing Redis"
  apt_install redis-server
fi
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "== installing nginx (load balancer of the multi-instance test)"
  apt_install nginx
fi
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "== installing Chromium and chromedriver (browser tests)"
  apt_install chromium chromium-driver
fi
if ! python3 -c "import flask_security, argon2, bcrypt, passlib, zxcvbn, schemathesis, gunicorn" >/dev/null 2>&1; then
  echo "== installing Flask-Security-Too (reference implementation) and schemathesis from pip"
  python3 -m pip install -q -r tools/requirements.txt
fi

RAMPART_TEST_POSTGRES_URL=${RAMPART_TEST_POSTGRES_URL:-$(scripts/start-postgres.sh)}
export RAMPART_TEST_POSTGRES_URL
echo "== PostgreSQL at $RAMPART_TEST_POSTGRES_URL"
RAMPART_TEST_REDIS_URL=${RAMPART_TEST_REDIS_URL:-$(scripts/start-redis.sh)}
export RAMPART_TEST_REDIS_URL
echo "== Redis at $RAMPART_TEST_REDIS_URL"

cargo test --workspace "$@"

# The injection scan (README "Proof under attack"): sqlmap at level 3 on SQLite and PostgreSQL,
# with its positive control; installs sqlmap when missing.
scripts/sqlmap-scan.sh --ci
