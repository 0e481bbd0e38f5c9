#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# export_bench.sh - instructions per inference of whole generated networks on
# a Cortex-M7 emulated by QEMU (mps2-an500), per op and in total, and
# instructions per MAC. A measurement for reports, not a test.
#
#   tools/export_bench.sh [ARCH.json ...]    default: tools/paper_arch.json
#                                            (~87 M MACs at 160 px) and
#                                            tools/parity_arch.json
#   CHECKPOINT=C tools/export_bench.sh       a trained checkpoint instead
#   DATA=DIR                                 CIFAR files for calibration and
#                                            the test image (default: the
#                                            shared CIFAR-100 if present)
#
# Each network is exported for the QEMU target (`lmnas export --arch`:
# untrained seeded weights, which do not change the instruction count),
# built with -DMODEL_PROFILE (`make profile`) and run under
# `qemu-system-arm -icount shift=0`: every guest instruction advances
# virtual time by 1 ns and SysTick (25 MHz) ticks once per 40 instructions,
# so the counts are multiples of 40. QEMU counts executed instructions, NOT
# cycles: it models neither the M7's dual issue nor flash/SRAM wait states.
set -euo pipefail
cd "$(dirname "$0")/.."
lmnas=${LMNAS:-build/release/lmnas}
data=${DATA:-../shared/data/cifar-100-binary}
[[ -x $lmnas ]] || make build
out=$(mktemp -d /tmp/lmnas-export-bench-XXXXXX)
trap 'rm -rf "$out"' EXIT
archs=("$@")
[[ ${#archs[@]} -gt 0 ]] || archs=(tools/paper_arch.json tools/parity_arch.json)
[[ -n ${CHECKPOINT:-} ]] && archs=(checkpoint)

for arch in "${archs[@]}"; do
	name=$(basename "$arch" .json)
	src=(--arch "$arch")
	[[ $arch == checkpoint ]] && src=(--checkpoint "$CHECKPOINT")
	dataflag=()
	[[ -f $data/train.bin ]] && dataflag=(--data "$data")
	"$lmnas" export "${src[@]}" --target qemu --out "$out/$name" \
		--calib 16 --images 1 "${dataflag[@]}" >"$out/$name.export" 2>&1 ||
		{ cat "$out/$name.export"; exit 1; }
	make -s -C "$out/$name" profile >"$out/$name.log" 2>&1 ||
		{ cat "$out/$name.log"; exit 1; }
	echo "== $name ($(grep -m1 'MACs' "$out/$name.export" | tr -s ' '))"
	grep -m1 'flash estimate' "$out/$name.export" | tr -s ' '
	# per op: "op <i> <name>: <n> instructions, <m> MACs"
	awk '
	/^op [0-9]+ / {
		n = $4; m = $6; name = $3; sub(/:$/, "", name)
		kind = name; sub(/^stages\.[0-9]+\.[0-9]+\./, "", kind)
		insn[kind] += n; macs[kind] += m; cnt[kind]++
		printf "  %-26s %12d instr %11d MACs %s\n", name, n, m,
		       m ? sprintf("%6.3f instr/MAC", n / m) : ""
	}
	/^profile total:/ { total = $3; tmacs = $5 }
	/^image 0:/ { run = $7 }
	END {
		print "  -- by op role --"
		for (k in insn)
			printf "  %-18s x%-3d %12d instr %11d MACs %s\n", k,
			       cnt[k], insn[k], macs[k],
			       macs[k] ? sprintf("%6.3f instr/MAC",
						 insn[k] / macs[k]) : ""
		printf "  total (sum of ops) %d instructions for %d MACs: " \
		       "%.3f instructions/MAC\n", total, tmacs, total / tmacs
		printf "  model_run: %d instructions (QEMU -icount; not " \
		       "cycles)\n", run
	}' "$out/$name.log"
done
