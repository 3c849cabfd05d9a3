#!/usr/bin/env bash
# churn_soak.sh: the churn soak of issue 8. For MINUTES (default 30), containers are
# created, renamed, restarted, stopped and removed without pause (some with --rm, which
# live a second or two), and logcap itself is restarted every few minutes (SIGTERM and
# SIGKILL in turn). Every 30 s logcap's RSS, file descriptors and threads are sampled with
# what it keeps per container over time: the metadata its spool carries in every
# checkpoint, the size of the last checkpoint, and the slots of each output's reader
# table. After the warm-up these must be flat: bounded by the containers alive, not by the
# containers ever seen. File descriptors are judged apart from those of the file output's
# log files, a cache of at most 128 open files that keeps those of renamed and removed
# containers until newer ones push them out. And no line is lost: before a container is removed logcap must
# have its last line, and every container's records are compared with `docker logs`.
#
#   bench/churn_soak.sh [MINUTES]     (default 30; `bench/churn_soak.sh 4` for a quick run)
#
# Not part of tests/run. Uses the test suite's private dockerd (tests/env/docker-up) and
# its helpers (tests/integration/lchelpers.py). Containers are named lct-churn<hex>-...
# and removed at the end, as is the work directory (kept with LCT_KEEP_TMP=1).
#
# Environment: LOGCAP_BIN (default build/logcap), CHURN_LIVE (long-lived containers kept,
# default 12), CHURN_RESTART_S (seconds between logcap restarts, default 180),
# CHURN_WARMUP_MIN (default 5; 1 for runs under 10 minutes), CHURN_RSS_SLACK_KIB (4096).
#
# The last line is machine-readable: RESULT key=value ...; the exit status is 0 only when
# every check passed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=common.sh
. bench/common.sh

MINUTES=${1:-${CHURN_MINUTES:-30}}
case "$MINUTES" in '' | *[!0-9.]*) echo "usage: $0 [MINUTES]" >&2; exit 2 ;; esac

bench_binary
bench_docker_up

LOGCAP_BIN="$BIN" CHURN_MINUTES="$MINUTES" /usr/bin/python3 - <<'EOF'
import collections
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
import lchelpers as h  # noqa: E402

minutes = float(os.environ["CHURN_MINUTES"])
short = minutes < 10
live_max = int(os.environ.get("CHURN_LIVE", "12"))
restart_s = float(os.environ.get("CHURN_RESTART_S", "180"))
warmup = 60 * float(os.environ.get("CHURN_WARMUP_MIN", "1" if short else "5"))
rss_slack = int(os.environ.get("CHURN_RSS_SLACK_KIB", "4096"))
sample_s = 30.0
duration = 60 * minutes
rng = random.Random(int(os.environ.get("CHURN_SEED", str(int(time.time())))))

prefix = "lct-churn%s-" % os.urandom(3).hex()
workdir = h.make_workdir()
cs = h.Containers(prefix)
# Small segments: a checkpoint (every container's metadata and position) starts each one,
# so rotations every few seconds show whether it stays the size of the live set.
lc = h.Logcap(workdir, prefix, label="churn",
              config={"log_level": "warn", "spool": {"segment_bytes": "64KiB"}})
LONG = ('trap "exit 0" TERM; r=$RANDOM$RANDOM$RANDOM; i=0; while true; do i=$((i+1)); '
        'echo "$r $i"; if [ $((i % 3)) = 0 ]; then echo "$r $i err" >&2; fi; sleep 0.2; done')
SHORT = 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "quick $i"; done; echo "quick err" >&2'

failures = []
counts = collections.Counter()
expected = {}      # container id -> [(stream, message)] from docker logs before removal
live = {}          # name -> id of the long-lived containers
serial = [0]


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def new_name(kind):
    serial[0] += 1
    return "%s%d" % (kind, serial[0])


def cid_of(name):
    return cs.inspect(name)["Id"]


def retire(name):
    """Stops NAME, waits until logcap has read it to its end (its task is stopped) and
    delivered what it read, keeps docker's view of its lines, and removes it. (Its records
    may be in the files of several names: it may have been renamed.)"""
    cid = live.pop(name)
    cs.stop(name)
    api = lc.api
    lc.wait_task("container_" + cid[:12], lambda t: t["state"] == "stopped", 120,
                 "%s read to its end" % name, api=api)
    lc.wait_for(lambda: all(o["backlog_records"] == 0 for o in api.stats()["outputs"]), 120,
                "the outputs to deliver what was read")
    expected[cid] = [(s, m) for _, s, m in cs.logs(name)]
    h.docker("rm", "-f", name)
    counts["removed"] += 1


def step():
    r = rng.random()
    if len(live) < live_max or r < 0.15:
        name = cs.run(new_name("l"), LONG)
        live[name] = cid_of(name)
        counts["created"] += 1
    elif r < 0.45:
        cs.run(new_name("q"), SHORT, rm=True)
        counts["rm_created"] += 1
    elif r < 0.6:
        old = rng.choice(sorted(live))
        name = cs.name(new_name("n"))
        h.docker("rename", old, name)
        live[name] = live.pop(old)
        counts["renamed"] += 1
    elif r < 0.75:
        h.docker("restart", "-t", "1", rng.choice(sorted(live)))
        counts["restarted"] += 1
    else:
        retire(rng.choice(sorted(live)))


def output_files():
    """logcap's descriptors open on files of its file output: its cache of log files (at
    most 128, the least recently written closed first), which keeps files of renamed and
    removed containers until they are pushed out."""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % lc.pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (lc.pid, fd)).startswith(lc.logs_dir + "/")
        except OSError:
            pass
    return n


def sample(t0):
    api = lc.api
    st = api.stats()
    sp = st.get("spool", {})
    readers = [o.get("reader_meta_slots", 0) for o in st.get("outputs", [])]
    return {
        "t": time.monotonic() - t0, "fds": lc.fds(), "files": output_files(),
        "threads": lc.threads(),
        "rss_kib": lc.rss_kib(), "containers": len(st.get("containers", [])),
        "live": len(live) + 1, "metadata": sp.get("metadata", -1),
        "checkpoint": sp.get("checkpoint_bytes", -1),
        "reader": max(readers) if readers else -1,
    }


HEAD = "%6s %5s %6s %7s %8s %10s %9s %9s %10s %7s %8s" % (
    "min", "fds", "files", "threads", "rss_MiB", "followed", "alive", "metadata", "ckpt_B",
    "reader", "created")


def row(s):
    return "%6.1f %5d %6d %7d %8.1f %10d %9d %9d %10d %7d %8d" % (
        s["t"] / 60, s["fds"], s["files"], s["threads"], s["rss_kib"] / 1024, s["containers"],
        s["live"],
        s["metadata"], s["checkpoint"], s["reader"], counts["created"] + counts["rm_created"])


samples = []
restarts = 0
try:
    lc.start()
    lc.wait_api()
    lc.wait_task("docker_events", lambda t: t["state"] == "running", 20, "the event stream")
    print("churn soak: %g min, %d long-lived containers, logcap %s restarted every %.0f s; "
          "work dir %s" % (minutes, live_max, h.logcap_bin(), restart_s, workdir), flush=True)
    print(HEAD, flush=True)
    t0 = time.monotonic()
    next_sample, next_restart = t0, t0 + restart_s
    while time.monotonic() - t0 < duration:
        now = time.monotonic()
        if now >= next_sample:
            s = sample(t0)
            samples.append(s)
            print(row(s), flush=True)
            next_sample += sample_s
        if now >= next_restart:
            kill = restarts % 2 == 1
            lc.stop(kill=kill)
            lc.start()
            lc.wait_api()
            lc.wait_task("docker_events", lambda t: t["state"] == "running", 20,
                         "the event stream")
            restarts += 1
            next_restart += restart_s
        lc.check_alive()
        step()
    final = sample(t0)
    samples.append(final)
    print(row(final), flush=True)

    print("churn soak: retiring the %d live containers and comparing every line" % len(live),
          flush=True)
    for name in sorted(live):
        retire(name)
    lc.stop()
    got = collections.defaultdict(list)
    for name in lc.files():
        for r in lc.records(name, complete=True):
            got[r.get("container_id")].append((r.get("stream"), r.get("message")))
    lost = dup = total = 0
    for cid, want in expected.items():
        total += len(want)
        try:
            dup += h.check_exactly_once(got.get(cid, []), want, cid[:12], allow_duplicates=True)
        except AssertionError as e:
            lost += 1
            fail(str(e)[:400])
    quick = [recs for cid, recs in got.items() if cid not in expected]
    quick_whole = sum(1 for recs in quick if len(recs) == 11)
    print("churn soak: %d lines of %d containers compared: %d with lost or unexpected "
          "lines, %d duplicates (after %d restarts of logcap, %d of them SIGKILL); --rm "
          "containers: %d created, %d captured whole" % (
              total, len(expected), lost, dup, restarts, restarts // 2, counts["rm_created"],
              quick_whole), flush=True)

    flat = [s for s in samples if s["t"] >= warmup]
    if len(flat) < 2:
        fail("too few samples after the warm-up")
        flat = samples
    rng_of = lambda k: (min(s[k] for s in flat), max(s[k] for s in flat))  # noqa: E731
    fds, files, thr, meta, ckpt, rdr = (rng_of(k) for k in ("fds", "files", "threads",
                                                             "metadata", "checkpoint", "reader"))
    other = (min(s["fds"] - s["files"] for s in flat), max(s["fds"] - s["files"] for s in flat))
    alive_max = max(s["live"] for s in flat)
    rss_growth = flat[-1]["rss_kib"] - flat[0]["rss_kib"]
    print("churn soak: after %.0f min: fds %d..%d (%d..%d on the file output's log files, "
          "%d..%d others), threads %d..%d, RSS %.1f -> %.1f MiB, "
          "metadata %d..%d (containers alive <= %d), checkpoint %d..%d B, reader slots "
          "%d..%d" % (warmup / 60, fds[0], fds[1], files[0], files[1], other[0], other[1],
                      thr[0], thr[1], flat[0]["rss_kib"] / 1024,
                      flat[-1]["rss_kib"] / 1024, meta[0], meta[1], alive_max, ckpt[0],
                      ckpt[1], rdr[0], rdr[1]), flush=True)
    if meta[0] < 0 or rdr[0] < 0 or ckpt[0] < 0:
        fail("logcap's /stats lacks spool.metadata, spool.checkpoint_bytes or an output's "
             "reader_meta_slots")
    if meta[1] > 2 * alive_max + 8:
        fail("metadata grew to %d with at most %d containers alive" % (meta[1], alive_max))
    if rdr[1] > 256:
        fail("a reader table grew to %d slots" % rdr[1])
    if ckpt[1] > 2 * max(ckpt[0], 1) + 8192:
        fail("checkpoint grew from %d to %d bytes" % (ckpt[0], ckpt[1]))
    if files[1] > 128:
        fail("the file output held %d log files open (its cache keeps 128)" % files[1])
    if other[1] - other[0] > alive_max + 4:
        fail("fds other than log files %d..%d with at most %d containers alive" % (
            other[0], other[1], alive_max))
    if rss_growth > flat[0]["rss_kib"] * 0.05 + rss_slack:
        fail("RSS grew by %.1f MiB after the warm-up" % (rss_growth / 1024))
    print("RESULT minutes=%g created=%d rm_created=%d renamed=%d restarted=%d removed=%d "
          "logcap_restarts=%d lines=%d lost_containers=%d duplicates=%d fds_min=%d fds_max=%d "
          "log_files_max=%d other_fds_min=%d other_fds_max=%d "
          "threads_min=%d threads_max=%d rss_start_kib=%d rss_end_kib=%d metadata_max=%d "
          "alive_max=%d checkpoint_min=%d checkpoint_max=%d reader_slots_max=%d ok=%d" % (
              minutes, counts["created"], counts["rm_created"], counts["renamed"],
              counts["restarted"], counts["removed"], restarts, total, lost, dup, fds[0],
              fds[1], files[1], other[0], other[1], thr[0], thr[1], flat[0]["rss_kib"],
              flat[-1]["rss_kib"], meta[1], alive_max, ckpt[0], ckpt[1], rdr[1], 0 if failures else 1), flush=True)
except BaseException as e:
    fail("%s: %s" % (type(e).__name__, e))
    print("logcap stderr (tail):\n" + lc.stderr_tail(5000), file=sys.stderr)
finally:
    lc.kill_quietly()
    try:
        cs.cleanup()
    except AssertionError as e:
        print("churn soak: %s" % e, file=sys.stderr)
    if os.environ.get("LCT_KEEP_TMP") == "1":
        print("churn soak: kept %s" % workdir)
    else:
        h.remove_workdir(workdir)
sys.exit(1 if failures else 0)
EOF
