#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps.sh - installs every Debian package that building, testing and running
# lmnas needs. Idempotent and quiet: does nothing when all are present, and runs
# `apt-get update` only when something is missing.
#
#   deps.sh            what `make build`, `make test` and `make run` need
#   deps.sh --bench    that and what the benchmarks add (`make bench`,
#                      `make load`: wrk)
set -euo pipefail

PACKAGES=(
	build-essential pkg-config
	libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libpq-dev libssl-dev
	libopenblas-openmp-dev libzip-dev libcmocka-dev libpng-dev libjpeg62-turbo-dev
	libarchive-dev # dataset uploads: zip, tar, tar.gz (service/unpack)
	postgresql postgresql-client
	gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
	python3-torch python3-numpy
	curl zip unzip jq clang-format cppcheck # jq: the README walk-through
	yamllint
	prometheus # promtool: tests check GET /metrics with it
)

if [[ ${1:-} == --bench ]]; then
	PACKAGES+=(wrk) # tools/load.sh: HTTP load on serve
elif [[ $# -gt 0 ]]; then
	echo "usage: deps.sh [--bench]" >&2
	exit 2
fi

# Node.js and npm run the contract tests (tests/contract/, `npm ci` from
# package-lock.json). A machine that has them (from any source) keeps them;
# otherwise Debian's are installed. @redocly/cli needs Node.js 20.19 or later.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ $status == installed ]] || missing+=("$p")
done
# node_check: refuses a Node.js older than the contract tests need
node_check() {
	local v
	v=$(node -p 'process.versions.node' 2>/dev/null) || return 0
	local major=${v%%.*} minor=${v#*.}
	minor=${minor%%.*}
	if ((major < 20 || (major == 20 && minor < 19))); then
		echo "deps: Node.js $v is too old for the contract tests (20.19 or later)" >&2
		exit 1
	fi
}
if [[ ${#missing[@]} -eq 0 ]]; then
	node_check
	exit 0
fi

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
node_check
