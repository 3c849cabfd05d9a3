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

BENCH_STARTED_DOCKER=0
bench_cleanup() {
    if [ "$BENCH_STARTED_DOCKER" = 1 ]; then
        tests/env/docker-down || true
    fi
}

# Makes sure the private dockerd answers (and holds the test image).
bench_docker_up() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    if ! tests/env/docker-up --status 2>/dev/null; then
        BENCH_STARTED_DOCKER=1
    fi
    tests/env/docker-up
}
