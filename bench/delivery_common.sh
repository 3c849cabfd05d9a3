# delivery_common.sh: what the delivery benchmarks (loki_delivery.sh, kafka_delivery.sh)
# share (sourced, not run): the build directory and its binaries, Fluent Bit, a work
# directory, and CPU ticks of a process.
#
# delivery_setup NAME BINARY...: sets ROOT (the repository), BUILD (LCB_BUILD, default
# build, made absolute), FB (FLUENT_BIT, default the shared build; "" when absent: Fluent
# Bit is skipped), HZ and WORK (a new directory under /tmp, which the caller removes);
# exits when a BINARY is missing from BUILD.
delivery_setup() {
    local name=$1 b
    shift
    ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    BUILD=${LCB_BUILD:-$ROOT/build}
    case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
    FB=${FLUENT_BIT-/work/shared/tools/fluent-bit/bin/fluent-bit}
    HZ=$(getconf CLK_TCK)
    for b in "$@"; do
        if [ ! -x "$BUILD/$b" ]; then
            echo "$name: $BUILD/$b missing; configure with -DLOGCAP_BENCH=ON and build" >&2
            exit 1
        fi
    done
    if [ -n "$FB" ] && [ ! -x "$FB" ]; then
        echo "$name: $FB not found: Fluent Bit is skipped" >&2
        FB=""
    fi
    WORK=$(mktemp -d "/tmp/lcb-$name.XXXXXX")
}

# ticks PID: its utime+stime in clock ticks (every thread of the process).
ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# fb_tail_config [SERVICE_LINES]: the head of a Fluent Bit config whose tail input reads
# $WORK/lines.log from its start (tag bench), up to and including its "outputs:" key;
# SERVICE_LINES (YAML lines indented two spaces, each ending in a newline) go into its
# service section.
fb_tail_config() {
    printf 'service:\n  flush: 1\n  log_level: warn\n%s' "${1:-}"
    cat <<EOF
pipeline:
  inputs:
    - name: tail
      tag: bench
      path: $WORK/lines.log
      read_from_head: true
      buffer_chunk_size: 256k
      buffer_max_size: 1m
  outputs:
EOF
}
