#!/usr/bin/env bash
# bench_train.sh - lmnas' training step against PyTorch's on the same
# architectures (tests/bench/archs/*.json), same batch, same thread count:
# tests/bench/bench_train.c and tools/bench_train_torch.py run ALTERNATELY
# (lmnas, torch, lmnas, torch, ...), each in its own process so that the
# peak RSS is per process. Prints every run, then per architecture the median
# images/s of each, the ratio lmnas/PyTorch of the medians, the median CPU
# time per step of each, the images/s of each one's fastest step over all
# rounds (best_*: the least disturbed by other work on the machine) and the
# peak RSS of each (median). The last lmnas run of each architecture also prints its
# per-layer-kind profile. Called by `make bench-train` and `make bench`.
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

echo "training step, lmnas vs PyTorch $($PYTHON -c 'import torch;
print(torch.__version__)' 2>/dev/null || echo '-'), $THREADS threads," \
	"$WARMUP warm-up + $STEPS timed steps, $ROUNDS alternating rounds;" \
	"$(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
summary=()
for c in "${CASES[@]}"; do
	read -r name arch batch <<<"$c"
	ours_ips=() ours_rss=() ours_cpu=() ours_best=() torch_ips=()
	torch_rss=() torch_cpu=() torch_best=()
	for ((r = 1; r <= ROUNDS; r++)); do
		prof=()
		((r == ROUNDS)) && prof=(--profile)
		out=$("$BIN" "$arch" --batch "$batch" --threads "$THREADS" \
			--warmup "$WARMUP" --steps "$STEPS" "${prof[@]}")
		rc=$?
		echo "$out"
		if ((rc != 0)); then
			echo "bench_train.sh: lmnas failed on $arch (exit $rc)"
			status=1
			continue
		fi
		line=$(head -1 <<<"$out")
		ours_ips+=("$(field img_s "$line")")
		ours_rss+=("$(field peak_rss_mib "$line")")
		ours_cpu+=("$(field cpu_ms "$line")")
		ours_best+=("$(field best_ms "$line")")
		((torch)) || continue
		out=$("$PYTHON" tools/bench_train_torch.py "$arch" \
			--batch "$batch" --threads "$THREADS" \
			--warmup "$WARMUP" --steps "$STEPS")
		rc=$?
		echo "$out"
		if ((rc != 0)); then
			echo "bench_train.sh: torch failed on $arch (exit $rc)"
			status=1
			continue
		fi
		torch_ips+=("$(field img_s "$out")")
		torch_rss+=("$(field peak_rss_mib "$out")")
		torch_cpu+=("$(field cpu_ms "$out")")
		torch_best+=("$(field best_ms "$out")")
	done
	oi=$(printf '%s\n' "${ours_ips[@]}" | median)
	orss=$(printf '%s\n' "${ours_rss[@]}" | median)
	ocpu=$(printf '%s\n' "${ours_cpu[@]}" | median)
	obest=$(printf '%s\n' "${ours_best[@]}" | sort -g | head -1 |
		awk -v n="$batch" '{printf "%.1f", n * 1000 / $1}')
	ti=nan trss=nan tcpu=nan tbest=nan ratio=nan rssratio=nan bratio=nan
	if ((torch)) && ((${#torch_ips[@]})); then
		ti=$(printf '%s\n' "${torch_ips[@]}" | median)
		trss=$(printf '%s\n' "${torch_rss[@]}" | median)
		tcpu=$(printf '%s\n' "${torch_cpu[@]}" | median)
		tbest=$(printf '%s\n' "${torch_best[@]}" | sort -g | head -1 |
			awk -v n="$batch" '{printf "%.1f", n * 1000 / $1}')
		bratio=$(awk -v a="$obest" -v b="$tbest" \
			'BEGIN{printf "%.2f", a/b}')
		ratio=$(awk -v a="$oi" -v b="$ti" 'BEGIN{printf "%.2f", a/b}')
		rssratio=$(awk -v a="$orss" -v b="$trss" \
			'BEGIN{printf "%.2f", b/a}')
	fi
	summary+=("$(printf '%-8s %5s %4s %9s %9s %6s %9s %9s %6s %9s %9s %9s %9s %6s' \
		"$name" "$batch" "$(field res "$line")" "$oi" "$ti" "$ratio" \
		"$obest" "$tbest" "$bratio" "$ocpu" "$tcpu" "$orss" "$trss" \
		"$rssratio")")
done
echo
echo "medians of $ROUNDS runs each (images/s: higher is better; best_*:" \
	"images/s of the fastest step of all runs; CPU ms per step and peak RSS" \
	"MiB: lower is better; rss_x = PyTorch RSS / lmnas RSS)"
printf '%-8s %5s %4s %9s %9s %6s %9s %9s %6s %9s %9s %9s %9s %6s\n' \
	case batch res lmnas_ips torch_ips ratio best_lmn best_trch ratio \
	lmnas_cpu torch_cpu lmnas_rss torch_rss rss_x
printf '%s\n' "${summary[@]}"
exit $status
