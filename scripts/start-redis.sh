#!/usr/bin/env bash
# Starts a throw-away Redis server on 127.0.0.1:${REDIS_PORT:-56379} (no persistence, files in
# ${REDIS_DIR:-/tmp/rampart-redis}) and prints its URL. Idempotent: a running server is reused.
set -euo pipefail
PORT=${REDIS_PORT:-56379}
DIR=${REDIS_DIR:-/tmp/rampart-redis}
if ! command -v redis-server >/dev/null; then
  echo "redis-server not found (apt-get install redis-server)" >&2
  exit 1
fi
if ! redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1; then
  mkdir -p "$DIR"
  redis-server --bind 127.0.0.1 --port "$PORT" --daemonize yes --save '' --appendonly no \
    --dir "$DIR" --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" --protected-mode yes
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null
fi
echo "redis://127.0.0.1:$PORT/0"
