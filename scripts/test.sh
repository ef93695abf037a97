#!/usr/bin/env bash
# Runs pytest against a throwaway PostgreSQL database (starting the server if it is down).
set -euo pipefail
cd "$(dirname "$0")/.."

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
export PGHOST PGPORT PGUSER

pg_up() { pg_isready -h "$PGHOST" -p "$PGPORT" -q 2>/dev/null; }

if command -v pg_isready >/dev/null && ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n1)
    echo "PostgreSQL is down; starting cluster $version/main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
  fi
fi

if pg_up; then
  db="oms_test_$(date +%s)_$$"
  psql -q -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
  trap 'psql -q -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
  export OMS_TEST_POSTGRES_URL="postgresql+asyncpg://$PGUSER@$PGHOST:$PGPORT/$db"
  echo "PostgreSQL test database: $db"
else
  echo "PostgreSQL is not available: PostgreSQL tests will be skipped" >&2
fi

status=0
.venv/bin/pytest "$@" || status=$?
# pytest exits 5 when a marker selects nothing; that is not a failure of the suite.
if [ "$status" -eq 5 ]; then status=0; fi
exit "$status"
