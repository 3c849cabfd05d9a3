#!/usr/bin/env bash
# loki_delivery.sh: issue 10's Loki benchmark. logcap's Loki output delivers a spool of N
# records of 100 bytes to a minimal sink (bench/loki_sink.c, another process: it reads each
# body, counts its entries and answers 204, after DELAY ms when given), as protobuf+snappy
# and as JSON+gzip; Fluent Bit's loki output delivers the same N lines, read by its tail
# input from a file, to the same sink, side by side.
#
#   bench/loki_delivery.sh [N] [RUNS]        (defaults: 1000000 1)
#
# Needs a build with -DLOGCAP_BENCH=ON (bench_delivery, loki_sink):
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOGCAP_BENCH=ON && cmake --build build -j2
#
# What each side does in its measured window:
#  - logcap (bench_delivery): reads its spool from the oldest record, groups records
#    into streams (6 default labels, 10 containers x 2 streams), encodes, compresses, POSTs
#    one request at a time on one kept-alive connection, moves its cursor. CPU: getrusage
#    of the whole process over the delivery only (filling the spool is not counted).
#  - Fluent Bit: from its start, tails the file (read_from_head), packs records into
#    chunks, flushes every `flush: 1` s to its loki output (JSON, `compress gzip`,
#    `drop_single_key: raw` so the line is the message as logcap sends it, 6 static labels:
#    one stream). CPU: utime+stime from /proc/PID/stat when the sink has every entry.
#  - Fluent Bit tail->null (one more row): the same file to its null output, i.e. what its
#    reading side costs alone, CPU only.
# Both windows end when the sink has counted N entries (Fluent Bit) or the output's
# counters say N delivered (logcap; the sink's count is checked after). The sink's own CPU
# per million entries is shown too (it decompresses and counts every body).
#
# Environment: LCB_BUILD (build dir, default build), FLUENT_BIT (default
# /work/shared/tools/fluent-bit/bin/fluent-bit; "" skips it), LCB_DELAYS (default "0 20"),
# LCB_EXTRA (YAML lines for logcap's output section, see bench_delivery.c).
set -euo pipefail

N=${1:-1000000}
RUNS=${2:-1}
# shellcheck source=delivery_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/delivery_common.sh"
delivery_setup loki_delivery bench_delivery loki_sink
DELAYS=${LCB_DELAYS:-0 20}
SINK_PID="" FB_PID=""
cleanup() {
    set +e
    [ -n "$FB_PID" ] && kill "$FB_PID" 2>/dev/null && wait "$FB_PID" 2>/dev/null
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sink_entries() {
    curl -sf "http://127.0.0.1:$PORT/count" | sed -n 's/.*entries=\([0-9]*\).*/\1/p'
}
sink_requests() {
    curl -sf "http://127.0.0.1:$PORT/count" | sed -n 's/^requests=\([0-9]*\).*/\1/p'
}
start_sink() { # DELAY_MS
    "$BUILD/loki_sink" 0 "$1" >"$WORK/sink.port" 2>"$WORK/sink.err" &
    SINK_PID=$!
    for _ in $(seq 1 100); do [ -s "$WORK/sink.port" ] && break; sleep 0.05; done
    PORT=$(cat "$WORK/sink.port")
}
stop_sink() {
    kill "$SINK_PID"
    wait "$SINK_PID" || true
    SINK_PID=""
}

run_logcap() { # ENCODING DELAY
    local before s0 s1 out
    before=$(sink_entries)
    s0=$(ticks "$SINK_PID")
    out=$("$BUILD/bench_delivery" "$N" "http://127.0.0.1:$PORT" "$1")
    s1=$(ticks "$SINK_PID")
    echo "$out" >&2
    local got=$(($(sink_entries) - before))
    if [ "$got" != "$N" ]; then
        echo "loki_delivery: the sink counted $got entries, not $N" >&2
        exit 1
    fi
    echo "$out" | awk -v d="$2" -v s="$((s1 - s0))" -v hz="$HZ" -v n="$N" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "logcap %s\t%s\t%d\t%.3f\t%d\t%d\t%.3f\n", v["output"], d, v["records_per_s"],
               v["cpu_s_per_m"], v["records_per_cpu_s"], v["requests"], s / hz / (n / 1e6) }'
}

run_fluentbit() { # DELAY
    local before s0 t0 c=0 t1 s1 want r0 r1
    {
        fb_tail_config
        cat <<EOF
    - name: loki
      match: bench
      host: 127.0.0.1
      port: $PORT
      labels: job=logcap, host=bench-host, container=shop-web-1, compose_project=shop, compose_service=web, stream=stdout
      drop_single_key: raw
      compress: gzip
EOF
    } >"$WORK/fb.yaml"
    before=$(sink_entries)
    r0=$(sink_requests)
    want=$((before + N))
    s0=$(ticks "$SINK_PID")
    t0=$(date +%s.%N)
    "$FB" -c "$WORK/fb.yaml" >"$WORK/fb.log" 2>&1 &
    FB_PID=$!
    while :; do
        [ "$(sink_entries)" -ge "$want" ] && break
        if ! kill -0 "$FB_PID" 2>/dev/null; then
            echo "loki_delivery: fluent-bit exited; its log:" >&2
            tail -n 20 "$WORK/fb.log" >&2
            exit 1
        fi
        sleep 0.02
    done
    t1=$(date +%s.%N)
    c=$(ticks "$FB_PID")
    s1=$(ticks "$SINK_PID")
    r1=$(sink_requests)
    kill "$FB_PID"
    wait "$FB_PID" || true
    FB_PID=""
    awk -v t0="$t0" -v t1="$t1" -v c="$c" -v hz="$HZ" -v n="$N" -v d="$1" \
        -v s="$((s1 - s0))" -v r="$((r1 - r0))" 'BEGIN {
        secs = t1 - t0; cpu = c / hz
        printf "fluent-bit json+gzip\t%s\t%d\t%.3f\t%d\t%d\t%.3f\n", d, n / secs, cpu / (n / 1e6),
               n / cpu, r, s / hz / (n / 1e6) }'
}

# Fluent Bit reading the same file to its null output: what its input side costs, to set
# against the loki rows. Completion from its metrics (refreshed once a second, so its wall
# time is not comparable and is not shown; the CPU is, taken when the count is reached).
run_fluentbit_null() {
    local t0 t1 c n fbport=$((PORT + 1))
    {
        fb_tail_config "  http_server: on
  http_listen: 127.0.0.1
  http_port: $fbport
"
        cat <<EOF
    - name: null
      match: bench
EOF
    } >"$WORK/fbnull.yaml"
    t0=$(date +%s.%N)
    "$FB" -c "$WORK/fbnull.yaml" >"$WORK/fbnull.log" 2>&1 &
    FB_PID=$!
    while :; do
        n=$(curl -sf "http://127.0.0.1:$fbport/api/v1/metrics" 2>/dev/null |
            grep -o '"proc_records":[0-9]*' | head -n 1 | cut -d: -f2 || true)
        [ "${n:-0}" -ge "$N" ] && break
        if ! kill -0 "$FB_PID" 2>/dev/null; then
            echo "loki_delivery: fluent-bit (null) exited; its log:" >&2
            tail -n 20 "$WORK/fbnull.log" >&2
            exit 1
        fi
        sleep 0.05
    done
    t1=$(date +%s.%N)
    c=$(ticks "$FB_PID")
    kill "$FB_PID"
    wait "$FB_PID" || true
    FB_PID=""
    awk -v c="$c" -v hz="$HZ" -v n="$N" 'BEGIN {
        cpu = c / hz
        printf "fluent-bit tail->null (no loki)\t-\t-\t%.3f\t%d\t-\t-\n", cpu / (n / 1e6), n / cpu }'
}

if [ -n "$FB" ]; then
    "$BUILD/bench_delivery" --lines "$WORK/lines.log" "$N"
fi
echo "loki_delivery: $N records of 100 bytes, $RUNS run(s) per case, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for delay in $DELAYS; do
    start_sink "$delay"
    for _ in $(seq 1 "$RUNS"); do
        for enc in protobuf json; do
            run_logcap "$enc" "$delay" | tail -n 1 >>"$WORK/rows"
        done
        if [ -n "$FB" ]; then
            run_fluentbit "$delay" >>"$WORK/rows"
        fi
    done
    stop_sink
done
if [ -n "$FB" ]; then
    start_sink 0 # only for a free port number next to it
    for _ in $(seq 1 "$RUNS"); do
        run_fluentbit_null >>"$WORK/rows"
    done
    stop_sink
fi

echo
echo "| agent, body | sink delay | records/s | CPU-s per million | records per CPU-s | requests | sink CPU-s per million |"
echo "|---|---|---|---|---|---|---|"
awk -F'\t' '{ d = $2 == "-" ? "-" : $2 " ms"
    printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, d, $3, $4, $5, $6, $7 }' "$WORK/rows"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
