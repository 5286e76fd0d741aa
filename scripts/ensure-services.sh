#!/usr/bin/env bash
# Start PostgreSQL and Redis if they are not answering, and install Chromium for the browser tests.
set -euo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Chromium (Debian package) for the /device page tests"
  sudo_if_needed=""
  [ "$(id -u)" = "0" ] || sudo_if_needed="sudo"
  # Not fatal: without Chromium the browser tests skip, naming the missing /usr/bin/chromium.
  if ! { $sudo_if_needed apt-get update -qq >/dev/null \
         && $sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
    echo "WARNING: could not install chromium; the /device browser tests will be skipped" >&2
  fi
fi
