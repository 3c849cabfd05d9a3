#!/usr/bin/env bash
# throughput.sh: how fast logcap (release build) delivers container logs, and what it
# costs next to dockerd.
#
#   bench/throughput.sh [N_CONTAINERS] [LINES_EACH]      (defaults: 10 100000)
#   bench/throughput.sh 50 20000                         (the 50-container RSS figure)
#
# Uses the test suite's private dockerd (tests/env/docker-up; stopped again at the end if
# this script started it). Starts logcap with the file output in a temporary directory,
# then N containers that each print LINES_EACH lines of exactly 100 bytes as fast as they
# can, and waits until every line is in logcap's output.
#
# Generator (busybox, in the test image): `seq 1 LINES | awk '{printf "c%03d %09d %s\n",
# c, $1, pad}'` with an 84-byte pad: "c001 000000001 xxx...x\n" = 100 bytes. One such
# container writes about 500k lines/s to /dev/null here, so the generator is not the limit.
#
# Reports, over the window from the first `docker start` (containers are created before)
# to the last line delivered:
# lines per second delivered, logcap CPU seconds (utime+stime) per million lines, the
# private dockerd's CPU seconds per million lines, their ratio, and logcap's peak RSS
# (VmHWM). The last line is machine-readable: RESULT key=value ...
#
# Environment: LOGCAP_BIN (default build/logcap), LCB_TIMEOUT (seconds to wait for the
# lines; default scales with the line count), LCB_READ (docker.read: auto, the default,
# reads the json-file logs; api reads through the Engine API), LCT_DOCKER_ROOT (the
# private dockerd's data root, default /var/lib/logcap-test/docker), LCB_AGENT=fluent-bit
# (measure Fluent Bit instead: its tail input on the same containers' json-file logs, the
# docker multiline parser, to a file; FLUENT_BIT, default
# /work/shared/tools/fluent-bit/bin/fluent-bit). The agent's figures are under "logcap".
set -euo pipefail

N=${1:-10}
LINES=${2:-100000}
case "$N$LINES" in *[!0-9]*) echo "usage: $0 [N_CONTAINERS] [LINES_EACH]" >&2; exit 2 ;; esac
[ "$N" -ge 1 ] && [ "$LINES" -ge 1 ] || { echo "usage: $0 [N_CONTAINERS] [LINES_EACH]" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=common.sh
. bench/common.sh
bench_binary

TOTAL=$((N * LINES))
TIMEOUT=${LCB_TIMEOUT:-$((60 + TOTAL / 5000))}
PREFIX="lct-bench$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')-"
WORK=$(mktemp -d /tmp/lct-bench.XXXXXX)
LOGCAP_PID=""
HZ=$(getconf CLK_TCK)

bench_on_exit() {
    bench_stop "$LOGCAP_PID"
    bench_remove_containers "$PREFIX"
    rm -rf "$WORK"
}
bench_docker_up
DOCKERD_PID=$(lct_dockerd_pid)

cat >"$WORK/logcap.yaml" <<EOF
data_dir: "$WORK/data"
log_level: "warn"
hostname: "bench"
docker:
  socket: "$LCT_SOCK"
  read: "${LCB_READ:-auto}"
  root: "${LCT_DOCKER_ROOT:-/var/lib/logcap-test/docker}"
  include_names:
    - "$PREFIX*"
  initial_tail: "all"
outputs:
  - type: "file"
    name: "file"
    path: "$WORK/logs"
    format: "json"
    rotate_bytes: "512GiB"
    max_files: 1
    compress: false
EOF

PAD=$(printf '%084d' 0 | tr 0 x)
# Containers are created before the window and started inside it, so the window holds
# no image/container setup work of dockerd.
seq 1 "$N" | xargs -P 8 -I{} docker create --network none --log-driver json-file \
    --name "${PREFIX}{}" "$LCT_IMAGE" sh -c \
    "seq 1 $LINES | awk -v c={} -v pad=$PAD '{printf \"c%03d %09d %s\\n\", c, \$1, pad}'" >/dev/null

if [ "${LCB_AGENT:-logcap}" = fluent-bit ]; then
    FB=${FLUENT_BIT:-/work/shared/tools/fluent-bit/bin/fluent-bit}
    DROOT=${LCT_DOCKER_ROOT:-/var/lib/logcap-test/docker}
    paths=$(docker ps -a --no-trunc --filter "name=^/$PREFIX" --format '{{.ID}}' | while read -r id; do
        printf '%s/containers/%s/%s-json.log,' "$DROOT" "$id" "$id"
    done)
    mkdir -p "$WORK/logs"
    cat >"$WORK/fluent-bit.yaml" <<FBEOF
service:
  flush: 1
  log_level: warn
pipeline:
  inputs:
    - name: tail
      tag: bench
      path: ${paths%,}
      read_from_head: true
      multiline.parser: docker
      db: $WORK/fb.db
      refresh_interval: 1
  outputs:
    - name: file
      match: bench
      path: $WORK/logs
      file: fb.log
      format: plain
FBEOF
    "$FB" -c "$WORK/fluent-bit.yaml" </dev/null >"$WORK/logcap.stderr" 2>&1 &
else
    "$BIN" --config "$WORK/logcap.yaml" </dev/null >"$WORK/logcap.stderr" 2>&1 &
fi
LOGCAP_PID=$!
echo "throughput: $N containers x $LINES lines of 100 bytes ($TOTAL lines), ${LCB_AGENT:-logcap} (read ${LCB_READ:-auto}) pid $LOGCAP_PID, dockerd pid $DOCKERD_PID"
sleep 1 # the agent up and following; its start is outside the window

T0=$(date +%s.%N)
L0=$(ticks "$LOGCAP_PID")
D0=$(ticks "$DOCKERD_PID")
seq 1 "$N" | xargs -P 8 -I{} docker start "${PREFIX}{}" >/dev/null

total_size() {
    local f s=0
    for f in "$WORK"/logs/*.log; do
        [ -e "$f" ] || continue
        s=$((s + $(stat -c %s "$f")))
    done
    echo "$s"
}

count_lines() {
    { cat "$WORK"/logs/*.log 2>/dev/null || true; } | wc -l
}

# Counting lines costs CPU that logcap and dockerd would otherwise have: while the output
# grows, only its size is looked at (and the end of the window moved to the last growth);
# lines are counted once it has stopped growing.
deadline=$((SECONDS + TIMEOUT))
last_size=-1
T1=$T0 L1=$L0 D1=$D0
still=0
while :; do
    if ! kill -0 "$LOGCAP_PID" 2>/dev/null; then
        echo "throughput: logcap exited; its stderr:" >&2
        tail -n 30 "$WORK/logcap.stderr" >&2
        exit 1
    fi
    size=$(total_size)
    if [ "$size" != "$last_size" ]; then
        last_size=$size
        T1=$(date +%s.%N)
        L1=$(ticks "$LOGCAP_PID")
        D1=$(ticks "$DOCKERD_PID")
        still=0
    else
        still=$((still + 1))
        if [ "$still" -ge 3 ]; then
            have=$(count_lines)
            [ "$have" -ge "$TOTAL" ] && break
            still=0
        fi
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "throughput: only $(count_lines) of $TOTAL lines after ${TIMEOUT} s; logcap stderr:" >&2
        tail -n 30 "$WORK/logcap.stderr" >&2
        exit 1
    fi
    sleep 0.1
done
HWM_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$LOGCAP_PID/status")
FILES=$(ls "$WORK"/logs/*.log | wc -l)

awk -v t0="$T0" -v t1="$T1" -v l0="$L0" -v l1="$L1" -v d0="$D0" -v d1="$D1" -v hz="$HZ" \
    -v total="$TOTAL" -v have="$have" -v hwm="$HWM_KB" -v n="$N" -v lines="$LINES" \
    -v files="$FILES" 'BEGIN {
    secs = t1 - t0; lcpu = (l1 - l0) / hz; dcpu = (d1 - d0) / hz; m = total / 1e6
    printf "lines delivered:        %d in %.2f s = %.0f lines/s (%d files)\n", have, secs, total / secs, files
    if (have != total) printf "WARNING: %d lines more than written (duplicates?)\n", have - total
    printf "logcap CPU:             %.2f s = %.2f CPU-s per million lines\n", lcpu, lcpu / m
    printf "dockerd CPU:            %.2f s = %.2f CPU-s per million lines\n", dcpu, dcpu / m
    ratio = dcpu > 0 ? lcpu / dcpu : 0
    printf "logcap/dockerd CPU:     %.3f\n", ratio
    printf "logcap peak RSS:        %.1f MiB (VmHWM)\n", hwm / 1024
    printf "RESULT containers=%d lines_each=%d lines=%d seconds=%.3f lines_per_s=%.0f logcap_cpu_s_per_m=%.3f dockerd_cpu_s_per_m=%.3f cpu_ratio=%.4f logcap_vmhwm_kib=%d\n", n, lines, have, secs, total / secs, lcpu / m, dcpu / m, ratio, hwm
}'
