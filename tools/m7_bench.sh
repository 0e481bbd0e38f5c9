#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# m7_bench.sh - instructions per MAC of the int8 pointwise and depthwise
# kernels on a Cortex-M7 emulated by QEMU (mps2-an500, -icount shift=0), for
# the DSP build and for the portable C build (__ARM_FEATURE_DSP undefined).
# A measurement for reports, not a test. Counts instructions, not cycles.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/lmnas-m7-bench-XXXXXX)
trap 'rm -rf "$out"' EXIT
cflags="-mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard -O2 -std=c99
	-Wall -Wextra -Werror -ffunction-sections -fdata-sections"
srcs="service/codegen/kernels/*.c service/codegen/targets/qemu/*.c
	service/codegen/templates/console.c service/codegen/templates/board_qemu.c
	tools/m7_bench/bench_main.c"
for variant in dsp portable; do
	extra=""
	[[ $variant == portable ]] && extra="-U__ARM_FEATURE_DSP"
	# shellcheck disable=SC2086
	arm-none-eabi-gcc $cflags $extra -Iservice/codegen/kernels \
		-Iservice/codegen/targets/qemu -Iservice/codegen/templates -nostartfiles -specs=nano.specs \
		-T service/codegen/targets/qemu/mps2_an500.ld -Wl,--gc-sections \
		$srcs -o "$out/bench_$variant.elf"
	echo "== $variant build"
	timeout 120 qemu-system-arm -M mps2-an500 -nographic -monitor none \
		-semihosting -icount shift=0 -kernel "$out/bench_$variant.elf" 2>&1
done
