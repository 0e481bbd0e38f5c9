#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# podman_check.sh - builds docker/Dockerfile with podman and runs
# docker/compose.yaml with podman-compose on a machine without an image
# registry (see README, Deploying: what was and was not tried): the base
# image debian:12 from debootstrap, PostgreSQL from a stand-in image built
# on it (Debian's postgresql-15 with the official image's POSTGRES_*
# variables; the official postgres:15-bookworm cannot be pulled here), then
# migrate, a token, serve and two workers, a tiny job through the API to a
# stored model, and the containers' health checks. By hand, as root, about
# 5 minutes; not part of `make test`.
#
#   bash docker/podman_check.sh DIR    (DIR: a scratch directory, reused)
#
# Needs Debian's podman, podman-compose, debootstrap and
# golang-github-containernetworking-plugin-dnsname (service names in DNS),
# and the CIFAR-100 files in ../shared/data/cifar-100-binary (DATA).
# runc cannot set the rlimits podman asks for on the development VM ("error
# setting rlimit type 7: operation not permitted", even with --ulimit host),
# so this runs with default_ulimits = [] in its own containers.conf.
set -euo pipefail
[[ $(id -u) -eq 0 ]] || { echo "podman_check.sh: run as root (rootful podman, debootstrap)" >&2; exit 2; }
T=${1:?usage: podman_check.sh DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
data=${DATA:-$repo/../shared/data/cifar-100-binary}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$T"
T=$(cd "$T" && pwd)
export CONTAINERS_CONF=$T/containers.conf POSTGRES_PASSWORD=podman-check
export LMNAS_PORT=127.0.0.1:${PORT:-18080} BUILDAH_FORMAT=docker # keeps HEALTHCHECK
printf '[containers]\ndefault_ulimits = []\n' >"$CONTAINERS_CONF"
C=(podman-compose -p lmnascheck -f "$repo/docker/compose.yaml")
# the project's containers (those of `run -d` too, which `down` leaves) and
# volumes; keeps the script's exit status
cleanup() {
	local rc=$?
	"${C[@]}" down >/dev/null 2>&1 || true
	podman ps -aq --filter label=io.podman.compose.project=lmnascheck | xargs -r podman rm -f >/dev/null || true
	podman volume ls -q --filter label=io.podman.compose.project=lmnascheck | xargs -r podman volume rm >/dev/null || true
	exit "$rc"
}
trap cleanup EXIT
quiet() { "$@" >"$T/last.log" 2>&1 || { tail -n 20 "$T/last.log" >&2; exit 1; }; }

if ! podman image exists docker.io/library/debian:12; then
	echo "== debian:12 from debootstrap --variant=minbase bookworm"
	[[ -x $T/root/bin/sh ]] || quiet debootstrap --variant=minbase bookworm "$T/root" "$mirror"
	tar -C "$T/root" -c . | quiet podman import - docker.io/library/debian:12
fi
if ! podman image exists docker.io/library/postgres:15-bookworm; then
	echo "== stand-in postgres:15-bookworm"
	mkdir -p "$T/pg"
	cat >"$T/pg/Containerfile" <<'CF'
FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/*
COPY entrypoint.sh /entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
ENTRYPOINT ["/bin/sh", "/entrypoint.sh"]
CF
	cat >"$T/pg/entrypoint.sh" <<'SH'
set -eu
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/pw
	chown postgres /tmp/pw
	su postgres -s /bin/sh -c "initdb -D $PGDATA -U $POSTGRES_USER --pwfile=/tmp/pw --auth-host=scram-sha-256 --auth-local=trust -E UTF8"
	rm -f /tmp/pw
	echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
	su postgres -s /bin/sh -c "pg_ctl -D $PGDATA -o \"-c listen_addresses=''\" -w start"
	su postgres -s /bin/sh -c "psql -U $POSTGRES_USER -d postgres -c 'CREATE DATABASE $POSTGRES_DB'"
	su postgres -s /bin/sh -c "pg_ctl -D $PGDATA -m fast -w stop"
fi
exec su postgres -s /bin/sh -c "exec postgres -D $PGDATA -c listen_addresses='*'"
SH
	quiet podman build --pull=never -t docker.io/library/postgres:15-bookworm "$T/pg"
fi

echo "== podman-compose build (the lmnas image, docker format)"
cd "$repo"
quiet "${C[@]}" build
podman image inspect lmnas:0.1.0 --format '{{.User}} {{.Config.Entrypoint}} {{.Config.Cmd}}' 2>/dev/null ||
	podman image inspect lmnas:0.1.0 | grep -m1 '"User"'
podman run --rm lmnas:0.1.0 version

echo "== postgres, then migrate, a token, serve and the workers"
# podman-compose 1.0.3 ignores depends_on conditions: postgres first
quiet "${C[@]}" up -d postgres
for _ in $(seq 60); do podman healthcheck run lmnascheck_postgres_1 >/dev/null 2>&1 && break; sleep 1; done
podman healthcheck run lmnascheck_postgres_1 && echo "postgres HEALTHCHECK: healthy"
quiet "${C[@]}" run --rm migrate
"${C[@]}" run --rm migrate token create --team ops --admin >"$T/token.log" 2>&1
token=$(grep -o 'lmnas_[0-9]*_[0-9a-f]*' "$T/token.log" | tail -n 1)
[[ -n $token ]] || { cat "$T/token.log" >&2; exit 1; }
# up starts the ollama profile too (1.0.3 knows no profiles): name services
quiet "${C[@]}" up -d serve worker
quiet "${C[@]}" run -d worker # --scale is ignored by 1.0.3: a second worker
for _ in $(seq 60); do curl -fsS -o /dev/null "http://$LMNAS_PORT/readyz" 2>/dev/null && break; sleep 1; done
echo "readyz: $(curl -sS "http://$LMNAS_PORT/readyz")"
podman healthcheck run lmnascheck_serve_1 && echo "serve HEALTHCHECK: healthy"
echo "worker health check: $(podman inspect lmnascheck_worker_1 --format '{{json .Config.Healthcheck}}')"
podman ps --filter label=io.podman.compose.project=lmnascheck --format '{{.Names}} {{.Status}}'

echo "== a tiny job through the API, run by a worker container"
podman cp "$data" lmnascheck_serve_1:/data/
space=$(podman run --rm lmnas:0.1.0 space show --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
s.update(resolution=[32], layers=[1], out=[16, 24], expand=[2], kernel=[3])
print(json.dumps(s))')
job=$(curl -fsS -X POST "http://$LMNAS_PORT/v1/jobs" -H "Authorization: Bearer $token" \
	-H 'Content-Type: application/json' -d '{"name": "podman-check", "dataset": {"path": "cifar-100-binary"},
	"space": '"$space"', "proposer": "random", "threads": 1,
	"budget": {"rounds": 1, "max_candidates": 1, "proxy": {"epochs": 1, "train_fraction": 0.02},
	"final": {"top_k": 1, "epochs": 1}}, "export": {"calibration_images": 50, "test_images": 4}}' |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 300); do
	st=$(curl -fsS "http://$LMNAS_PORT/v1/jobs/$job" -H "Authorization: Bearer $token" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
	[[ $st == queued || $st == running ]] || break
	sleep 1
done
echo "job $job: $st"
curl -fsS "http://$LMNAS_PORT/v1/jobs/$job/models" -H "Authorization: Bearer $token" |
	python3 -c 'import json, sys; m = json.load(sys.stdin)["models"][0]; print("model", m["id"], "int8 top-1", m["int8_top1"], "zip", m["zip"]["size"], "bytes")'
[[ $st == succeeded ]]
echo "podman_check: the image builds and the compose file runs under podman"
