#!/usr/bin/env bash
# pg.sh - a private PostgreSQL cluster in a directory: no TCP, one unix socket
# inside the directory. As root the server runs as the `postgres` OS user
# (PostgreSQL refuses root); otherwise as the calling user.
#
#   pg.sh start DIR [--fast]   initdb on first use, start, create db "lmnas"
#   pg.sh stop DIR             fast shutdown (waits)
#   pg.sh status DIR           exit 0 when running
#   pg.sh url DIR              print the libpq connection URL
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || {
	echo "usage: pg.sh start|stop|status|url DIR [--fast]" >&2
	exit 2
}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x $bindir/pg_ctl ]] || {
	echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
	exit 1
}
if [[ ${#dir} -gt 90 ]]; then
	echo "pg.sh: $dir is too long for a unix socket path" >&2
	exit 1
fi

as_owner() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

url() { echo "postgresql:///lmnas?host=$dir&user=lmnas"; }

case $cmd in
start)
	[[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
	if [[ ! -f $dir/data/PG_VERSION ]]; then
		as_owner "$bindir/initdb" -D "$dir/data" -U lmnas -A trust -E UTF8 \
			--no-locale >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			exit 1
		}
	fi
	opts="-c listen_addresses='' -c unix_socket_directories='$dir'"
	[[ ${3:-} == --fast ]] && opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
			-o "$opts" -w -t 60 start >/dev/null || {
			tail -n 20 "$dir/postgres.log" >&2
			exit 1
		}
	fi
	if ! as_owner "$bindir/psql" -h "$dir" -U lmnas -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname='lmnas'" | grep -q 1; then
		as_owner "$bindir/createdb" -h "$dir" -U lmnas lmnas
	fi
	;;
stop)
	if [[ -f $dir/data/PG_VERSION ]] &&
		as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
	fi
	;;
status)
	as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
	;;
url) url ;;
*)
	echo "pg.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
