#!/usr/bin/env bash
# quiet.sh: what quiet containers cost logcap (issue 11, item 7): N containers that run
# and write nothing, followed by logcap for SECONDS; logcap's CPU over that window as a
# share of one core, its log requests to dockerd (logcap_container_drains_total and the
# log streams the API mode opens are visible in /metrics; files mode opens none), and its
# open descriptors.
#
#   bench/quiet.sh [N] [SECONDS]            (defaults: 55 60)
#
# Environment: LOGCAP_BIN (default build/logcap), LCB_READ (auto, the default: files; or
# api), LCT_DOCKER_ROOT (the private dockerd's data root). Uses the test suite's private
# dockerd (tests/env/docker-up; stopped again at the end if this script started it).
set -euo pipefail

N=${1:-55}
SECS=${2:-60}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=common.sh
. bench/common.sh
bench_binary

PREFIX="lct-quiet$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')-"
WORK=$(mktemp -d /tmp/lct-quiet.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
HZ=$(getconf CLK_TCK)
LOGCAP_PID=""

bench_on_exit() {
    bench_stop "$LOGCAP_PID"
    bench_remove_containers "$PREFIX"
    rm -rf "$WORK"
}
bench_docker_up >/dev/null

seq 1 "$N" | xargs -P 8 -I{} docker run -d --network none --log-driver json-file \
    --name "${PREFIX}{}" "$LCT_IMAGE" sh -c "echo started; sleep 100000" >/dev/null

cat >"$WORK/logcap.yaml" <<YEOF
data_dir: "$WORK/data"
log_level: "warn"
api: {listen: "127.0.0.1:$PORT"}
docker:
  socket: "$LCT_SOCK"
  read: "${LCB_READ:-auto}"
  root: "${LCT_DOCKER_ROOT:-/var/lib/logcap-test/docker}"
  include_names: ["$PREFIX*"]
  initial_tail: "all"
outputs:
  - {type: file, path: "$WORK/logs"}
YEOF
"$BIN" --config "$WORK/logcap.yaml" </dev/null >"$WORK/logcap.stderr" 2>&1 &
LOGCAP_PID=$!

# Every container's first line delivered: logcap follows them all; then the quiet window.
for _ in $(seq 1 300); do
    n=$({ ls "$WORK/logs" 2>/dev/null || true; } | wc -l)
    [ "$n" -ge "$N" ] && break
    sleep 0.1
done
if [ "$n" -lt "$N" ]; then
    echo "quiet: logcap follows $n of $N containers after 30 s; its log:" >&2
    tail -n 20 "$WORK/logcap.stderr" >&2
    exit 1
fi
sleep 5 # the window starts after the start's own work (the first list, the first commits)
metric() { curl -s "127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 ~ "^"m {s += $2} END {print s + 0}'; }
C0=$(ticks "$LOGCAP_PID")
D0=$(metric logcap_container_drains_total)
R0=$(metric logcap_stream_rotations_total)
sleep "$SECS"
C1=$(ticks "$LOGCAP_PID")
D1=$(metric logcap_container_drains_total)
R1=$(metric logcap_stream_rotations_total)
FDS=$(ls "/proc/$LOGCAP_PID/fd" | wc -l)
READ=$(curl -s "127.0.0.1:$PORT/stats" | python3 -c 'import json,sys; c=json.load(sys.stdin)["containers"]; print(sum(1 for x in c if x["read"]=="files"), "of", len(c), "read from files")')
awk -v c0="$C0" -v c1="$C1" -v hz="$HZ" -v s="$SECS" -v n="$N" -v d="$((D1 - D0))" \
    -v r="$((R1 - R0))" -v fds="$FDS" -v read="$READ" 'BEGIN {
    cpu = (c1 - c0) / hz
    printf "%d quiet containers for %d s (%s): logcap CPU %.2f s = %.3f%% of a core; drains %d, idle reopens %d; %d open fds\n", n, s, read, cpu, 100 * cpu / s, d, r, fds
    printf "RESULT containers=%d seconds=%d cpu_s=%.3f core_pct=%.4f drains=%d reopens=%d fds=%d\n", n, s, cpu, 100 * cpu / s, d, r, fds
}'
