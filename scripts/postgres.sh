#!/usr/bin/env bash
# A throwaway PostgreSQL server for the records tests, from Debian's packages.
#
#   bash scripts/postgres.sh [start]   install postgresql if missing (root: apt-get), start a private
#                                      cluster in $KB_PG_DIR on 127.0.0.1:$KB_PG_PORT, create the
#                                      database $KB_PG_DB and print its SQLAlchemy URL on stdout
#   bash scripts/postgres.sh url       print the URL of the running cluster
#   bash scripts/postgres.sh stop      stop the cluster and delete its directory
#
# Typical use (scripts/test.sh):  export KB_TEST_POSTGRES_URL=$(bash scripts/postgres.sh)
# Idempotent: a cluster already running in $KB_PG_DIR is reused. Only the URL goes to stdout;
# progress and errors go to stderr. Durability is switched off (fsync=off): test data only.
# The Debian default cluster (/var/lib/postgresql/*/main) is never touched.
set -euo pipefail

dir=${KB_PG_DIR:-/tmp/zhifakb-pg}
port=${KB_PG_PORT:-55432}
db=${KB_PG_DB:-zhifakb_test}
user=zhifakb

log() { echo "postgres.sh: $*" >&2; }
die() { log "$*"; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
bindir() { find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1; }
# initdb and the server refuse to run as root: as root, run them as Debian's `postgres` user.
as_owner() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

install_postgres() {
  local bin
  bin=$(bindir)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] && return 0
  is_root || die "PostgreSQL is not installed; run this script as root or: sudo apt-get install postgresql"
  log "installing postgresql from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q postgresql >&2; then
    apt-get update -q >&2
    apt-get install -y -q postgresql >&2
  fi
  bin=$(bindir)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || die "apt-get installed postgresql but no initdb was found"
}

url() {
  [ -f "$dir/password" ] || die "no cluster in $dir; run: bash scripts/postgres.sh start"
  echo "postgresql+psycopg://$user:$(cat "$dir/password")@127.0.0.1:$port/$db"
}

start() {
  install_postgres
  local bin
  bin=$(bindir)
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    chmod 700 "$dir"
    if is_root; then chown postgres:postgres "$dir"; fi
    # A random password for the test role; the socket (in $dir, mode 700) is trusted for setup.
    as_owner sh -c "umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > '$dir/password'"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  fi
  if ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    log "starting PostgreSQL ($(basename "$(dirname "$bin")")) in $dir on 127.0.0.1:$port"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
      "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >&2 || { tail -n 20 "$dir/server.log" >&2; die "the server did not start (port $port taken? set KB_PG_PORT)"; }
  fi
  local psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres)
  if [ "$(as_owner "${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != 1 ]; then
    as_owner "${psql[@]}" -c "CREATE ROLE $user LOGIN PASSWORD '$(cat "$dir/password")'" >&2
  fi
  if [ "$(as_owner "${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    as_owner "${psql[@]}" -c "CREATE DATABASE $db OWNER $user" >&2
  fi
  url
}

stop() {
  local bin
  bin=$(bindir)
  if [ -n "$bin" ] && [ -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$dir"
}

case "${1:-start}" in
  start) start ;;
  url) url ;;
  stop) stop ;;
  *) die "usage: bash scripts/postgres.sh [start|url|stop]" ;;
esac
