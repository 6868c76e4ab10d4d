#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and CI (Debian's `postgresql`; no service manager, no root service).
#   scripts/pg-cluster.sh start DIR   -> initdb + pg_ctl start on a free port; prints the SQLAlchemy URL
#   scripts/pg-cluster.sh stop DIR    -> stops it (the directory is the caller's to delete)
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system user.
set -euo pipefail
cmd=${1:?start|stop}
dir=$(realpath -m "${2:?cluster directory}")
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (scripts/system-deps.sh --postgres)" >&2; exit 1; }
as_owner=()
[ "$(id -u)" -eq 0 ] && as_owner=(runuser -u postgres --)

case "$cmd" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U shopagent --auth=trust -E UTF8 --no-locale >"$dir/initdb.log"
  fi
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # fsync off: a throwaway cluster trades durability for test speed
  "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -s \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" start
  "${as_owner[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U shopagent shopagent
  echo "postgresql+psycopg://shopagent@127.0.0.1:$port/shopagent"
  ;;
stop)
  [ -s "$dir/data/postmaster.pid" ] && "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w -s stop
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
