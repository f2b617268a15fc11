#!/usr/bin/env bash
# The spatial tests create the postgis extension in their own database. Make sure the PostgreSQL
# answering on 127.0.0.1:5432 can: install the Debian package of PostGIS for its major version
# when the extension is not available. Nothing is created here.
set -euo pipefail

query() { psql -h 127.0.0.1 -p 5432 -U "${PGUSER:-root}" -d postgres -Atc "$1"; }

available() { [ "$(query "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")" = 1 ]; }

if ! available; then
  major="$(query 'SHOW server_version_num' | cut -c1-2)"
  package="postgresql-${major}-postgis-3"
  echo "The spatial tests need PostGIS; installing $package with apt-get"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package"
  available || { echo "PostGIS is still not available to PostgreSQL $major after installing $package" >&2; exit 1; }
fi
echo "PostGIS is available: $(query "SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'")"
