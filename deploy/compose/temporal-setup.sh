#!/usr/bin/env bash
# One-off job (temporalio/admin-tools): bring Temporal's two databases to the schema version the
# pinned server expects. Safe to run on every `docker compose up`: each step checks first.
# This replaces the deprecated temporalio/auto-setup image, which did the same inside the server
# container on every start.
set -euo pipefail

: "${SQL_HOST:=postgres}" "${SQL_PORT:=5432}" "${SQL_USER:=temporal}"
: "${SQL_PASSWORD:?set SQL_PASSWORD}"   # temporal-sql-tool reads it from the environment too
export PGHOST="$SQL_HOST" PGPORT="$SQL_PORT" PGUSER="$SQL_USER" PGPASSWORD="$SQL_PASSWORD"
SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12   # shipped in the image, matches its version

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$SQL_HOST" -p "$SQL_PORT" -u "$SQL_USER" "$@"
}

migrate() {
  local db="$1" schema="$2"
  if [[ -z "$(psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
    echo "creating database $db"
    sql_tool --db "$db" create
  fi
  # setup-schema writes version 0.0; run it only on a database that has never been versioned.
  if [[ "$(psql -d "$db" -tAc "SELECT to_regclass('schema_version') IS NOT NULL")" != "t" ]]; then
    sql_tool --db "$db" setup-schema -v 0.0
  fi
  # Applies only the versions newer than the recorded one.
  sql_tool --db "$db" update-schema -d "$SCHEMA_ROOT/$schema/versioned"
}

migrate temporal temporal
migrate temporal_visibility visibility
echo "temporal schema is current"
