#!/usr/bin/env bash
# soak.sh: the long check of issue 3. 55 containers each log 10 lines per second for an
# hour under logcap with its default timeouts; every minute logcap's file descriptors,
# threads and RSS are sampled and printed as a table row. At the end: no task failure or
# restart (/metrics), no line lost or doubled (every container's lines compared with
# `docker logs`), and descriptors, threads and RSS flat after the first five minutes.
#
#   bench/soak.sh [MINUTES]          (default 60)
#   bench/soak.sh 3                  (a quick run; samples every 20 s, flat after 1 min)
#
# Not part of tests/run. Uses the test suite's private dockerd (tests/env/docker-up;
# stopped again at the end if this script started it) and its helpers
# (tests/integration/lchelpers.py). Every container is named lct-soak<hex>-NN and removed
# at the end, as is the work directory (kept with LCT_KEEP_TMP=1).
#
# Environment: LOGCAP_BIN (default build/logcap), SOAK_CONTAINERS (55), SOAK_LINES_PER_S
# (10), SOAK_SAMPLE_S (60; 20 for runs under 10 minutes), SOAK_FLAT_AFTER_MIN (5; 1 for
# runs under 10 minutes), SOAK_RSS_SLACK_KIB (4096: RSS growth allowed after the flat
# point, besides 5 %).
#
# Flat means: the same number of threads in every sample after the flat point; file
# descriptors within 2 of each other (an idle pooled Docker connection may come and go);
# RSS at the end at most 5 % + SOAK_RSS_SLACK_KIB above the first sample after the flat
# point. The last line is machine-readable: RESULT key=value ...; the exit status is 0
# only when every check passed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=common.sh
. bench/common.sh

MINUTES=${1:-${SOAK_MINUTES:-60}}
case "$MINUTES" in '' | *[!0-9.]*) echo "usage: $0 [MINUTES]" >&2; exit 2 ;; esac

bench_binary
bench_docker_up

LOGCAP_BIN="$BIN" SOAK_MINUTES="$MINUTES" /usr/bin/python3 - <<'EOF'
import os
import sys
import time

sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
import lchelpers as h  # noqa: E402

minutes = float(os.environ["SOAK_MINUTES"])
short = minutes < 10
n = int(os.environ.get("SOAK_CONTAINERS", "55"))
rate = int(os.environ.get("SOAK_LINES_PER_S", "10"))
sample_s = float(os.environ.get("SOAK_SAMPLE_S", "20" if short else "60"))
flat_after = 60 * float(os.environ.get("SOAK_FLAT_AFTER_MIN", "1" if short else "5"))
rss_slack = int(os.environ.get("SOAK_RSS_SLACK_KIB", "4096"))
duration = 60 * minutes

prefix = "lct-soak%s-" % os.urandom(3).hex()
workdir = h.make_workdir()
cs = h.Containers(prefix)
# Default timeouts: only the quieter log level differs from the suite's config.
lc = h.Logcap(workdir, prefix, label="soak", config={"log_level": "warn"})
# RATE lines per second: a burst of RATE lines, then sleep 1 (a little under RATE/s).
script = ('trap "exit 0" TERM; r=$RANDOM$RANDOM$RANDOM; i=0; while true; do '
          'for j in %s; do i=$((i+1)); echo "$r $i"; done; sleep 1; done'
          % " ".join(str(k) for k in range(rate)))
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def sample(api, t0):
    m = api.metrics()
    st = api.stats()
    tasks = api.tasks()
    states = {}
    for t in tasks.values():
        if t.get("type") == "container":
            states[t["state"]] = states.get(t["state"], 0) + 1
    return {
        "t": time.monotonic() - t0,
        "fds": lc.fds(), "threads": lc.threads(), "rss_kib": lc.rss_kib(),
        "lines": sum(c["lines"]["stdout"] + c["lines"]["stderr"]
                     for c in st.get("containers", [])),
        "rotations": sum(c.get("rotations", 0) for c in st.get("containers", [])),
        "reconnects": sum(c.get("reconnects", 0) for c in st.get("containers", [])),
        "failures": m.sum("logcap_task_failures_total"),
        "restarts": m.sum("logcap_task_restarts_total"),
        "running": states.get("running", 0),
        "states": states,
    }


HEAD = "%7s %6s %8s %10s %11s %9s %10s %9s %8s %8s" % (
    "min", "fds", "threads", "rss_MiB", "lines", "running", "rotations", "reconn",
    "failures", "restarts")


def row(s):
    return "%7.1f %6d %8d %10.1f %11d %9d %10d %9d %8d %8d" % (
        s["t"] / 60, s["fds"], s["threads"], s["rss_kib"] / 1024, s["lines"], s["running"],
        s["rotations"], s["reconnects"], s["failures"], s["restarts"])


samples = []
try:
    lc.start()
    api = lc.wait_api()
    print("soak: %d containers x %d lines/s for %g min; logcap %s (pid %d); work dir %s"
          % (n, rate, minutes, h.logcap_bin(), lc.pid, workdir), flush=True)
    names = cs.run_many([("%02d" % k, script) for k in range(n)])
    for name in names:
        lc.wait_messages(name, rate, timeout=60)
    t0 = time.monotonic()
    print(HEAD, flush=True)
    next_sample = t0
    while True:
        now = time.monotonic()
        if now >= next_sample:
            s = sample(api, t0)
            samples.append(s)
            print(row(s), flush=True)
            if s["failures"] or s["restarts"]:
                print("        task states: %s" % s["states"], flush=True)
            next_sample += sample_s
        if now - t0 >= duration:
            break
        lc.check_alive()
        # Pacing of the samples, not a wait for a condition.
        time.sleep(min(1.0, max(0.0, next_sample - time.monotonic())))
    final = sample(api, t0)
    samples.append(final)
    print(row(final), flush=True)

    if final["failures"] or final["restarts"]:
        fail("task failures %d, restarts %d (expected none)" % (final["failures"],
                                                                final["restarts"]))
    if final["running"] != n:
        fail("%d of %d container tasks running at the end: %s" % (
            final["running"], n, final["states"]))

    print("soak: stopping the containers and comparing every line with docker logs",
          flush=True)
    cs.stop(*names)
    lost = dup = total = 0
    for name in names:
        lines = lc.wait_caught_up(cs, name, timeout=300)
        want = [(s, m) for _, s, m in lines]
        got = [(r.get("stream"), r.get("message")) for r in lc.records(name)]
        total += len(want)
        try:
            dup += h.check_exactly_once(got, want, name, allow_duplicates=True)
        except AssertionError as e:
            lost += 1
            fail(str(e)[:500])
    print("soak: %d lines from %d containers compared: %d containers with lost or "
          "unexpected lines, %d duplicates" % (total, n, lost, dup), flush=True)
    if dup:
        fail("%d duplicated lines" % dup)

    flat = [s for s in samples if s["t"] >= flat_after]
    if len(flat) < 2:
        fail("too few samples after %.0f s to judge flatness" % flat_after)
        fds_range = thr_range = rss_growth = 0
    else:
        fds_range = max(s["fds"] for s in flat) - min(s["fds"] for s in flat)
        thr_range = max(s["threads"] for s in flat) - min(s["threads"] for s in flat)
        rss_growth = flat[-1]["rss_kib"] - flat[0]["rss_kib"]
        print("soak: after %.0f min: fds %d..%d, threads %d..%d, RSS %.1f -> %.1f MiB "
              "(peak %.1f)" % (flat_after / 60, min(s["fds"] for s in flat),
                               max(s["fds"] for s in flat),
                               min(s["threads"] for s in flat),
                               max(s["threads"] for s in flat), flat[0]["rss_kib"] / 1024,
                               flat[-1]["rss_kib"] / 1024,
                               max(s["rss_kib"] for s in flat) / 1024), flush=True)
        if thr_range:
            fail("threads not flat after %.0f min (range %d)" % (flat_after / 60, thr_range))
        if fds_range > 2:
            fail("fds not flat after %.0f min (range %d)" % (flat_after / 60, fds_range))
        if rss_growth > flat[0]["rss_kib"] * 0.05 + rss_slack:
            fail("RSS grew by %.1f MiB after %.0f min" % (rss_growth / 1024,
                                                          flat_after / 60))
    lc.stop()
    secs = final["t"]
    print("RESULT containers=%d lines_per_s_each=%d minutes=%g lines=%d lines_per_s=%.0f "
          "task_failures=%d task_restarts=%d lost_containers=%d duplicates=%d "
          "fds_range=%d threads_range=%d rss_growth_kib=%d rss_end_kib=%d rotations=%d "
          "reconnects=%d ok=%d" % (
              n, rate, minutes, total, final["lines"] / secs if secs else 0,
              final["failures"], final["restarts"], lost, dup, fds_range, thr_range,
              rss_growth, final["rss_kib"], final["rotations"], final["reconnects"],
              0 if failures else 1), flush=True)
except BaseException as e:
    fail("%s: %s" % (type(e).__name__, e))
    print("logcap stderr (tail):\n" + lc.stderr_tail(5000), file=sys.stderr)
finally:
    lc.kill_quietly()
    try:
        cs.cleanup()
    except AssertionError as e:
        print("soak: %s" % e, file=sys.stderr)
    if os.environ.get("LCT_KEEP_TMP") == "1":
        print("soak: kept %s" % workdir)
    else:
        h.remove_workdir(workdir)
sys.exit(1 if failures else 0)
EOF
