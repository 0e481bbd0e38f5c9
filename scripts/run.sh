#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh - `make run`: a private PostgreSQL under ./var/pg (unless
# LMNAS_DATABASE_URL points elsewhere), migrations, then `lmnas serve` with
# one job worker (LMNAS_WORKERS, default 1 here), so that a job submitted to
# the API runs without a separate `lmnas worker`.
# Ctrl-C stops lmnas (gracefully) and then the private cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/release/lmnas
private=0
if [[ -z ${LMNAS_DATABASE_URL:-} ]]; then
	private=1
	bash scripts/pg.sh start var/pg
	LMNAS_DATABASE_URL=$(bash scripts/pg.sh url var/pg)
	export LMNAS_DATABASE_URL
fi
"$bin" migrate
listen=${LMNAS_LISTEN:-127.0.0.1:8080}
export LMNAS_WORKERS=${LMNAS_WORKERS:-1}
echo "lmnas: serving on http://$listen/ with $LMNAS_WORKERS job worker(s) (Ctrl-C to stop)"
"$bin" serve &
pid=$!
stop() { kill -TERM "$pid" 2>/dev/null || true; }
trap stop INT TERM
rc=0
wait "$pid" || rc=$?
# a trapped signal interrupts the first wait (status > 128): wait again for
# lmnas' own exit status after its graceful shutdown
if [[ $rc -gt 128 ]]; then
	rc=0
	wait "$pid" || rc=$?
fi
if [[ $private -eq 1 ]]; then
	bash scripts/pg.sh stop var/pg
	echo "lmnas: stopped lmnas and the private PostgreSQL"
fi
exit "$rc"
