#!/bin/sh
# bontrack's entry point (container and systemd alike): bring the schema to the newest
# migration with the database OWNER's credentials, then serve with the application's own
# (which need not be allowed to change the schema). /ready tells a load balancer when the
# server can take traffic.
#
#   DATABASE_URL          the server's database (URL, or for SQLite sqlite:////path/file.db)
#   BONTRACK_MIGRATE_URL  the owner's URL for migrations (default: DATABASE_URL)
#   BONTRACK_HOST         default 0.0.0.0          BONTRACK_PORT     default 8000
#   BONTRACK_WORKERS      default 2                BONTRACK_ACCESS_LOG=1 logs each request
#   BONTRACK_DB_WAIT      seconds to wait for the database to accept connections (default 60)
# Extra arguments are passed to `bontrack serve`.
set -eu

: "${DATABASE_URL:?set DATABASE_URL (see docs/deploy.md)}"
bontrack="${BONTRACK_BIN:-bontrack}"
migrate_url="${BONTRACK_MIGRATE_URL:-$DATABASE_URL}"
wait_s="${BONTRACK_DB_WAIT:-60}"

# The database may still be starting (compose starts both at once): retry the migration
# until it succeeds or the wait is over; the last error is shown.
start=$(date +%s)
until "$bontrack" db upgrade --db "$migrate_url"; do
  if [ $(( $(date +%s) - start )) -ge "$wait_s" ]; then
    echo "entrypoint: database not reachable or migration failed after ${wait_s} s" >&2
    exit 1
  fi
  sleep 2
done

set -- --no-migrate --db "$DATABASE_URL" --host "${BONTRACK_HOST:-0.0.0.0}" \
  --port "${BONTRACK_PORT:-8000}" --workers "${BONTRACK_WORKERS:-2}" "$@"
if [ -n "${BONTRACK_ACCESS_LOG:-}" ]; then
  set -- "$@" --access-log
fi
exec "$bontrack" serve "$@"
