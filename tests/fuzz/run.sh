#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh - builds the libFuzzer targets of the arch, space, job spec and LLM
# reply parsers, of the download headers (Range, If-None-Match) and of the
# image decoder with clang (ASan + UBSan) and runs each for a while on its
# corpus. The search targets link the whole library and the files a build
# embeds: run `make` first.
#   tests/fuzz/run.sh [SECONDS]      (default 60 per target)
# New inputs that raise coverage are added to tests/fuzz/corpus/<target>/;
# commit the interesting ones. A crash leaves crash-* in the build dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=${BUILD:-build}/fuzz
mkdir -p "$out"
srcs=(service/core/*.c service/arch/*.c service/space/*.c)
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -Iservice
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
libs=($(pkg-config --libs jansson libcrypto) -lm -lpthread)
for t in arch space; do
	clang "${flags[@]}" "tests/fuzz/fuzz_$t.c" "${srcs[@]}" "${libs[@]}" \
		-o "$out/fuzz_$t"
	mkdir -p "tests/fuzz/corpus/$t"
	(cd "$out" && ./"fuzz_$t" -max_total_time="$secs" -max_len=8192 \
		-timeout=10 -rss_limit_mb=1024 "$OLDPWD/tests/fuzz/corpus/$t")
done
# the download headers' parsers: pure functions of text, no library
clang "${flags[@]}" tests/fuzz/fuzz_http_range.c service/http/ranges.c \
	-o "$out/fuzz_http_range"
mkdir -p tests/fuzz/corpus/http_range
(cd "$out" && ./fuzz_http_range -max_total_time="$secs" -max_len=256 \
	-timeout=10 -rss_limit_mb=1024 "$OLDPWD/tests/fuzz/corpus/http_range")
gen=${BUILD:-build}/gen
all=($(ls service/*/*.c | grep -v '^service/main\.c$') "$gen"/*.c)
pkgs=(jansson libcurl libpq libmicrohttpd libzip openblas libcrypto libpng libjpeg)
all_cflags=($(pkg-config --cflags "${pkgs[@]}") -fopenmp -I"$gen")
all_libs=($(pkg-config --libs "${pkgs[@]}") -fopenmp -lm -lpthread)
for t in search_spec search_reply; do
	clang "${flags[@]}" "${all_cflags[@]}" "tests/fuzz/fuzz_$t.c" \
		"${all[@]}" "${all_libs[@]}" -o "$out/fuzz_$t"
	mkdir -p "tests/fuzz/corpus/$t"
	(cd "$out" && ./"fuzz_$t" -max_total_time="$secs" -max_len=8192 \
		-timeout=10 -rss_limit_mb=1024 "$OLDPWD/tests/fuzz/corpus/$t")
done
# the image decoder (libpng, libjpeg-turbo, EXIF): every uploaded file
clang "${flags[@]}" tests/fuzz/fuzz_image.c service/data/image.c \
	service/core/status.c service/core/memory.c \
	$(pkg-config --cflags --libs libpng libjpeg jansson) -o "$out/fuzz_image"
mkdir -p tests/fuzz/corpus/image
(cd "$out" && ./fuzz_image -max_total_time="$secs" -max_len=65536 \
	-timeout=10 -rss_limit_mb=1024 "$OLDPWD/tests/fuzz/corpus/image")
