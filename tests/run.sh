#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh - runs test binaries (cmocka, TAP output) two at a time, keeps each
# one's log under build/test-logs/, and ends with the line
# `N passed, N failed, N skipped`. A binary that crashes or exits non-zero
# without a failing case counts as one failure. Set TEST_FILTER=regex to run a
# subset, TEST_JOBS to change parallelism.
#
# `--node FILE...` after the binaries: Node test files (tests/contract/),
# run with `node --test --test-reporter=tap` after the binaries; their
# passes, failures and skips count in the closing line like the C ones (a
# skip is allowed when LMNAS_ALLOWED_SKIPS is unset or names `contract`), and
# node exiting non-zero without a failing test counts as one failure.
# TEST_FILTER applies to their paths too.
#
# Skips: a test that skips prints why first (a line `SKIP: reason`, any case)
# and run.sh shows that reason on the binary's summary line. A skip without a
# reason is a failure. LMNAS_ALLOWED_SKIPS, when set, lists the skips that are
# expected (binary names or binary:case, separated by spaces or commas); any
# other skip is then counted as a failure, so CI (.ci/run sets it, empty)
# fails when a toolchain or data set it should have is missing. Unset, every
# skip with a reason is allowed (a developer machine without QEMU).
set -uo pipefail
cd "$(dirname "$0")/.."
logs=${BUILD:-build}/test-logs
rm -rf "$logs"
mkdir -p "$logs"
jobs=${TEST_JOBS:-$(nproc)}
bins=()
node_tests=()
into=bins
for b in "$@"; do
	if [[ $b == --node ]]; then
		into=node_tests
		continue
	fi
	[[ -n ${TEST_FILTER:-} && ! $b =~ $TEST_FILTER ]] && continue
	if [[ $into == bins ]]; then
		bins+=("$b")
	else
		node_tests+=("$b")
	fi
done
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export LMNAS_ROOT=$PWD
export LMNAS_TEST_LOGS=$logs
export LMNAS_BUILD=$PWD/${BUILD:-build}

run_one() {
	local b=$1 name log start rc
	name=$(basename "$b")
	log=$LMNAS_TEST_LOGS/$name.log
	start=$(date +%s.%N)
	"$b" >"$log" 2>&1
	rc=$?
	echo "$rc $(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN{printf "%.2f", a-b}')" >"$log.rc"
}
export -f run_one
start_all=$(date +%s)
[[ ${#bins[@]} -gt 0 ]] &&
	printf '%s\n' "${bins[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}

# allowed NAME CASE: 0 when LMNAS_ALLOWED_SKIPS is unset or names the
# binary or binary:case
allowed() {
	[[ -z ${LMNAS_ALLOWED_SKIPS+set} ]] && return 0
	local w
	for w in ${LMNAS_ALLOWED_SKIPS//,/ }; do
		[[ $w == "$1" || $w == "$1:$2" ]] && return 0
	done
	return 1
}

passed=0
failed=0
skipped=0
for b in "${bins[@]}"; do
	name=$(basename "$b")
	log=$logs/$name.log
	read -r rc secs <"$log.rc"
	p=$(grep -cE '^ok [0-9]+' "$log")
	# cmocka's TAP prints a skipped case as "not ok N # SKIP name": not a
	# failure in itself
	f=$(grep -E '^not ok [0-9]+' "$log" | grep -vc '# SKIP')
	s=0
	bad=()
	reasons=$(grep -ioE '^(# )?skip: .*' "$log" | sed -E 's/^(# )?[sS][kK][iI][pP]: //' |
		sort -u | paste -sd ';' -)
	while read -r case; do
		[[ -z $case ]] && continue
		if [[ -z $reasons ]]; then
			bad+=("$case skipped without saying why (print 'SKIP: reason' first)")
		elif ! allowed "$name" "$case"; then
			bad+=("$case skipped, not in LMNAS_ALLOWED_SKIPS: $reasons")
		else
			s=$((s + 1))
		fi
	done < <(sed -nE 's/^not ok [0-9]+ # SKIP ?(.*)/\1/p' "$log")
	f=$((f + ${#bad[@]}))
	if [[ $rc -ne 0 && $f -eq 0 ]]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	skipnote=""
	[[ $s -gt 0 ]] && skipnote=" ($s skipped: $reasons)"
	if [[ $f -gt 0 ]]; then
		printf 'FAIL %-40s %3d passed %3d failed %6.1fs (log: %s)%s\n' \
			"$name" "$p" "$f" "$secs" "$log" "$skipnote"
		for m in "${bad[@]}"; do
			echo "     $m"
		done
		grep -E '^not ok|ERROR|error:|Sanitizer|runtime error' "$log" |
			grep -v '# SKIP' | head -n 30 | sed 's/^/     /'
	else
		printf 'ok   %-40s %3d passed %6.1fs%s\n' "$name" "$p" "$secs" \
			"$skipnote"
	fi
done

# The Node tests, after the C ones (they start lmnas serve and a PostgreSQL of
# their own): counted from node's TAP summary (`# pass N`, `# fail N`,
# `# cancelled N`, `# skipped N`, `# todo N`).
if [[ ${#node_tests[@]} -gt 0 ]]; then
	log=$logs/contract.log
	start=$(date +%s.%N)
	if command -v node >/dev/null; then
		node --test --test-reporter=tap "${node_tests[@]}" >"$log" 2>&1
		rc=$?
	else
		echo "node not found (scripts/deps.sh installs nodejs)" >"$log"
		rc=127
	fi
	secs=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN{printf "%.2f", a-b}')
	# tapn NAME: the number of node's closing `# NAME N` line, 0 without one
	tapn() {
		local v
		v=$(sed -nE "s/^# $1 ([0-9]+)\$/\1/p" "$log" | tail -n 1)
		echo "${v:-0}"
	}
	p=$(tapn pass)
	f=$(($(tapn fail) + $(tapn cancelled)))
	s=$(($(tapn skipped) + $(tapn todo)))
	skipnote=""
	if [[ $s -gt 0 ]]; then
		reasons=$(sed -nE 's/.*# (SKIP|TODO) ?//p' "$log" | sort -u | paste -sd ';' -)
		if allowed contract ""; then
			skipnote=" ($s skipped: $reasons)"
		else
			echo "     $s Node tests skipped, not in LMNAS_ALLOWED_SKIPS: $reasons"
			f=$((f + s))
			s=0
		fi
	fi
	[[ $rc -ne 0 && $f -eq 0 ]] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	if [[ $f -gt 0 ]]; then
		printf 'FAIL %-40s %3d passed %3d failed %6.1fs (log: %s)%s\n' \
			"contract (node --test)" "$p" "$f" "$secs" "$log" "$skipnote"
		grep -E '^\s*not ok|^\s*(error|message|expected|actual):|Error' "$log" |
			grep -v '# SKIP' | head -n 40 | sed 's/^/     /'
	else
		printf 'ok   %-40s %3d passed %6.1fs%s\n' "contract (node --test)" "$p" \
			"$secs" "$skipnote"
	fi
fi
echo "total time $(($(date +%s) - start_all))s"
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 && $passed -gt 0 ]]
