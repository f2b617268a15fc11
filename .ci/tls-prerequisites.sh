#!/usr/bin/env bash
# The TLS tests (test/integration/tls.test.ts) start a PostgreSQL and a MariaDB of their own, with
# a CA made by openssl, from the server packages' programs. Make sure those programs are here;
# install the Debian packages that hold them when they are not. Nothing is started here.
set -euo pipefail

pg_bin() {
  if command -v pg_config >/dev/null 2>&1; then pg_config --bindir; else ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; fi
}

missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
bin="$(pg_bin || true)"
{ [ -n "$bin" ] && [ -x "$bin/initdb" ] && [ -x "$bin/postgres" ]; } || missing+=(postgresql)
{ command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; } || missing+=(mariadb-server)
command -v mariadb-install-db >/dev/null 2>&1 || missing+=(mariadb-server)
# As root, the tests run PostgreSQL as the account its package creates.
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then missing+=(postgresql); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "The TLS tests need: ${missing[*]}; installing with apt-get"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u)
fi
echo "TLS test servers can be made: openssl, $(pg_bin)/initdb, mariadbd, mariadb-install-db"
