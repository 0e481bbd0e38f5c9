#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# load.sh - HTTP load on `lmnas serve` while a job trains in the same
# process (issue 12, section 7): wrk on the job routes, and the training's
# images/s with the server idle and under load, measured in the same run.
# A measurement for reports, not a test (figures are printed, not asserted).
#
#   tools/load.sh [PATH ...]
#
# PATH: request targets; {train} becomes the training job's id, {seeded} the
# id of a finished job seeded with 200 candidates. Default:
#   /v1/jobs/{train} /v1/jobs/{seeded}/candidates
# A path that answers 404 (a route this build does not have) is skipped
# with a message.
#
# Environment (defaults in brackets):
#   DURATION [30]       seconds of each wrk run
#   IDLE [30]           seconds of each idle window (no HTTP load)
#   CONNS [64]          wrk connections
#   LOADS ["1:0 1:100"] the wrk runs per path, each WRK_THREADS:DELAY_MS:
#                       DELAY_MS 0 is a closed loop at full speed (each
#                       connection sends its next request when the last one
#                       is answered), DELAY_MS > 0 makes each connection
#                       wait that long before each request (a wrk Lua
#                       delay(): 64 connections at 100 ms is at most 640
#                       requests/s, dashboards polling)
#   TRAIN_THREADS ["1 2"]  the job's training threads (`threads` in its
#                       spec), one training job each
#   HTTP_THREADS [4]    serve's --http-threads
#   DATA [../shared/data]  data root holding cifar-100-binary/
#   OUT [bench/results/load-YYYY-MM-DD.txt]  result file ("-": none)
#
# How: a private PostgreSQL (scripts/pg.sh) in a temporary directory,
# `lmnas serve --workers 1` on a free loopback port with a token, a finished
# job seeded through SQL with 200 candidates (architectures from `lmnas
# space sample`, costs from `lmnas cost`, 10 rounds with fronts), and per
# TRAIN_THREADS value a real training job on CIFAR-100 whose one candidate
# trains at proxy fidelity for longer than the measurement (epochs of 4,800
# images, so that a window of 30 s holds several). Then idle and loaded
# windows alternate: idle, wrk (path 1), idle, wrk (path 2), idle, ...
#
# images/s of a window: the epochs that started and ended inside it (the
# epoch rows the runner stores, candidate_epochs.seconds: training time of
# the epoch, without its validation), images / seconds summed over them.
# The first epoch after a window opens is not counted: it may have begun
# before. A loaded window is compared with the mean of the idle windows
# beside it, which cancels slow drift from other work on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
bin=${LMNAS:-build/release/lmnas}
DURATION=${DURATION:-30}
IDLE=${IDLE:-30}
CONNS=${CONNS:-64}
LOADS=${LOADS:-1:0 1:100}
TRAIN_THREADS=${TRAIN_THREADS:-1 2}
HTTP_THREADS=${HTTP_THREADS:-4}
DATA=${DATA:-../shared/data}
OUT=${OUT:-bench/results/load-$(date -u +%F).txt}
paths=("$@")
[[ ${#paths[@]} -gt 0 ]] || paths=('/v1/jobs/{train}' '/v1/jobs/{seeded}/candidates')
# 48 images per class of the 475 left after the 5% validation split, in
# batches of 100: 48 full batches, 4,800 images an epoch
FRACTION=0.1
EPOCH_IMAGES=4800

command -v wrk >/dev/null || { echo "load.sh: wrk is missing (apt-get install wrk, or make deps)" >&2; exit 1; }
[[ -f $DATA/cifar-100-binary/train.bin ]] || { echo "load.sh: $DATA/cifar-100-binary/train.bin not found (DATA)" >&2; exit 1; }
[[ -x $bin ]] || make build
DATA=$(cd "$DATA" && pwd)

tmp=$(mktemp -d /tmp/lmnas-load-XXXXXX)
chmod 755 "$tmp"
SPID=
cleanup() {
	[[ -n $SPID ]] && kill -TERM "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	bash scripts/pg.sh stop "$tmp/pg" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

exec 3>&1
if [[ $OUT != - ]]; then
	mkdir -p "$(dirname "$OUT")"
	exec > >(tee "$OUT") 2>&1
fi

bash scripts/pg.sh start "$tmp/pg"
export LMNAS_DATABASE_URL
LMNAS_DATABASE_URL=$(bash scripts/pg.sh url "$tmp/pg")
start_s=$SECONDS
at() { echo "(+$((SECONDS - start_s)) s)"; }
sql() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$LMNAS_DATABASE_URL" "$@"; }
"$bin" migrate --log-level warn
TOKEN=$("$bin" token create --team load --log-level warn 2>/dev/null)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
auth=(-H "Authorization: Bearer $TOKEN")

echo "# tools/load.sh: HTTP load while a job trains (lmnas $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "command:   DURATION=$DURATION IDLE=$IDLE CONNS=$CONNS LOADS='$LOADS' TRAIN_THREADS='$TRAIN_THREADS' HTTP_THREADS=$HTTP_THREADS tools/load.sh ${paths[*]}"
echo "binary:    $bin ($("$bin" version))"
echo "date:      $(date -u '+%F %T UTC')"
echo "machine:   $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/ { print $2 }') GiB, $(uname -sr), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "wrk:       $(wrk -v 2>&1 | head -n 1)"
echo "load avg:  $(cut -d ' ' -f 1-3 /proc/loadavg) (at start)"
echo "serve:     --workers 1 --http-threads $HTTP_THREADS, other HTTP limits at their defaults (--http-max-per-client 64)"
echo "note:      a closed loop (delay 0) keeps every connection busy: mean latency = $CONNS / (requests/s)"
echo "training:  random proposer, 1 candidate trained at proxy fidelity for the whole run, $EPOCH_IMAGES images an epoch (batch 100)"

"$bin" serve --listen "127.0.0.1:$port" --workers 1 --http-threads "$HTTP_THREADS" \
	--data-root "$DATA" --log-format json --log-level warn >"$tmp/serve.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do
	curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && break
	sleep 0.1
done
curl -fsS -o /dev/null "$base/readyz" || { echo "load.sh: serve did not become ready:" >&2; cat "$tmp/serve.log" >&2; exit 1; }

# A narrow space at 32 px, so that every job's first candidate (same seed)
# is the same small network (about 2 M MACs) and an epoch takes seconds.
space=$("$bin" space show --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
s.update(resolution=[32], layers=[1], out=[16, 24], expand=[2], kernel=[3])
print(json.dumps(s))')

# submit_job THREADS: a training job; prints its id
submit_job() {
	local spec
	spec=$(printf '{"name":"load-train-t%s","dataset":{"kind":"cifar100","path":"cifar-100-binary"},"space":%s,"proposer":"random","budget":{"rounds":1,"max_candidates":1,"proxy":{"epochs":1000,"train_fraction":%s,"batch":100},"final":{"top_k":0}},"threads":%s,"seed":7}' \
		"$1" "$space" "$FRACTION" "$1")
	curl -fsS -X POST "$base/v1/jobs" "${auth[@]}" -H 'Content-Type: application/json' -d "$spec" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}

# seed_job FROM: a finished job with FROM's spec and 200 candidates (160
# trained, 40 rejected) over 10 rounds, each round with a front of 5
seed_job() {
	local id
	id=$(sql -c "INSERT INTO jobs (name, spec, status, team_id, started_at, finished_at, progress)
		SELECT 'load-seeded', spec, 'succeeded', team_id, now(), now(), '{}' FROM jobs WHERE id = $1 RETURNING id" | head -n 1)
	for i in $(seq 1 200); do
		"$bin" space sample --seed "$i" 2>/dev/null >"$tmp/arch-$i.json"
		"$bin" cost "$tmp/arch-$i.json" --json >"$tmp/cost-$i.json"
	done
	python3 - "$tmp" "$id" >"$tmp/seed.sql" <<'PY'
import json, sys
tmp, job = sys.argv[1], int(sys.argv[2])
def lit(s):
    return "'" + s.replace("'", "''") + "'"
print("BEGIN;")
for i in range(1, 201):
    arch = json.load(open(f"{tmp}/arch-{i}.json"))
    cost = json.load(open(f"{tmp}/cost-{i}.json"))
    c = cost["cost"]
    rnd, rejected = (i - 1) // 20, i % 5 == 0
    status = "'rejected'" if rejected else "'trained'"
    reason = lit("max_macs: over the limit") if rejected else "NULL"
    top1 = "NULL" if rejected else "%.4f" % (0.05 + (i * 37 % 100) / 400)
    print(f"INSERT INTO candidates (job_id, round, source, arch, arch_hash, status, rationale,"
          f" rejection_reason, macs, params, flash_bytes, sram_bytes, val_top1, val_top5, val_loss,"
          f" epochs_done) VALUES ({job}, {rnd}, 'random', {lit(json.dumps(arch))}::jsonb,"
          f" {lit(cost['hash'])}, {status}, {lit('seeded by tools/load.sh: draw %d' % i)}, {reason},"
          f" {c['macs']}, {c['params']['trainable']}, {c['flash']['total']},"
          f" {c['sram']['peak_live_bytes']}, {top1}, {top1}, {'NULL' if rejected else 3.5}, 3);")
for r in range(10):
    print(f"INSERT INTO rounds (job_id, round, proposer, front, hypervolume, summary, finished_at)"
          f" SELECT {job}, {r}, 'random', coalesce(jsonb_agg(jsonb_build_object('id', id,"
          f" 'val_top1', val_top1, 'macs', macs, 'sram', sram_bytes, 'flash', flash_bytes)), '[]'),"
          f" 0.01 * {r + 1}, 'seeded', now() FROM (SELECT * FROM candidates WHERE job_id = {job}"
          f" AND round = {r} AND status = 'trained' ORDER BY val_top1 DESC LIMIT 5) f;")
print("COMMIT;")
PY
	sql -f "$tmp/seed.sql" >/dev/null
	echo "$id"
}

# epochs JOB: the highest proxy epoch stored for the job's candidates
epochs() {
	sql -c "SELECT coalesce(max(e.epoch), 0) FROM candidate_epochs e JOIN candidates c
		ON c.id = e.candidate_id WHERE c.job_id = $1 AND e.phase = 'proxy'"
}

# rate JOB E0 E1: images/s over epochs E0+2 .. E1 (those wholly inside a
# window whose start saw E0 and whose end saw E1), and how many
rate() {
	sql -c "SELECT coalesce(to_char(count(*) * $EPOCH_IMAGES / nullif(sum(e.seconds), 0), 'FM99990.0'), '-')
		|| ' img/s over ' || count(*) || ' epochs' FROM candidate_epochs e JOIN candidates c
		ON c.id = e.candidate_id WHERE c.job_id = $1 AND e.phase = 'proxy'
		AND e.epoch BETWEEN $2 + 2 AND $3"
}
ratenum() {
	sql -c "SELECT coalesce(round((count(*) * $EPOCH_IMAGES / nullif(sum(e.seconds), 0))::numeric, 1)::text, '')
		FROM candidate_epochs e JOIN candidates c ON c.id = e.candidate_id
		WHERE c.job_id = $1 AND e.phase = 'proxy' AND e.epoch BETWEEN $2 + 2 AND $3"
}

# scrape FILE: /metrics; retried, since wrk's connections may still count
# against --http-max-per-client (64) for a moment after it ends
scrape() {
	for _ in $(seq 20); do
		curl -fsS -o "$1" "$base/metrics" 2>/dev/null && return 0
		sleep 0.1
	done
	: >"$1"
}

# server_side BEFORE AFTER PATH: the server's own latency of the requests
# between two /metrics scrapes (headers received to response completed,
# lmnas_http_request_duration_seconds), as the histogram buckets that hold
# p50 and p99: tells time spent in lmnas from time spent waiting for a CPU
server_side() {
	python3 - "$@" <<'PY'
import re, sys
def buckets(f, route):
    out = {}
    for line in open(f):
        m = re.match(r'lmnas_http_request_duration_seconds_bucket\{(.*),le="([^"]+)"\} (\d+)', line)
        if m and f'route="{route}"' in m.group(1) and 'method="GET"' in m.group(1):
            le = float('inf') if m.group(2) == '+Inf' else float(m.group(2))
            out[le] = out.get(le, 0) + int(m.group(3))
    return out
route = re.sub(r'/[0-9]+(?=/|$)', '/{id}', sys.argv[3].split('?')[0])
a, b = buckets(sys.argv[1], route), buckets(sys.argv[2], route)
d = {le: b[le] - a.get(le, 0) for le in b}
n = d.get(float('inf'), 0)
if not n:
    print('no requests in /metrics'); sys.exit()
def q(p):
    le = min(le for le, c in d.items() if c >= p * n)
    return '> 10 s' if le == float('inf') else '<= %g ms' % (le * 1000)
print('p50 %s, p99 %s (%d requests)' % (q(0.5), q(0.99), n))
PY
}

# wrk_summary FILE: requests/s, p50, p99, errors (non-2xx + socket errors)
wrk_summary() {
	awk '
	/Requests\/sec:/ { rps = $2 }
	/^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
	/requests in/ { n = $1 }
	/Non-2xx or 3xx responses:/ { non2xx = $5 }
	/Socket errors:/ { gsub(/,/, ""); sock = $4 + $6 + $8 + $10
	                   kinds = sprintf(": connect %d, read %d, write %d, timeout %d", $4, $6, $8, $10) }
	END { printf "%s req/s, p50 %s, p99 %s, %d requests, errors %d (non-2xx %d, socket %d%s)",
	      rps, p50, p99, n, non2xx + sock, non2xx, sock, kinds }' "$1"
}

first_job=
for tt in $TRAIN_THREADS; do
	job=$(submit_job "$tt")
	[[ -n $first_job ]] || first_job=$job
	if [[ -z ${seeded:-} ]]; then
		seeded=$(seed_job "$job")
		echo "seeded:    job $seeded, $(sql -c "SELECT count(*) FROM candidates WHERE job_id = $seeded") candidates, $(sql -c "SELECT count(*) FROM rounds WHERE job_id = $seeded") rounds"
	fi
	echo
	echo "== training threads $tt (job $job) $(at)"
	# the data set loaded and two epochs trained before the first window
	for _ in $(seq 600); do
		[[ $(epochs "$job") -ge 2 ]] && break
		st=$(sql -c "SELECT status FROM jobs WHERE id = $job")
		[[ $st == queued || $st == running ]] || { echo "load.sh: job $job is $st:" >&2; sql -c "SELECT error FROM jobs WHERE id = $job" >&2; exit 1; }
		sleep 0.5
	done
	sql -c "SELECT '   ' || message FROM events WHERE job_id = $job AND kind = 'threads'"
	echo "   training from $(at), candidate: $(sql -c "SELECT macs || ' MACs, ' || params || ' parameters' FROM candidates WHERE job_id = $job ORDER BY id LIMIT 1")"
	e0=$(epochs "$job")
	sleep "$IDLE"
	e1=$(epochs "$job")
	idle_prev=$(ratenum "$job" "$e0" "$e1")
	echo "   idle:   $(rate "$job" "$e0" "$e1") $(at)"
	for load in $LOADS; do
		wt=${load%%:*} delay=${load#*:}
		printf 'function delay() return %d end\n' "$delay" >"$tmp/delay.lua"
		pace=(-s "$tmp/delay.lua")
		[[ $delay -gt 0 ]] || pace=()
		for p in "${paths[@]}"; do
			path=${p//\{train\}/$job}
			path=${path//\{seeded\}/$seeded}
			code=$(curl -s -o "$tmp/probe" -w '%{http_code}' "$base$path" "${auth[@]}")
			if [[ $code == 404 ]]; then
				echo "   skipped $path: it answers 404 ($(head -c 200 "$tmp/probe")); this build has no such route"
				continue
			fi
			echo "   $path: answers $code, $(wc -c <"$tmp/probe") bytes"
			scrape "$tmp/m0"
			a=$(epochs "$job")
			wrk -t "$wt" -c "$CONNS" -d "${DURATION}s" --latency "${pace[@]}" "${auth[@]}" "$base$path" >"$tmp/wrk.out" 2>&1
			b=$(epochs "$job")
			scrape "$tmp/m1"
			sleep "$IDLE"
			c=$(epochs "$job")
			idle_next=$(ratenum "$job" "$b" "$c")
			loaded=$(ratenum "$job" "$a" "$b")
			echo "   wrk -t$wt -c$CONNS -d${DURATION}s$([[ $delay -gt 0 ]] && echo " (each connection waits ${delay} ms before each request)"): $(wrk_summary "$tmp/wrk.out") $(at)"
			echo "     server side (/metrics): $(server_side "$tmp/m0" "$tmp/m1" "$path")"
			echo "     training under load: $(rate "$job" "$a" "$b"); idle after: $(rate "$job" "$b" "$c")"
			if [[ -n $loaded && -n $idle_prev && -n $idle_next ]]; then
				python3 -c "import sys; l, a, b = map(float, sys.argv[1:]); i = (a + b) / 2; print('     training images/s under load: %.1f%% of the idle windows beside it (%.1f / %.1f)' % (100 * l / i, l, i))" \
					"$loaded" "$idle_prev" "$idle_next"
			fi
			idle_prev=$idle_next
		done
	done
	curl -fsS -o /dev/null -X POST "$base/v1/jobs/$job/cancel" "${auth[@]}"
	for _ in $(seq 200); do
		[[ $(sql -c "SELECT status FROM jobs WHERE id = $job") == cancelled ]] && break
		sleep 0.1
	done
done
echo
echo "load avg:  $(cut -d ' ' -f 1-3 /proc/loadavg) (at the end)"
