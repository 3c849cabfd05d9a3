# common.sh: shared settings and functions of the test environment (sourced, not run).
#
# The test suite runs its own private dockerd, never the host's: tests may restart it,
# and they can never see or touch the host's containers. Everything it owns lives under
# LCT_RUN (sockets, pids, logs; removed by docker-down) and LCT_DATA (images and
# containers; kept between runs so the test image is imported once).
#
# Safety: dockerd runs with no bridge, no iptables and no IP forwarding; every test
# container runs with --network none. Processes are stopped only by the PID in their
# own pidfile, after checking that the PID still names the expected program.

LCT_RUN=${LCT_RUN:-/run/logcap-test}
LCT_DATA=${LCT_DATA:-/var/lib/logcap-test/docker}
LCT_SOCK="$LCT_RUN/docker.sock"
LCT_EXEC="$LCT_RUN/exec"
LCT_PIDFILE="$LCT_RUN/dockerd.pid"
LCT_LOG="$LCT_RUN/dockerd.log"
LCT_DAEMON_JSON="$LCT_RUN/daemon.json"
LCT_CONTAINERD_PIDFILE="$LCT_EXEC/containerd/containerd.pid"
LCT_IMAGE=${LCT_IMAGE:-logcap-test:busybox}
export DOCKER_HOST="unix://$LCT_SOCK"

# The exact dockerd command line. Tests restart the daemon with the same arguments.
# --config-file points at our own (empty) daemon.json so that a host /etc/docker/daemon.json
# cannot change the logging driver or anything else under the tests. The containerd
# namespaces only matter if dockerd finds a system containerd to share; by default it
# starts its own under the exec-root.
LCT_DOCKERD_ARGS=(
    -H "unix://$LCT_SOCK"
    --data-root "$LCT_DATA"
    --exec-root "$LCT_EXEC"
    --pidfile "$LCT_PIDFILE"
    --config-file "$LCT_DAEMON_JSON"
    --bridge=none --iptables=false --ip-forward=false --ip-masq=false
    --log-driver json-file
    --containerd-namespace logcap-test
    --containerd-plugins-namespace logcap-test-plugins
)

lct_log() {
    echo "docker-env: $*" >&2
}

# Prints the PID in PIDFILE if it names a live process whose command is COMM.
lct_pid_of() { # PIDFILE COMM
    local pidfile=$1 comm=$2 pid
    [ -r "$pidfile" ] || return 1
    pid=$(tr -dc '0-9' <"$pidfile")
    [ -n "$pid" ] || return 1
    [ -r "/proc/$pid/comm" ] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
    echo "$pid"
}

lct_dockerd_pid() {
    lct_pid_of "$LCT_PIDFILE" dockerd
}

lct_docker_answers() {
    timeout 10 docker -H "unix://$LCT_SOCK" version >/dev/null 2>&1
}

# Waits (deadline SECONDS) for process PID to exit.
lct_wait_exit() { # PID SECONDS
    local pid=$1 deadline=$((SECONDS + $2))
    while [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.1
    done
    return 0
}

lct_start_dockerd() {
    mkdir -p "$LCT_RUN" "$LCT_EXEC" "$LCT_DATA"
    [ -f "$LCT_DAEMON_JSON" ] || echo '{}' >"$LCT_DAEMON_JSON"
    lct_log "starting private dockerd on $LCT_SOCK (log: $LCT_LOG)"
    echo "=== $(date -Is) dockerd ${LCT_DOCKERD_ARGS[*]}" >>"$LCT_LOG"
    # setsid: the daemon outlives the shell that started it and is not hit by signals
    # sent to the test runner's process group.
    setsid dockerd "${LCT_DOCKERD_ARGS[@]}" </dev/null >>"$LCT_LOG" 2>&1 &
    local launcher=$! deadline=$((SECONDS + 60)) pid
    while :; do
        pid=$(lct_dockerd_pid || true)
        if [ -n "$pid" ] && lct_docker_answers; then
            lct_log "private dockerd answers (pid $pid)"
            return 0
        fi
        if [ -z "$pid" ] && ! kill -0 "$launcher" 2>/dev/null; then
            lct_log "dockerd exited during start; last lines of $LCT_LOG:"
            tail -n 30 "$LCT_LOG" >&2
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            lct_log "dockerd did not answer within 60 s; last lines of $LCT_LOG:"
            tail -n 30 "$LCT_LOG" >&2
            return 1
        fi
        sleep 0.2
    done
}

# Stops the private dockerd (SIGTERM by its pidfile, wait), then its containerd if that
# is still running. dockerd stops its containers first (up to their stop timeout).
lct_stop_dockerd() {
    local pid cpid
    pid=$(lct_dockerd_pid || true)
    if [ -n "$pid" ]; then
        lct_log "stopping private dockerd (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        if ! lct_wait_exit "$pid" 60; then
            lct_log "dockerd $pid still running after 60 s; SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            lct_wait_exit "$pid" 10 || true
        fi
    fi
    cpid=$(lct_pid_of "$LCT_CONTAINERD_PIDFILE" containerd || true)
    if [ -n "$cpid" ]; then
        lct_log "stopping private containerd (pid $cpid)"
        kill -TERM "$cpid" 2>/dev/null || true
        if ! lct_wait_exit "$cpid" 30; then
            kill -KILL "$cpid" 2>/dev/null || true
            lct_wait_exit "$cpid" 10 || true
        fi
    fi
}

# Removes the containers a killed test run may have left behind (names lct-*).
lct_remove_stale_containers() {
    local ids
    ids=$(docker -H "unix://$LCT_SOCK" ps -aq --filter 'name=^/lct-' 2>/dev/null || true)
    if [ -n "$ids" ]; then
        lct_log "removing $(echo "$ids" | wc -l) leftover test containers"
        # shellcheck disable=SC2086
        docker -H "unix://$LCT_SOCK" rm -f $ids >/dev/null 2>&1 || true
    fi
}

# Imports the test image: busybox-static with a symlink per applet, unless it exists.
lct_ensure_image() {
    if docker -H "unix://$LCT_SOCK" image inspect "$LCT_IMAGE" >/dev/null 2>&1; then
        return 0
    fi
    local bb tmp applet
    bb=/bin/busybox
    if ! "$bb" --list >/dev/null 2>&1 || ! file_is_static "$bb"; then
        lct_log "need a static /bin/busybox (package busybox-static)"
        return 1
    fi
    tmp=$(mktemp -d /tmp/lct-image.XXXXXX)
    mkdir -p "$tmp/root/bin" "$tmp/root/tmp" "$tmp/root/etc" "$tmp/root/proc" \
        "$tmp/root/sys" "$tmp/root/dev"
    chmod 1777 "$tmp/root/tmp"
    cp "$bb" "$tmp/root/bin/busybox"
    for applet in $("$bb" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$tmp/root/bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$tmp/root/etc/passwd"
    echo 'root:x:0:' >"$tmp/root/etc/group"
    tar -C "$tmp/root" --numeric-owner --owner=0 --group=0 -cf "$tmp/image.tar" .
    lct_log "importing $LCT_IMAGE"
    if ! docker -H "unix://$LCT_SOCK" import \
        --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' \
        "$tmp/image.tar" "$LCT_IMAGE" >/dev/null; then
        rm -rf "$tmp"
        return 1
    fi
    rm -rf "$tmp"
}

file_is_static() {
    # A dynamically linked busybox would not run in an image holding nothing else.
    ! readelf -l "$1" 2>/dev/null | grep -q INTERP
}
