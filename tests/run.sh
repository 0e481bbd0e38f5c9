#!/usr/bin/env bash
# run.sh - runs test binaries (cmocka, TAP output) two at a time, keeps each
# one's log under build/test-logs/, and ends with the line `N passed, N failed`.
# A binary that crashes or exits non-zero without a failing case counts as one
# failure; a skipped case is neither. Set TEST_FILTER=regex to run a subset,
# TEST_JOBS to change parallelism.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=${BUILD:-build}/test-logs
rm -rf "$logs"
mkdir -p "$logs"
jobs=${TEST_JOBS:-$(nproc)}
bins=()
for b in "$@"; do
	[[ -n ${TEST_FILTER:-} && ! $b =~ $TEST_FILTER ]] && continue
	bins+=("$b")
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
printf '%s\n' "${bins[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}

passed=0
failed=0
for b in "${bins[@]}"; do
	name=$(basename "$b")
	log=$logs/$name.log
	read -r rc secs <"$log.rc"
	p=$(grep -cE '^ok [0-9]+' "$log")
	# cmocka's TAP prints a skipped case as "not ok N # SKIP": not a failure
	f=$(grep -E '^not ok [0-9]+' "$log" | grep -vc '# SKIP')
	s=$(grep -cE '^not ok [0-9]+ # SKIP' "$log")
	if [[ $rc -ne 0 && $f -eq 0 ]]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [[ $f -gt 0 ]]; then
		printf 'FAIL %-40s %3d passed %3d failed %6.1fs (log: %s)\n' "$name" "$p" "$f" "$secs" "$log"
		grep -E '^not ok|ERROR|error:|Sanitizer|runtime error' "$log" | head -n 30 | sed 's/^/     /'
	else
		printf 'ok   %-40s %3d passed %6.1fs%s\n' "$name" "$p" "$secs" \
			"$([[ $s -gt 0 ]] && echo " ($s skipped)")"
	fi
done
echo "total time $(($(date +%s) - start_all))s"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
