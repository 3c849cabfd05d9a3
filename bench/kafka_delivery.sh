#!/usr/bin/env bash
# kafka_delivery.sh: issue 12's Kafka benchmark. logcap's Kafka output delivers a spool of N
# records of 100 bytes to librdkafka's mock cluster (tests/kafka/kafkamock.c, another
# process: three brokers, a topic of 6 partitions per case), with zstd and without
# compression (lz4 too); Fluent Bit's kafka output delivers the same N lines, read by its
# tail input from a file, to the same cluster, side by side.
#
#   bench/kafka_delivery.sh [N] [RUNS]        (defaults: 1000000 1)
#
# Needs a build with -DLOGCAP_BENCH=ON and the tests on (bench_delivery, kafkamock):
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOGCAP_BENCH=ON && cmake --build build -j2
#
# What each side does in its measured window:
#  - logcap (bench_delivery --output): reads its spool from the oldest record, renders each
#    record (key: the container name, value: the record's JSON line as the file output
#    writes it, about 420 bytes), produces a batch, waits for every delivery report
#    (idempotent producer, acks=all), moves its cursor. CPU: getrusage of the whole process
#    over the delivery only, librdkafka's threads included (filling the spool is not
#    counted).
#  - Fluent Bit: from its start, tails the file (read_from_head) and produces each line as
#    JSON ({"@timestamp":..,"log":".."}, about 150 bytes) with the same compression,
#    `rdkafka.enable.idempotence: true`. CPU: utime+stime from /proc/PID/stat when the
#    cluster holds N messages in its topic.
# The mock cluster's own CPU per million messages is shown too (it decompresses nothing: it
# stores the message sets as they come).
#
# Environment: LCB_BUILD (build dir, default build), FLUENT_BIT (default
# /work/shared/tools/fluent-bit/bin/fluent-bit; "" skips it), LCB_CODECS (default
# "zstd none lz4"), LCB_EXTRA (YAML lines for logcap's output section, see bench_delivery.c).
set -euo pipefail

N=${1:-1000000}
RUNS=${2:-1}
# shellcheck source=delivery_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/delivery_common.sh"
delivery_setup kafka_delivery bench_delivery kafkamock
CODECS=${LCB_CODECS:-zstd none lz4}
MOCK_PID="" FB_PID=""
cleanup() {
    set +e
    [ -n "$FB_PID" ] && kill "$FB_PID" 2>/dev/null && wait "$FB_PID" 2>/dev/null
    if [ -n "$MOCK_PID" ]; then
        exec 3>&- 4<&-
        wait "$MOCK_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mock() { # COMMAND...: one command to the cluster; prints its answer's detail
    local answer
    echo "$*" >&3
    read -r answer <&4
    case "$answer" in
    ok*) echo "${answer#ok}" | sed 's/^ //' ;;
    *)
        echo "kafka_delivery: the cluster answered \"$answer\" to \"$*\"" >&2
        exit 1
        ;;
    esac
}

mkfifo "$WORK/in" "$WORK/out"
"$BUILD/kafkamock" cluster --brokers 3 --partitions 6 <"$WORK/in" >"$WORK/out" 2>"$WORK/mock.err" &
MOCK_PID=$!
exec 3>"$WORK/in" 4<"$WORK/out"
read -r line <&4
BOOTSTRAP=${line#bootstrap }
BROKERS="[${BOOTSTRAP//,/, }]"

run_logcap() { # CODEC RUN
    local topic="logcap-$1-$2" m0 m1 out got
    mock topic "$topic" 6 >/dev/null
    m0=$(ticks "$MOCK_PID")
    out=$("$BUILD/bench_delivery" "$N" --output "type: kafka
brokers: $BROKERS
topic: $topic
compression: $1" "$1")
    m1=$(ticks "$MOCK_PID")
    echo "$out" >&2
    got=$(mock written "$topic")
    if [ "$got" != "$N" ]; then
        echo "kafka_delivery: the cluster holds $got messages in $topic, not $N" >&2
        exit 1
    fi
    echo "$out" | awk -v m="$((m1 - m0))" -v hz="$HZ" -v n="$N" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "logcap\t%s\t%d\t%.3f\t%d\t%.3f\n", v["output"], v["records_per_s"],
               v["cpu_s_per_m"], v["records_per_cpu_s"], m / hz / (n / 1e6) }'
}

run_fluentbit() { # CODEC RUN
    local topic="fluentbit-$1-$2" t0 t1 c m0 m1 codec_line=""
    mock topic "$topic" 6 >/dev/null
    [ "$1" != none ] && codec_line="      rdkafka.compression.codec: $1"
    {
        fb_tail_config
        cat <<EOF
    - name: kafka
      match: bench
      brokers: $BOOTSTRAP
      topics: $topic
      format: json
      rdkafka.enable.idempotence: true
$codec_line
EOF
    } >"$WORK/fb.yaml"
    m0=$(ticks "$MOCK_PID")
    t0=$(date +%s.%N)
    "$FB" -c "$WORK/fb.yaml" >"$WORK/fb.log" 2>&1 &
    FB_PID=$!
    while :; do
        [ "$(mock written "$topic")" -ge "$N" ] && break
        if ! kill -0 "$FB_PID" 2>/dev/null; then
            echo "kafka_delivery: fluent-bit exited; its log:" >&2
            tail -n 20 "$WORK/fb.log" >&2
            exit 1
        fi
        sleep 0.05
    done
    t1=$(date +%s.%N)
    c=$(ticks "$FB_PID")
    m1=$(ticks "$MOCK_PID")
    kill "$FB_PID"
    wait "$FB_PID" || true
    FB_PID=""
    awk -v t0="$t0" -v t1="$t1" -v c="$c" -v hz="$HZ" -v n="$N" -v k="$1" \
        -v m="$((m1 - m0))" 'BEGIN {
        secs = t1 - t0; cpu = c / hz
        printf "fluent-bit tail->kafka\t%s\t%d\t%.3f\t%d\t%.3f\n", k, n / secs, cpu / (n / 1e6),
               n / cpu, m / hz / (n / 1e6) }'
}

if [ -n "$FB" ]; then
    "$BUILD/bench_delivery" --lines "$WORK/lines.log" "$N"
fi
echo "kafka_delivery: $N records of 100 bytes, $RUNS run(s) per case, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$RUNS"); do
    for codec in $CODECS; do
        run_logcap "$codec" "$r" | tail -n 1 >>"$WORK/rows"
        if [ -n "$FB" ]; then
            run_fluentbit "$codec" "$r" >>"$WORK/rows"
        fi
    done
done
mock quit >/dev/null 2>&1 || true

echo
echo "| agent | compression | records/s | CPU-s per million | records per CPU-s | mock cluster CPU-s per million |"
echo "|---|---|---|---|---|---|"
awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$WORK/rows"
