#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume
# (/docker-entrypoint-initdb.d). One role per application, each owning only its databases, so
# a leaked OMS credential cannot touch Temporal's history and vice versa.
# temporal-setup.sh runs Temporal's schema tool against the two Temporal databases; it also
# creates them itself when pointed at a server this script never ran on.
set -eu
: "${PG_OMS_PASSWORD:?set PG_OMS_PASSWORD}"
: "${PG_TEMPORAL_PASSWORD:?set PG_TEMPORAL_PASSWORD}"

# psql variables (:'name') quote the passwords, so no value can break out of the statement.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v oms_password="$PG_OMS_PASSWORD" -v temporal_password="$PG_TEMPORAL_PASSWORD" <<'SQL'
CREATE ROLE oms LOGIN PASSWORD :'oms_password';
CREATE DATABASE oms OWNER oms;
-- The simulators' own state (sandbox gateway, carriers, WMS), never in the OMS schema.
CREATE DATABASE oms_sandbox OWNER oms;

CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
