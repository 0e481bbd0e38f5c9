#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh - runs each benchmark binary given as an argument, one after the
# other (figures are printed, not asserted), with its output under a header.
# Exits non-zero when a benchmark fails. Called by `make bench`.
set -uo pipefail
cd "$(dirname "$0")/../.."
export LMNAS_ROOT=$PWD
status=0
for b in "$@"; do
	echo "== $(basename "$b")"
	start=$(date +%s.%N)
	"$b"
	rc=$?
	secs=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN{printf "%.1f", a-b}')
	if [[ $rc -ne 0 ]]; then
		echo "== $(basename "$b") FAILED (exit $rc, ${secs}s)"
		status=1
	else
		echo "== $(basename "$b") done (${secs}s)"
	fi
done
exit $status
