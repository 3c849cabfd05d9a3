#!/usr/bin/env bash
# instructions.sh: logcap's user-space instructions per line delivered, counted by
# callgrind. On a shared or virtual machine CPU seconds vary by 30% or more from one run
# to the next (bench/throughput.sh); an instruction count varies by a few percent, so two
# builds can be compared on it when their CPU figures overlap. It does not count the
# kernel's work (system calls): compare those with bench/throughput.sh.
#
#   bench/instructions.sh [N_CONTAINERS] [LINES_EACH]      (defaults: 4 20000)
#
# Environment: LOGCAP_BIN (default build/logcap). Needs valgrind. Uses the test suite's
# private dockerd (tests/env/docker-up). Starts logcap under callgrind with the file
# output, then N containers that each print LINES_EACH lines of 100 bytes (as
# bench/throughput.sh), waits until every line is in logcap's output, stops logcap and
# prints its instruction count. The last line is machine-readable: RESULT key=value ...
set -euo pipefail

N=${1:-4}
LINES=${2:-20000}
case "$N$LINES" in *[!0-9]*) echo "usage: $0 [N_CONTAINERS] [LINES_EACH]" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=common.sh
. bench/common.sh
bench_binary
command -v valgrind >/dev/null || { echo "instructions: needs valgrind (apt-get install valgrind)" >&2; exit 1; }

TOTAL=$((N * LINES))
PREFIX="lct-instr$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')-"
WORK=$(mktemp -d /tmp/lct-instr.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PID=""

# valgrind's logcap is killed: a clean stop under callgrind would take long and count
bench_on_exit() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -KILL "$PID"
        wait "$PID" 2>/dev/null
    fi
    bench_remove_containers "$PREFIX"
    rm -rf "$WORK"
}
bench_docker_up

cat >"$WORK/logcap.yaml" <<EOF
data_dir: "$WORK/data"
log_level: "warn"
hostname: "bench"
api: {listen: "127.0.0.1:$PORT"}
docker: {socket: "$LCT_SOCK", read: "${LCB_READ:-auto}", root: "${LCT_DOCKER_ROOT:-/var/lib/logcap-test/docker}", include_names: ["$PREFIX*"], initial_tail: "all"}
outputs:
  - {type: file, name: file, path: "$WORK/logs", format: json, rotate_bytes: 512GiB,
     max_files: 1, compress: false}
EOF

valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
    "$BIN" --config "$WORK/logcap.yaml" </dev/null 2>"$WORK/logcap.stderr" &
PID=$!
# Started once the API answers (valgrind makes the start slow).
for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$PORT/health?brief=1" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || { tail -n 20 "$WORK/logcap.stderr" >&2; exit 1; }
    sleep 0.1
done

PAD=$(printf '%084d' 0 | tr 0 x)
seq 1 "$N" | xargs -P 8 -I{} docker run -d --network none --log-driver json-file \
    --name "${PREFIX}{}" "$LCT_IMAGE" sh -c \
    "seq 1 $LINES | awk -v c={} -v pad=$PAD '{printf \"c%03d %09d %s\\n\", c, \$1, pad}'" >/dev/null

have=0
for _ in $(seq 1 1200); do
    have=$({ cat "$WORK"/logs/*.log 2>/dev/null || true; } | wc -l)
    [ "$have" -ge "$TOTAL" ] && break
    sleep 0.5
done
[ "$have" -ge "$TOTAL" ] || { echo "instructions: only $have of $TOTAL lines" >&2; exit 1; }
kill -TERM "$PID"
wait "$PID" || true
PID=""

IR=$(awk '/^(summary|totals):/ {print $2; exit}' "$WORK/callgrind.out")
awk -v ir="$IR" -v total="$TOTAL" -v have="$have" -v n="$N" -v lines="$LINES" 'BEGIN {
    printf "logcap instructions:    %d for %d lines = %.0f per line\n", ir, total, ir / total
    printf "RESULT containers=%d lines_each=%d lines=%d instructions=%d per_line=%.0f\n", n, lines, have, ir, ir / total
}'
