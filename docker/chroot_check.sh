#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# chroot_check.sh - runs docker/Dockerfile's RUN commands, as written, in
# Debian 12 trees made by debootstrap, where no container can run (see README,
# Deploying): the build stage's two RUNs in one tree, the runtime stage's RUN
# in a fresh one with the build's /out copied in (its COPY --from), then
# `lmnas migrate` and `lmnas serve` in it as uid 10001 against a private
# PostgreSQL, and the HEALTHCHECK command. By hand, as root, about 3 minutes
# (debootstrap about 1, the build stage's apt-get and make build about 1.5);
# not part of `make test`.
#
#   bash docker/chroot_check.sh DIR    (DIR: an empty scratch directory)
set -euo pipefail
[[ $(id -u) -eq 0 ]] || { echo "chroot_check.sh: run as root (debootstrap, chroot)" >&2; exit 2; }
T=${1:?usage: chroot_check.sh DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$T"
T=$(cd "$T" && pwd)
B=$T/build R=$T/runtime PGDIR=$T/runtime/tmp/pg
SPID=
cleanup() {
	[[ -n $SPID ]] && kill "$SPID" 2>/dev/null
	[[ -d $PGDIR/data ]] && bash "$repo/scripts/pg.sh" stop "$PGDIR" || true
	for d in "$B" "$R"; do mountpoint -q "$d/proc" && umount "$d/proc"; done
	return 0
}
trap cleanup EXIT

# run_body STAGE N: the N-th RUN of stage STAGE (0 build, 1 runtime), its
# continuation lines joined
run_body() {
	awk -v want_stage="$1" -v want_n="$2" '
		{ if (sub(/\\$/, "")) { acc = acc $0 " "; next } line = acc $0; acc = "" }
		line ~ /^FROM / { stage++; n = 0; next }
		line ~ /^RUN / { if (stage - 1 == want_stage && n++ == want_n) { sub(/^RUN /, "", line); print line } }
	' "$repo/docker/Dockerfile"
}

if [[ ! -x $T/root/bin/sh ]]; then
	echo "== debootstrap --variant=minbase bookworm"
	debootstrap --variant=minbase bookworm "$T/root" "$mirror" >"$T/debootstrap.log" 2>&1
fi
rm -rf "$B" "$R"
cp -a "$T/root" "$B"
cp -a "$T/root" "$R"
for d in "$B" "$R"; do
	cp /etc/resolv.conf "$d/etc/resolv.conf"
	mount -t proc proc "$d/proc"
done

echo "== build stage: RUN 1 (apt-get)"
chroot "$B" env DEBIAN_FRONTEND=noninteractive sh -c "$(run_body 0 0)" >"$T/build-apt.log" 2>&1
mkdir -p "$B/src"
# COPY . . with .dockerignore's main exclusions: the tracked and new files
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
	grep -zvE '^(node_modules|build|var)/' | tar --null -T - -cf -) | tar -C "$B/src" -xf -
echo "== build stage: RUN 2 (make build)"
chroot "$B" sh -c "cd /src && $(run_body 0 1)" >"$T/build-make.log" 2>&1

echo "== runtime stage: RUN 1 (apt-get, user)"
chroot "$R" env DEBIAN_FRONTEND=noninteractive sh -c "$(run_body 1 0)" >"$T/runtime-apt.log" 2>&1
cp -a "$B/out/." "$R/"
if chroot "$R" ldd /usr/local/bin/lmnas | grep 'not found'; then
	echo "runtime stage lacks a library" >&2
	exit 1
fi
chroot "$R" id lmnas

echo "== lmnas migrate and serve as uid 10001"
bash "$repo/scripts/pg.sh" start "$PGDIR" --fast
chmod 755 "$PGDIR"
env=(env -i HOME=/var/lib/lmnas LMNAS_LISTEN=0.0.0.0:8080 LMNAS_WEB_DIR=/usr/local/share/lmnas/web
	LMNAS_DATA_ROOT=/data LMNAS_LOG_FORMAT=json "LMNAS_DATABASE_URL=postgresql:///lmnas?host=/tmp/pg&user=lmnas")
chroot --userspec=10001:10001 "$R" "${env[@]}" /usr/local/bin/lmnas migrate
chroot --userspec=10001:10001 "$R" "${env[@]}" /usr/local/bin/lmnas serve >"$T/serve.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do
	chroot "$R" curl -fsS -o /dev/null http://127.0.0.1:8080/healthz 2>/dev/null && break
	sleep 0.2
done
echo "== HEALTHCHECK command"
chroot --userspec=10001:10001 "$R" curl -fsS -o /dev/null http://127.0.0.1:8080/healthz
echo "healthcheck: exit 0"
echo "readyz: $(chroot "$R" curl -sS http://127.0.0.1:8080/readyz)"
kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
SPID=
echo "serve: exit $rc on SIGTERM"
[[ $rc -eq 0 ]]
echo "chroot_check: the Dockerfile's commands work"
