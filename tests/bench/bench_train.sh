#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_train.sh - lmnas' training step against PyTorch's on the same
# architectures (tests/bench/archs/*.json), same batch, same thread count:
# tests/bench/bench_train.c and tools/bench_train_torch.py run ALTERNATELY
# (lmnas, PyTorch tuned, PyTorch default, lmnas, ...), each in its own process
# so that the peak RSS is per process.
#
# PyTorch runs twice per round:
# - tuned: its best CPU configuration, channels_last and glibc malloc told to
#   keep its big buffers (MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ /
#   MALLOC_TOP_PAD_, the caching-allocator setting of PyTorch's CPU tuning
#   guides). Without it glibc returns PyTorch's activation buffers to the OS
#   every step and the page faults that follow cost PyTorch 10-50% on a VM;
#   the ratio lmnas / tuned is the honest one.
# - default: the same channels_last model with glibc's default malloc (what a
#   plain `python3 train.py` gets), printed beside it.
#
# Prints every run, then per architecture the median images/s of each engine,
# the ratios lmnas/PyTorch of the medians, the median CPU time per step, the
# images/s of each one's fastest step over all rounds (best_*: the least
# disturbed by other work on the machine) and the peak RSS (median). The last
# lmnas run of each architecture also prints its per-layer-kind profile. The
# load average is printed at the start and at the end: the figures are only
# as quiet as the machine was. Called by `make bench-train` and `make bench`.
#
# Environment: BUILD (build dir, default build), BENCH_ROUNDS (runs of each
# engine per architecture, default 3), BENCH_THREADS (default 2),
# BENCH_WARMUP / BENCH_STEPS (default 3 / 10), PYTHON (default
# /usr/bin/python3). Without PyTorch only lmnas runs.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
WARMUP=${BENCH_WARMUP:-3}
STEPS=${BENCH_STEPS:-10}
PYTHON=${PYTHON:-/usr/bin/python3}
BIN=$BUILD/release/tests/bench/bench_train
# the caching-allocator setting of the tuned PyTorch runs (see above)
TUNED_ENV=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184
	MALLOC_TOP_PAD_=1073741824)

# name, architecture file, batch
CASES=(
	"cifar32 tests/bench/archs/cifar_mbconv.json 128"
	"paper160 tests/bench/archs/paper_mbconv160.json 64"
)

if [[ ! -x $BIN ]]; then
	echo "bench_train.sh: $BIN is missing (make bench-train builds it)" >&2
	exit 1
fi
torch=1
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
	echo "bench_train.sh: $PYTHON cannot import torch: lmnas only"
	torch=0
fi

# field NAME from a result line
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan";
	else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
# images/s of the fastest step among best_ms values on stdin, batch $1
best_ips() { sort -g | head -1 | awk -v n="$1" 'NF {printf "%.1f", n * 1000 / $1}
	END {if (!NR) print "nan"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (b + 0 > 0 && a + 0 > 0)
	printf "%.2f", a/b; else print "nan"}'; }

echo "training step, lmnas vs PyTorch $($PYTHON -c 'import torch;
print(torch.__version__)' 2>/dev/null || echo '-'), $THREADS threads," \
	"$WARMUP warm-up + $STEPS timed steps, $ROUNDS alternating rounds;" \
	"$(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "PyTorch tuned: channels_last + ${TUNED_ENV[*]}"
echo "PyTorch default: channels_last, glibc malloc defaults"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
summary=()
# run ENGINE: appends ENGINE's figures to the arrays named after it
run_engine() {
	local engine=$1 out rc
	case $engine in
	lmnas)
		local prof=()
		((r == ROUNDS)) && prof=(--profile)
		out=$("$BIN" "$arch" --batch "$batch" --threads "$THREADS" \
			--warmup "$WARMUP" --steps "$STEPS" "${prof[@]}")
		;;
	tuned)
		out=$(env "${TUNED_ENV[@]}" "$PYTHON" tools/bench_train_torch.py \
			"$arch" --batch "$batch" --threads "$THREADS" \
			--warmup "$WARMUP" --steps "$STEPS")
		;;
	default)
		out=$("$PYTHON" tools/bench_train_torch.py "$arch" \
			--batch "$batch" --threads "$THREADS" \
			--warmup "$WARMUP" --steps "$STEPS")
		;;
	esac
	rc=$?
	if [[ $engine == lmnas ]]; then
		echo "$out"
	else
		echo "$out" | sed "s/^torch /torch-$engine /"
	fi
	if ((rc != 0)); then
		echo "bench_train.sh: $engine failed on $arch (exit $rc)"
		status=1
		return
	fi
	line=$(head -1 <<<"$out")
	eval "${engine}_ips+=(\"\$(field img_s \"\$line\")\")"
	eval "${engine}_rss+=(\"\$(field peak_rss_mib \"\$line\")\")"
	eval "${engine}_cpu+=(\"\$(field cpu_ms \"\$line\")\")"
	eval "${engine}_best+=(\"\$(field best_ms \"\$line\")\")"
	[[ $engine == lmnas ]] && res=$(field res "$line")
}
engines=(lmnas)
((torch)) && engines+=(tuned default)
for c in "${CASES[@]}"; do
	read -r name arch batch <<<"$c"
	res=-
	for e in lmnas tuned default; do
		eval "${e}_ips=() ${e}_rss=() ${e}_cpu=() ${e}_best=()"
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		for e in "${engines[@]}"; do
			run_engine "$e"
		done
	done
	declare -A ips=() best=() cpu=() rss=()
	for e in lmnas tuned default; do
		eval "vals=(\"\${${e}_ips[@]}\")"
		ips[$e]=$(printf '%s\n' "${vals[@]}" | grep . | median)
		eval "vals=(\"\${${e}_best[@]}\")"
		best[$e]=$(printf '%s\n' "${vals[@]}" | grep . | best_ips "$batch")
		eval "vals=(\"\${${e}_cpu[@]}\")"
		cpu[$e]=$(printf '%s\n' "${vals[@]}" | grep . | median)
		eval "vals=(\"\${${e}_rss[@]}\")"
		rss[$e]=$(printf '%s\n' "${vals[@]}" | grep . | median)
	done
	summary+=("$(printf '%-8s %5s %4s | %7s %7s %7s %6s %6s | %7s %7s %7s %6s %6s | %6s %6s %6s | %6s %6s %6s' \
		"$name" "$batch" "$res" \
		"${ips[lmnas]}" "${ips[tuned]}" "${ips[default]}" \
		"$(ratio "${ips[lmnas]}" "${ips[tuned]}")" \
		"$(ratio "${ips[lmnas]}" "${ips[default]}")" \
		"${best[lmnas]}" "${best[tuned]}" "${best[default]}" \
		"$(ratio "${best[lmnas]}" "${best[tuned]}")" \
		"$(ratio "${best[lmnas]}" "${best[default]}")" \
		"${cpu[lmnas]}" "${cpu[tuned]}" "${cpu[default]}" \
		"${rss[lmnas]}" "${rss[tuned]}" "${rss[default]}")")
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "medians of $ROUNDS runs each. ips: images/s (higher is better);" \
	"best: images/s of the fastest step of all runs; x_tun / x_def: lmnas" \
	"divided by PyTorch tuned / default; cpu: CPU ms per step and rss: peak" \
	"RSS MiB (lower is better); lmn = lmnas, tun = PyTorch tuned, def =" \
	"PyTorch default"
printf '%-8s %5s %4s | %7s %7s %7s %6s %6s | %7s %7s %7s %6s %6s | %6s %6s %6s | %6s %6s %6s\n' \
	case batch res ips_lmn ips_tun ips_def x_tun x_def \
	bst_lmn bst_tun bst_def x_tun x_def cpu_lmn cpu_tun cpu_def \
	rss_lmn rss_tun rss_def
printf '%s\n' "${summary[@]}"
exit $status
