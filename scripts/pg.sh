#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# pg.sh - a private PostgreSQL cluster in a directory: no TCP, one unix socket
# inside the directory, and only the OS user that started it gets in. As root
# the server runs as the `postgres` OS user (PostgreSQL refuses root);
# otherwise as the calling user.
#
#   pg.sh start DIR [--fast] [--createdb]
#                              initdb on first use, start, create role and
#                              database "lmnas"; --fast: no fsync (tests);
#                              --createdb: the lmnas role may create databases
#                              (the tests make one per case)
#   pg.sh stop DIR             fast shutdown (waits)
#   pg.sh status DIR           exit 0 when running
#   pg.sh url DIR              print the libpq connection URL
#
# Who gets in: DIR is mode 0700 (owned by the server's OS user), the socket is
# 0700, and pg_hba.conf admits only peer-authenticated unix-socket connections
# through the map in pg_ident.conf: the OS user that runs `pg.sh start` (and
# then lmnas) connects as the role `lmnas`, and the server's OS user as the
# cluster's superuser `postgres` (for pg.sh's own administration).
# Root reaches a socket owned by `postgres` through its DAC override. The role
# `lmnas` is not a superuser: it owns its database, which is all that the
# migrations need.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || {
	echo "usage: pg.sh start|stop|status|url DIR [--fast] [--createdb]" >&2
	exit 2
}
fast=0
createdb=NOCREATEDB
for opt in "${@:3}"; do
	case $opt in
	--fast) fast=1 ;;
	--createdb) createdb=CREATEDB ;;
	*)
		echo "pg.sh: unknown option $opt" >&2
		exit 2
		;;
	esac
done
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

client_user=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
	server_user=postgres
else
	server_user=$client_user
fi
admin=postgres # the cluster's superuser: the server's OS user, by peer auth

as_owner() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Runs SQL as the superuser in database postgres; prints the result.
admin_sql() {
	as_owner "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -U "$admin" \
		-d postgres -tAc "$1"
}

url() { echo "postgresql:///lmnas?host=$dir&user=lmnas"; }

# Rewritten at every start, so that the rules are always these.
write_auth() {
	local hba=$dir/data/pg_hba.conf ident=$dir/data/pg_ident.conf
	as_owner tee "$hba" >/dev/null <<HBA
# lmnas: written by scripts/pg.sh at every start (edits are lost).
# Unix socket only (the server listens on no TCP address), peer
# authentication through the map "lmnas" in pg_ident.conf.
local all all peer map=lmnas
HBA
	as_owner tee "$ident" >/dev/null <<IDENT
# lmnas: written by scripts/pg.sh at every start (edits are lost).
# MAPNAME OS-USER           DATABASE-ROLE
lmnas     $server_user      $admin
lmnas     $client_user      lmnas
IDENT
}

case $cmd in
start)
	chmod 0700 "$dir"
	[[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
	if [[ ! -f $dir/data/PG_VERSION ]]; then
		as_owner "$bindir/initdb" -D "$dir/data" -U "$admin" \
			--auth-local=peer --auth-host=reject -E UTF8 \
			--no-locale >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			exit 1
		}
	elif ! grep -q '^# lmnas: written by scripts/pg.sh' "$dir/data/pg_hba.conf" 2>/dev/null; then
		# made by an older pg.sh: trust auth, and `lmnas` is its
		# bootstrap superuser, which PostgreSQL cannot demote
		cat >&2 <<MSG
pg.sh: $dir was made by an older pg.sh: trust authentication, and lmnas is
its superuser (any local user could connect as lmnas). It is left as it was.
To keep its data: start it once by hand as its owner
  $bindir/pg_ctl -D $dir/data -o "-c listen_addresses='' -c unix_socket_directories='$dir'" -w start
dump it (pg_dump -h $dir -U lmnas lmnas > lmnas.sql), stop it
(bash scripts/pg.sh stop $dir), move $dir aside, run pg.sh start again and
restore (psql -h $dir -U lmnas lmnas < lmnas.sql).
MSG
		exit 1
	fi
	write_auth
	opts="-c listen_addresses='' -c unix_socket_directories='$dir'"
	opts+=" -c unix_socket_permissions=0700"
	[[ $fast -eq 1 ]] && opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
			-o "$opts" -w -t 60 start >/dev/null || {
			tail -n 20 "$dir/postgres.log" >&2
			exit 1
		}
	else
		as_owner "$bindir/pg_ctl" -D "$dir/data" reload >/dev/null
	fi
	if [[ -z $(admin_sql "SELECT 1 FROM pg_roles WHERE rolname = 'lmnas'") ]]; then
		admin_sql "CREATE ROLE lmnas LOGIN NOSUPERUSER $createdb NOCREATEROLE NOREPLICATION NOBYPASSRLS"
	else
		admin_sql "ALTER ROLE lmnas LOGIN NOSUPERUSER $createdb NOCREATEROLE NOREPLICATION NOBYPASSRLS"
	fi
	if [[ -z $(admin_sql "SELECT 1 FROM pg_database WHERE datname = 'lmnas'") ]]; then
		admin_sql "CREATE DATABASE lmnas OWNER lmnas"
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
