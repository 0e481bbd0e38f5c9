#!/usr/bin/env bash
# deps.sh - installs every Debian package that building, testing and running
# lmnas needs. Idempotent and quiet: does nothing when all are present, and runs
# `apt-get update` only when something is missing.
set -euo pipefail

PACKAGES=(
	build-essential pkg-config
	libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libpq-dev libssl-dev
	libopenblas-openmp-dev libzip-dev libcmocka-dev
	postgresql postgresql-client
	gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
	python3-torch python3-numpy
	curl zip unzip clang-format cppcheck
	prometheus # promtool: tests check GET /metrics with it
)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ $status == installed ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || {
		echo "deps: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	}
	SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >/dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
