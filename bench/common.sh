# common.sh: what the long benchmarks share (sourced, not run): the logcap binary to
# measure, and the test suite's private dockerd, started if it is not up and stopped again
# at exit only if this script started it.

# shellcheck source=../tests/env/common.sh
. tests/env/common.sh

# Sets BIN to LOGCAP_BIN (default build/logcap) made absolute, or exits when it is missing.
bench_binary() {
    BIN=${LOGCAP_BIN:-build/logcap}
    case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
    if [ ! -x "$BIN" ]; then
        echo "$(basename "$0"): $BIN not found; build it: cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j2" >&2
        exit 1
    fi
}

# bench_remove_containers PREFIX: removes the containers whose names start with PREFIX
# (when dockerd answers).
bench_remove_containers() {
    local ids
    lct_docker_answers || return 0
    ids=$(docker ps -aq --filter "name=^/$1")
    # shellcheck disable=SC2086
    [ -z "$ids" ] || docker rm -f $ids >/dev/null
}

# bench_stop PID: SIGTERM, then SIGKILL after 10 s, and waits (nothing when PID is empty or
# gone).
bench_stop() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
    kill -TERM "$1"
    for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && kill -KILL "$1"
    wait "$1" 2>/dev/null
}

# ticks PID: its utime+stime in clock ticks (every thread of the process).
ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# At exit: the script's own bench_on_exit (when it defines one: stop what it started,
# remove its containers and files), then the private dockerd if this script started it.
BENCH_STARTED_DOCKER=0
bench_cleanup() {
    set +e
    if declare -F bench_on_exit >/dev/null; then
        bench_on_exit
    fi
    if [ "$BENCH_STARTED_DOCKER" = 1 ]; then
        tests/env/docker-down || true
    fi
}

# Makes sure the private dockerd answers (and holds the test image); from then on the exit
# runs bench_cleanup.
bench_docker_up() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    if ! tests/env/docker-up --status 2>/dev/null; then
        BENCH_STARTED_DOCKER=1
    fi
    tests/env/docker-up
}
