#!/usr/bin/env bash
# A second MariaDB, writing a ROW binary log, for the binlog tests: started from the installed Debian
# package with its data under a temporary folder, on 127.0.0.1:$BINLOG_SOURCE_PORT (3307). Reuses one
# that already answers. Prints the URL the tests read from TEST_BINLOG_SOURCE_URL.
#   eval "$(bash .ci/binlog-server.sh)"        # starts it if needed, then exports TEST_BINLOG_SOURCE_URL
#   bash .ci/binlog-server.sh stop             # stops the one this script started
set -euo pipefail

port="${BINLOG_SOURCE_PORT:-3307}"
dir="${BINLOG_SOURCE_DIR:-${TMPDIR:-/tmp}/mysql-to-postgres-binlog-$port}"
database="${BINLOG_SOURCE_DATABASE:-binlog_test}"
client=(mariadb --no-defaults --protocol=socket --socket="$dir/sock" -uroot)

up() { "${client[@]}" -e 'SELECT 1' >/dev/null 2>&1; }

if [ "${1:-}" = stop ]; then
  if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; fi
  exit 0
fi

if ! up; then
  mkdir -p "$dir/binlog"
  if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" \
      --auth-root-authentication-method=socket >"$dir/install.log" 2>&1 ||
      { cat "$dir/install.log" >&2; exit 1; }
  fi
  # --no-defaults: nothing from /etc/mysql (its port, socket and pid file are the shared server's).
  # ROW format with FULL images is what binlog runs require; the server id is this server's own.
  setsid mariadbd --no-defaults --datadir="$dir/data" --user="$(id -un)" \
    --bind-address=127.0.0.1 --port="$port" --socket="$dir/sock" --pid-file="$dir/pid" \
    --log-error="$dir/error.log" --skip-name-resolve \
    --log-bin="$dir/binlog/mariadb-bin" --binlog-format=ROW --binlog-row-image=FULL --server-id=7301 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --innodb-buffer-pool-size=64M --max-connections=200 </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 60); do
    if up; then break; fi
    sleep 0.5
  done
  up || { echo "The binlog MariaDB did not come up on port $port; its log:" >&2; tail -20 "$dir/error.log" >&2; exit 1; }
fi

# Over TCP as root without a password, like the shared server; the tests create and drop their tables here.
"${client[@]}" -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
  GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
  CREATE DATABASE IF NOT EXISTS \`$database\`;"
echo "export TEST_BINLOG_SOURCE_URL=mysql://root@127.0.0.1:$port/$database"
