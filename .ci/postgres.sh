# shellcheck shell=bash
# Start a throw-away PostgreSQL cluster on loopback for the test suite.
# Source it: it exports NEGOSCOPE_TEST_DATABASE_URL and stops the cluster on exit.
# Usage: source .ci/postgres.sh [port]
set -euo pipefail
# A free loopback port unless one is given.
NEGOSCOPE_PG_PORT="${1:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
NEGOSCOPE_PG_DIR="$(mktemp -d /tmp/negoscope-pg.XXXXXX)"
chown postgres:postgres "$NEGOSCOPE_PG_DIR"
# initdb refuses to run as root: the cluster belongs to the postgres user.
runuser -u postgres -- "$PGBIN/initdb" -D "$NEGOSCOPE_PG_DIR/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$NEGOSCOPE_PG_DIR/data" -l "$NEGOSCOPE_PG_DIR/log" -w \
  -o "-p $NEGOSCOPE_PG_PORT -k $NEGOSCOPE_PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
negoscope_pg_stop() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$NEGOSCOPE_PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$NEGOSCOPE_PG_DIR"
}
trap negoscope_pg_stop EXIT
"$PGBIN/psql" -q -h 127.0.0.1 -p "$NEGOSCOPE_PG_PORT" -U postgres -d postgres \
  -c "CREATE ROLE negoscope LOGIN PASSWORD 'negoscope' CREATEDB" \
  -c "GRANT pg_signal_backend TO negoscope" \
  -c "CREATE DATABASE negoscope_test OWNER negoscope"
export NEGOSCOPE_TEST_DATABASE_URL="postgresql+psycopg://negoscope:negoscope@127.0.0.1:$NEGOSCOPE_PG_PORT/negoscope_test"
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$NEGOSCOPE_PG_PORT"
