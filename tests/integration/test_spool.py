"""The durable spool between the Docker input and the outputs (issue 4): a SIGKILL crash
loop loses nothing and doubles at most one batch per kill; an output outage fills the
spool and the backlog, and everything arrives once when it ends; a full spool pauses the
Docker streams with flat memory and loses nothing; a damaged record and a torn tail are
skipped and cut at start, and their lines read again from Docker; records refused for good
go to the dead-letter file and come back by `logcap dead replay` (with logcap running and
stopped); `logcap spool inspect`; start_at of an output added later.

The outages use the test-only fault switch (POST /debug/output, builds with
-DLOGCAP_TEST_HOOKS=ON as tests/run makes)."""

import collections
import os
import random
import re
import time

import pytest

import lchelpers as h

pytestmark = pytest.mark.spool

MAX_RECORDS = 200
# Short retry waits so that an output is back within a second of the fault switch going off.
FAST_OUTPUT = {
    "batch": {"max_records": MAX_RECORDS, "max_wait": "50ms"},
    "retry": {"backoff_min": "100ms", "backoff_max": "500ms"},
}
SMALL_SPOOL = {"spool": {"segment_bytes": "64KiB", "max_bytes": "256KiB"}}
FULL_REASON = "the spool is full: inputs are paused until the outputs catch up"
# A failing output is /health's reason in its own words (issue 10): its name and error.
OUTAGE_REASON = 'output "file": test fault: the output is down'
RECENT_RESTART = "a task restarted in the last five minutes"
BAD_STATES = ("stalled", "restarting", "failed")


def pairs(recs):
    return [(r.get("stream"), r.get("message")) for r in recs]


def docker_pairs(lines):
    return [(s, m) for _, s, m in lines]


def metric(api, name, **labels):
    return api.metrics().sum(name, **labels)


def wait_metric(lc, api, name, pred, timeout, what, **labels):
    """Waits until PRED(value of NAME with LABELS) holds; returns the value."""
    seen = {}

    def cond():
        seen["v"] = metric(api, name, **labels)
        return pred(seen["v"])
    lc.wait_for(cond, timeout, "%s%s %s" % (name, labels or "", what),
                detail=lambda: "last value %s" % seen.get("v"))
    return seen["v"]


def task_state(body, tid):
    t = {x.get("id"): x for x in body.get("tasks", [])}.get(tid)
    return t.get("state") if t else None


def wait_health_ok(lc, api, timeout=20):
    """/health 200 with no task stalled, restarting or failed; "healthy", or "degraded" only
    for a task restarted in the last five minutes (by design)."""
    seen = {}

    def ok():
        st, b = api.health()
        seen["h"] = (st, b.get("status"), b.get("reason"),
                     [(t["id"], t["state"], t.get("last_error")) for t in b.get("tasks", [])
                      if t.get("state") in BAD_STATES])
        if st != 200 or seen["h"][3]:
            return None
        if b.get("status") == "healthy" or b.get("reason") == RECENT_RESTART:
            return b
        return None
    return lc.wait_for(ok, timeout, "/health healthy again", detail=lambda: seen.get("h"))


def wait_output_has(lc, path, name, want, timeout=30):
    """Waits until the file output at PATH holds every (stream, message) of WANT for
    container NAME; returns its records."""
    want = set(want)
    seen = {"n": 0, "missing": None}

    def cond():
        recs = h.read_records(path, name)
        have = set(pairs(recs))
        seen["n"] = len(recs)
        missing = want - have
        seen["missing"] = len(missing)
        return recs if not missing else None
    return lc.wait_for(cond, timeout, "%d lines of %s in %s" % (len(want), name, path),
                       detail=lambda: "have %d records, %s wanted lines missing" % (
                           seen["n"], seen["missing"]))


def finite_script(tag, n, mark_every=0, mark="", stderr_every=0):
    """Prints '<tag> <i>' for i in 1..N (with MARK appended every MARK_EVERY lines, to
    stderr every STDERR_EVERY lines), then '<tag> end', then idles until SIGTERM."""
    body = 'm="%s $i"; ' % tag
    if mark_every:
        body += 'if [ $((i %% %d)) -eq 0 ]; then m="$m %s"; fi; ' % (mark_every, mark)
    if stderr_every:
        body += 'if [ $((i %% %d)) -eq 0 ]; then echo "$m" >&2; else echo "$m"; fi; ' % \
            stderr_every
    else:
        body += 'echo "$m"; '
    return ('trap "exit 0" TERM; i=0; while [ $i -lt %d ]; do i=$((i+1)); %sdone; '
            'echo "%s end"; while true; do sleep 1; done' % (n, body, tag))


def wait_printed(lc, containers, name, timeout=30):
    """Waits until container NAME (a finite_script) printed its last line; returns its
    (stream, message) pairs as docker logs shows them."""
    def cond():
        lines = docker_pairs(containers.logs(name))
        return lines if any(m.endswith(" end") for _, m in lines) else None
    return lc.wait_for(cond, timeout, "%s to print its lines" % name)


def spool_stats(api):
    return api.stats()["spool"]


def output_stats(api, name="file"):
    for o in api.stats()["outputs"]:
        if o["name"] == name:
            return o
    raise AssertionError("/stats lists no output %s" % name)


# --------------------------------------------------------------------------- crash loop

@pytest.mark.slow
@pytest.mark.crashloop
def test_crash_loop(containers, logcap, record_property):
    """10 containers log ~30 lines/s each while logcap is killed with SIGKILL at 20 random
    moments over about two minutes and started again each time. At the end every line of
    every container is in the file output, and the duplicates are at most one batch
    (batch.max_records) per kill. The seed is printed; LCT_CRASHLOOP_SEED=N repeats it."""
    n_containers, kills = 10, 20
    seed = int(os.environ.get("LCT_CRASHLOOP_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print("\ncrash loop seed %d (LCT_CRASHLOOP_SEED=%d repeats it)" % (seed, seed))
    record_property("crashloop_seed", seed)
    lc = logcap(output=FAST_OUTPUT).start()
    lc.wait_api()
    names = containers.run_many([("cl%02d" % k, h.counter_script(interval="0.03"))
                                 for k in range(n_containers)])
    for n in names:
        lc.wait_messages(n, 10, timeout=30)

    # 20 random moments in two minutes, at least 0.3 s apart: some kills land during
    # recovery and start-up, most while every stream is flowing.
    moments = sorted(rng.uniform(0.0, 120.0) for _ in range(kills))
    delays = [max(0.3, b - a) for a, b in zip([0.0] + moments, moments)]
    t_start = time.monotonic()
    lives = []
    for k, delay in enumerate(delays):
        t0 = time.monotonic()
        # Pacing of the kills (the random moment itself), not a wait for a condition.
        while time.monotonic() - t0 < delay:
            lc.check_alive()
            time.sleep(min(0.1, max(0.0, delay - (time.monotonic() - t0))))
        try:
            lc.check_alive()
        except h.Fatal as e:
            raise AssertionError("before kill %d: %s" % (k + 1, e))
        lc.stop(kill=True)
        lives.append(round(time.monotonic() - t0, 2))
        lc.start()
    loop_s = time.monotonic() - t_start
    api = lc.wait_api(timeout=30)
    print("%d kills in %.1f s; lifetimes before each kill: %s" % (kills, loop_s, lives))

    dups = h.compare_with_docker(lc, containers, names, allow_duplicates=True, timeout=120)
    wait_metric(lc, api, "logcap_output_backlog_records", lambda v: v == 0, 30,
                "to be 0 once logcap caught up", output="file")
    total = sum(len(lc.records(n)) for n in names) - dups
    stderr = lc.stderr_text()
    torn = len(re.findall(r"cut a torn tail of \d+ bytes", stderr))
    damaged = re.findall(r"skipped \d+ damaged regions", stderr)
    print("crash loop: seed %d, kills %d, lines %d, duplicates %d (bound %d = kills x "
          "batch.max_records), torn tails cut at recovery %d, damaged-region messages %d"
          % (seed, kills, total, dups, kills * MAX_RECORDS, torn, len(damaged)))
    record_property("crashloop_kills", kills)
    record_property("crashloop_lines", total)
    record_property("crashloop_duplicates", dups)
    assert dups <= kills * MAX_RECORDS, \
        "%d duplicated lines after %d kills: more than one batch (%d) per kill" % (
            dups, kills, MAX_RECORDS)
    assert not damaged, "SIGKILL cannot damage a written record, yet recovery said %s" % (
        damaged[:5],)
    lc.stop()


# ------------------------------------------------------------------------ output outage

def test_output_outage(containers, logcap):
    """The file output fails every send (fault switch retry) while 3 containers log: its
    backlog and the spool's records grow, retries are counted, nothing new is written,
    /health is degraded with the output's error (output_file restarting). When the outage ends every line
    arrives exactly once, the backlog goes back to 0 and /health is healthy again."""
    # Retry waits of 0.5-1 s: the task shows "restarting" for a few seconds (several /health
    # snapshots) before LC_TASK_FAILED_AFTER (5) failed sends in a row make it "failed".
    lc = logcap(output=h.deep_merge(FAST_OUTPUT, {"retry": {"backoff_min": "500ms",
                                                            "backoff_max": "1s"}})).start()
    api = lc.wait_api()
    names = containers.run_many([("out%d" % k, h.counter_script(interval="0.02"))
                                 for k in range(3)])
    for n in names:
        lc.wait_messages(n, 20)
    wait_health_ok(lc, api)
    retries0 = metric(api, "logcap_output_retries_total", output="file")
    with h.HealthRecorder(api) as rec:
        t0 = time.monotonic()
        api.fault("file", "retry")
        written0 = {n: len(lc.records(n)) for n in names}
        b1 = wait_metric(lc, api, "logcap_output_backlog_records", lambda v: v >= 100, 20,
                         "to reach 100 during the outage", output="file")
        s1 = spool_stats(api)["records"]
        wait_metric(lc, api, "logcap_output_backlog_records", lambda v: v >= b1 + 200, 20,
                    "to grow by 200 more", output="file")
        lc.wait_for(lambda: spool_stats(api)["records"] >= s1 + 200, 10,
                    "the spool's records to grow by 200 (from %d)" % s1)
        retries = metric(api, "logcap_output_retries_total", output="file")
        assert retries > retries0, "logcap_output_retries_total did not count the failed " \
            "sends (%s -> %s)" % (retries0, retries)
        st = output_stats(api)
        assert st["retries"] > 0 and st["backlog_records"] > 0, st
        assert st["oldest_unacked_age_s"] > 0, st
        # At most the batch that was on its way when the switch flipped reached the file.
        written = {n: len(lc.records(n)) for n in names}
        grown = sum(written.values()) - sum(written0.values())
        assert grown <= MAX_RECORDS, \
            "%d records were written during the outage (more than one batch)" % grown
        st_code, body = api.health()
        assert st_code == 200 and body["status"] == "degraded" and \
            body["reason"] == OUTAGE_REASON, (st_code, body.get("status"), body.get("reason"))
        (out,) = [o for o in body["outputs"] if o["name"] == "file"]
        assert out["failing"] and not out["config_fault"] and out["error"] == OUTAGE_REASON, out
        assert task_state(body, "output_file") in ("restarting", "failed"), \
            rec.task_states("output_file")
        assert rec.first(lambda s, b: task_state(b, "output_file") == "restarting",
                         since=t0), \
            "output_file was never shown restarting: %s" % rec.task_states("output_file")

        api.fault("file", "off")
        lc.wait_task("output_file", lambda t: t.get("state") == "running", 15,
                     "running again once the outage ended", api=api)
    h.compare_with_docker(lc, containers, names, timeout=60)
    wait_metric(lc, api, "logcap_output_backlog_records", lambda v: v == 0, 15,
                "to go back to 0", output="file")
    assert output_stats(api)["backlog_records"] == 0
    wait_health_ok(lc, api)


# --------------------------------------------------------------------------- spool full

def test_spool_full_pauses_inputs(containers, logcap, record_property, monkeypatch):
    """A 256 KiB spool with the output down and 3 containers writing fast: the spool fills,
    logcap_spool_full and logcap_backpressure_paused go to 1, /health is degraded with the
    spool-full reason; for 20 s while the containers keep writing logcap's RSS stays flat
    and the spool does not grow past max_bytes; once the output is back every line arrives
    (Docker kept them), exactly once, and the paused time is counted."""
    # Under ASan, freed memory sits in the quarantine (up to 256 MiB) instead of being
    # reused, so RSS grows with every allocation whether or not anything leaks: turn the
    # quarantine off to measure what logcap holds. (Harmless for a build without ASan.)
    asan = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS", (asan + ":quarantine_size_mb=0:"
                                        "thread_local_quarantine_size_kb=0").lstrip(":"))
    lc = logcap(SMALL_SPOOL, output=FAST_OUTPUT).start()
    api = lc.wait_api()
    api.fault("file", "retry")
    max_bytes = 256 * 1024
    names = containers.run_many([("full%d" % k, h.counter_script(interval="0.005"))
                                 for k in range(3)])
    wait_metric(lc, api, "logcap_spool_full", lambda v: v == 1, 60, "to be 1")
    assert metric(api, "logcap_backpressure_paused") == 1
    st, body = api.health()
    assert st == 200 and body["status"] == "degraded" and body["reason"] == FULL_REASON, \
        (st, body.get("status"), body.get("reason"))
    assert body["spool"]["full"] is True and body["spool"]["paused"] is True, body["spool"]
    assert body["spool"]["max_bytes"] == max_bytes, body["spool"]

    samples = []
    docker0 = sum(len(containers.logs(n)) for n in names)
    appended0 = spool_stats(api)["appended_records"]
    t_end = time.monotonic() + 20
    while time.monotonic() < t_end:
        lc.check_alive()
        samples.append((lc.rss_kib(), h.spool_bytes_on_disk(lc.data_dir),
                        spool_stats(api)["bytes"]))
        time.sleep(0.5)  # the sampling interval, not a wait for a condition
    docker1 = sum(len(containers.logs(n)) for n in names)
    sp = spool_stats(api)
    rss = [s[0] for s in samples]
    disk = [max(s[1], s[2]) for s in samples]
    print("\nspool full for 20 s: RSS %d..%d KiB, spool %d..%d bytes (max_bytes %d), "
          "docker lines %d -> %d, appended records %d -> %d" % (
              min(rss), max(rss), min(disk), max(disk), max_bytes, docker0, docker1,
              appended0, sp["appended_records"]))
    record_property("spool_full_rss_kib", (min(rss), max(rss)))
    assert docker1 >= docker0 + 1000, \
        "the containers wrote only %d lines in 20 s (the load did not keep up)" % (
            docker1 - docker0)
    assert sp["full"] and sp["paused"], sp
    assert sp["appended_records"] - appended0 <= 10, \
        "%d records were appended to a full spool" % (sp["appended_records"] - appended0)
    assert max(rss) - min(rss) <= 4 * 1024, \
        "logcap's RSS moved by %d KiB while paused (samples %s)" % (
            max(rss) - min(rss), rss)
    assert max(disk) <= max_bytes + 16 * 1024, \
        "the spool grew to %d bytes, past max_bytes %d" % (max(disk), max_bytes)

    api.fault("file", "off")
    h.compare_with_docker(lc, containers, names, timeout=120)
    wait_metric(lc, api, "logcap_spool_full", lambda v: v == 0, 15, "to go back to 0")
    wait_metric(lc, api, "logcap_backpressure_paused", lambda v: v == 0, 15, "to go back to 0")
    paused_s = metric(api, "logcap_backpressure_paused_seconds_total")
    assert paused_s >= 15, "logcap_backpressure_paused_seconds_total is %s after a pause " \
        "of more than 20 s" % paused_s
    wait_health_ok(lc, api)


# ------------------------------------------------------------------------ damaged spool

def test_damaged_spool_is_recovered(containers, logcap, record_property):
    """With the output down (records stay in the spool) logcap is stopped; one byte of one
    record's message is flipped in the oldest segment, and the newest segment is cut in
    the middle of its last frame (a torn tail). At the next start logcap logs the damaged
    region it skipped and the bytes it cut, counts both, and goes on. Nothing is lost: the
    positions of the damaged append and of the later ones of that run are not applied, so
    their lines (the damaged one too) are read again from Docker; only lines that were in
    the spool from the damaged append on may arrive twice, every other line exactly once;
    the torn tail's lines are read again from Docker."""
    lc = logcap({"spool": {"segment_bytes": "64KiB", "max_bytes": "64MiB"}},
                output=FAST_OUTPUT).start()
    api = lc.wait_api()
    api.fault("file", "retry")
    names = containers.run_many([("dmg%d" % k, h.counter_script(interval="0.01"))
                                 for k in range(3)])
    lc.wait_for(lambda: spool_stats(api)["segments"] >= 3, 30,
                "the spool to hold 3 segments", detail=lambda: spool_stats(api))
    lc.stop()
    assert all(not lc.records(n) for n in names), "the output wrote records while down"

    segs = h.spool_segments(lc.data_dir)
    assert len(segs) >= 3, segs
    # (a) one flipped byte in the message of a record in the middle of the oldest segment.
    old_id, old_path = segs[0]
    recs, frames, end, size = h.spool_records(old_path)
    assert end == size and len(recs) >= 50, (old_path, end, size, len(recs))
    victim = recs[len(recs) // 2]
    with open(old_path, "r+b") as f:
        at = victim.message_offset + len(victim.message) - 1
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0x01]))  # a digit stays a digit: no false frame magic
    damaged_msg = victim.message.decode()
    # The lines that may arrive twice: those in the spool from the damaged append on.
    held_from = next(t[0].offset for t in h.spool_transactions(frames)
                     if t[-1].end > victim.frame.offset)
    may_double = {r.message.decode() for r in recs if r.frame.offset >= held_from}
    for _, p in segs[1:]:
        may_double |= {r.message.decode() for r in h.spool_records(p)[0]}

    # (b) the newest segment cut in the middle of its last frame.
    new_id, new_path = segs[-1]
    recs_n, frames_n, end_n, size_n = h.spool_records(new_path)
    assert end_n == size_n, "the newest segment does not end with a whole frame"
    txns = h.spool_transactions(frames_n)
    last = frames_n[-1]
    cut_at = last.payload_offset + last.length // 2
    torn_from = txns[-1][0].offset  # the start of the append the cut tears
    torn_msgs = [r.message.decode() for r in recs_n if r.frame.offset >= torn_from]
    os.truncate(new_path, cut_at)
    torn_bytes = cut_at - torn_from
    print("\ndamaged record %r at offset %d of %016x.seg; torn tail: %016x.seg cut at %d "
          "(%d bytes of an append holding %s)" % (damaged_msg, at, old_id, new_id, cut_at,
                                                  torn_bytes, torn_msgs))
    record_property("torn_messages", torn_msgs)

    # spool inspect reads it the way a start does, reports the damage and changes nothing.
    before = {p: (os.path.getsize(p), os.path.getmtime(p)) for _, p in segs}
    out, head, _, _ = inspect(lc)
    m = re.search(r"^damage: (\d+) damaged regions \((\d+) bytes\) skipped, (\d+) bytes of "
                  r"torn tails", out, re.M)
    assert m and int(m.group(1)) == 1 and int(m.group(3)) == torn_bytes, \
        "spool inspect should report 1 damaged region and %d torn bytes:\n%s" % (
            torn_bytes, out)
    after = {p: (os.path.getsize(p), os.path.getmtime(p)) for _, p in segs}
    assert after == before, "spool inspect changed the segment files"

    lc.start()
    api = lc.wait_api()
    stderr = lc.stderr_text().split("----- run 2:")[-1]
    assert re.search(r"\[spool\] segment %016x: cut a torn tail of %d bytes" % (
        new_id, torn_bytes), stderr), \
        "no `segment %016x: cut a torn tail of %d bytes` in the log:\n%s" % (
            new_id, torn_bytes, stderr)
    assert re.search(r"\[spool\] segment %016x: skipped 1 damaged regions" % old_id, stderr), \
        "no `segment %016x: skipped 1 damaged regions` in the log:\n%s" % (old_id, stderr)
    assert re.search(r"\[spool\] the positions of \d+ appends written after the damage at "
                     r"segment %016x offset %d were not applied" % (old_id, victim.frame.offset),
                     stderr), \
        "no `positions ... after the damage at segment %016x offset %d were not applied` in " \
        "the log:\n%s" % (old_id, victim.frame.offset, stderr)
    sp = spool_stats(api)
    assert sp["corrupt_records"] >= 1 and sp["torn_bytes"] == torn_bytes, sp
    m = api.metrics()
    assert m.value("logcap_spool_corrupt_records_total") >= 1
    assert m.value("logcap_spool_torn_bytes_total") == torn_bytes

    containers.stop(*names)
    owners = []
    for n in names:
        want = docker_pairs(containers.logs(n))
        if damaged_msg in (p[1] for p in want):
            owners.append(n)
        wait_output_has(lc, lc.logs_dir, n, want, timeout=60)
        got = pairs(lc.records(n))
        h.check_exactly_once(got, want, n, allow_duplicates=True)
        doubled = {p[1] for p, k in collections.Counter(got).items() if k > 1}
        assert doubled <= may_double, "%s: lines before the damaged append arrived twice: %s" % (
            n, sorted(doubled - may_double)[:5])
    assert len(owners) == 1, "the damaged message %r is a line of %s" % (damaged_msg, owners)
    got = {m for n in names for m in h.messages(lc.records(n))}
    assert damaged_msg in got, "the damaged line was not read again from Docker"
    assert set(torn_msgs) <= got, "lines of the torn tail are missing: %s" % (
        set(torn_msgs) - got)


# ------------------------------------------------------------------------- dead letters

DEAD_MARK = "DEADMARK"


def start_dead_letters(containers, lc, api):
    """The output refuses every record holding DEAD_MARK while 2 containers print 200 lines
    each (every 5th marked, every 3rd on stderr). Waits until the refused ones are in the
    dead-letter file and the others in the output; returns (names, docker lines by name,
    the marked (stream, message) pairs)."""
    api.fault("file", "reject", match=DEAD_MARK)
    names = containers.run_many([("dl%d" % k, finite_script("dl%d" % k, 200, 5, DEAD_MARK, 3))
                                 for k in range(2)])
    lines = {}
    marked = []
    for n in names:
        lines[n] = wait_printed(lc, containers, n)
        marked += [(n,) + p for p in lines[n] if DEAD_MARK in p[1]]
        wait_output_has(lc, lc.logs_dir, n, [p for p in lines[n] if DEAD_MARK not in p[1]])
    assert len(marked) == 80, len(marked)
    lc.wait_for(lambda: len(h.read_dead(lc.data_dir, "file")) >= len(marked), 20,
                "%d records in the dead-letter file" % len(marked),
                detail=lambda: "have %d" % len(h.read_dead(lc.data_dir, "file")))
    dead = h.read_dead(lc.data_dir, "file")
    got = sorted((d["record"].get("container_name"), d["record"].get("stream"),
                  d["record"].get("message")) for d in dead)
    assert got == sorted(marked), "the dead-letter file holds %d records, %d expected" % (
        len(got), len(marked))
    for d in dead:
        assert d.get("output") == "file" and DEAD_MARK in d.get("reason", ""), d
    for n in names:
        h.check_exactly_once(pairs(lc.records(n)),
                             [p for p in lines[n] if DEAD_MARK not in p[1]], n)
    return names, lines, marked


def test_dead_letters_and_replay(containers, logcap):
    """Records the output refuses for good go to data_dir/dead/file.jsonl with the reason,
    are counted (metrics, GET /dead) while the rest arrives; `logcap dead replay file` while
    logcap runs sends them again: exit 0, the dead-letter file empty, every line in the
    output exactly once."""
    lc = logcap(output=FAST_OUTPUT).start()
    api = lc.wait_api()
    names, lines, marked = start_dead_letters(containers, lc, api)
    n = len(marked)
    wait_metric(lc, api, "logcap_output_dead_lettered_total", lambda v: v == n, 10,
                "to count %d" % n, output="file")
    wait_metric(lc, api, "logcap_output_dead_letter_records", lambda v: v == n, 10,
                "to be %d" % n, output="file")
    assert metric(api, "logcap_output_permanent_failures_total", output="file") == n
    dead = api.dead()
    assert dead["file"]["records"] == n and dead["file"]["replay"] == "idle", dead

    r = api.replay("nosuchoutput")
    assert r.status == 404, (r.status, r.body)
    api.fault("file", "off")
    rc, out, err = h.run_cli("dead", "replay", "file", "--config", lc.config_path, timeout=120)
    assert rc == 0, "logcap dead replay exited %d:\n%s%s" % (rc, out, err)
    assert "requested from the running logcap" in out, out
    assert not h.read_dead(lc.data_dir, "file"), "the dead-letter file still holds records"
    dead = api.dead()
    assert dead["file"]["records"] == 0 and dead["file"]["replay"] == "done" and \
        dead["file"]["replayed"] == n, dead
    for name in names:
        wait_output_has(lc, lc.logs_dir, name, lines[name])
        h.check_exactly_once(pairs(lc.records(name)), lines[name], name)
    wait_metric(lc, api, "logcap_output_dead_letter_records", lambda v: v == 0, 10,
                "to be 0 after the replay", output="file")


def test_dead_letters_replay_offline(containers, logcap):
    """The same dead letters replayed with logcap stopped: the CLI sends them with the
    output built from the config; exit 0, the file empty, every line exactly once; logcap
    started again shows no dead letters and sends nothing twice."""
    lc = logcap(output=FAST_OUTPUT).start()
    api = lc.wait_api()
    names, lines, marked = start_dead_letters(containers, lc, api)
    lc.stop()
    rc, out, err = h.run_cli("dead", "replay", "file", "--config", lc.config_path, timeout=120)
    assert rc == 0, "logcap dead replay exited %d:\n%s%s" % (rc, out, err)
    assert "replay done: %d records delivered" % len(marked) in out, out
    assert not h.read_dead(lc.data_dir, "file"), "the dead-letter file still holds records"
    for name in names:
        h.check_exactly_once(pairs(lc.records(name, complete=True)), lines[name], name)
    lc.start()
    api = lc.wait_api()
    dead = api.dead()
    assert dead["file"]["records"] == 0, dead
    wait_metric(lc, api, "logcap_output_dead_letter_records", lambda v: v == 0, 10,
                "to be 0 after the offline replay", output="file")
    wait_metric(lc, api, "logcap_output_backlog_records", lambda v: v == 0, 10,
                "to be 0", output="file")
    containers.stop(*names)
    for name in names:
        h.check_exactly_once(pairs(lc.records(name)), lines[name], name)


# ------------------------------------------------------------------------ spool inspect

SEG_LINE = re.compile(r"^\s+([0-9a-f]{16})\.seg\s+(\d+) bytes\s+(\d+) records\s+"
                      r"\(first record #(\d+)\)$")
OUT_LINE = re.compile(r"^\s+(\S+)\s+cursor ([0-9a-f]{16}):(\d+)\s+backlog\s+(\d+) records\s+"
                      r"(\d+) bytes\s+oldest (.*)$")
HEAD_LINE = re.compile(r"^spool (\S+): (\d+) segments, (\d+) bytes \(([\d.]+)% of max_bytes "
                       r"(\d+)\), (\d+) records$")


def inspect(lc):
    rc, out, err = h.run_cli("spool", "inspect", "--config", lc.config_path, timeout=60)
    assert rc == 0, "logcap spool inspect exited %d:\n%s%s" % (rc, out, err)
    head, segs, outs = None, [], {}
    for line in out.split("\n"):
        m = HEAD_LINE.match(line)
        if m:
            head = m
        m = SEG_LINE.match(line)
        if m:
            segs.append((int(m.group(1), 16), int(m.group(2)), int(m.group(3))))
        m = OUT_LINE.match(line)
        if m:
            outs[m.group(1)] = m
    assert head is not None, "no `spool DIR: N segments, ...` line in:\n%s" % out
    return out, head, segs, outs


def test_spool_inspect(containers, logcap):
    """`logcap spool inspect` while logcap runs with the output down: it lists the segment
    files and the file output's cursor with a backlog of every record; once the output is
    back, a backlog of 0 (caught up); and the same with logcap stopped."""
    lc = logcap({"spool": {"segment_bytes": "64KiB", "max_bytes": "64MiB"}},
                output=FAST_OUTPUT).start()
    api = lc.wait_api()
    api.fault("file", "retry")
    t0 = time.time()
    names = containers.run_many([("ins%d" % k, finite_script("ins%d" % k, 1000))
                                 for k in range(2)])
    total = 2 * 1001
    lc.wait_for(lambda: spool_stats(api)["appended_records"] >= total, 30,
                "%d records in the spool" % total, detail=lambda: spool_stats(api))
    wait_metric(lc, api, "logcap_output_backlog_records", lambda v: v == total, 10,
                "to be %d" % total, output="file")

    out, head, segs, outs = inspect(lc)
    files = h.spool_segments(lc.data_dir)
    assert [s[0] for s in segs] == [i for i, _ in files], (out, files)
    assert [s[1] for s in segs] == [os.path.getsize(p) for _, p in files], (out, files)
    assert len(files) >= 2, "expected more than one 64 KiB segment: %s" % out
    assert int(head.group(2)) == len(files) and int(head.group(6)) == total, out
    assert sum(s[2] for s in segs) == total, out
    assert head.group(1) == h.spool_dir(lc.data_dir), out
    assert "file" in outs, "no cursor line for output file in:\n%s" % out
    o = outs["file"]
    assert int(o.group(4)) == total and int(o.group(5)) > 0, out
    assert int(o.group(2), 16) == files[0][0], "the cursor is not in the oldest segment:\n%s" \
        % out
    age = re.match(r"^([\d.]+) s \(", o.group(6))
    assert age and 0 < float(age.group(1)) <= time.time() - t0 + 5, out
    print("\n" + out)

    api.fault("file", "off")
    for n in names:
        wait_output_has(lc, lc.logs_dir, n, docker_pairs(containers.logs(n)))
    wait_metric(lc, api, "logcap_output_backlog_records", lambda v: v == 0, 15,
                "to be 0", output="file")
    out, head, segs, outs = inspect(lc)
    o = outs.get("file")
    assert o is not None and int(o.group(4)) == 0 and "(caught up)" in o.group(6), out
    lc.stop()
    out2, head2, segs2, outs2 = inspect(lc)
    o2 = outs2.get("file")
    assert o2 is not None and int(o2.group(4)) == 0 and "(caught up)" in o2.group(6), out2


# ----------------------------------------------------------------------------- start_at

@pytest.mark.parametrize("first_run", ["output_down", "caught_up"])
def test_start_at_of_a_new_output(containers, logcap, workdir, first_run):
    """Container A prints 151 lines while the file output is down (output_down) or takes
    them all (caught_up); either way the spool still holds them when logcap stops
    (`spool inspect` says so). logcap is restarted with two more file outputs: `since_end`
    (start_at default, end) and `since_oldest` (start_at: oldest). Then container B logs.
    since_end gets B's lines only; since_oldest gets A's and B's (what the spool held);
    file gets both; each exactly once."""
    lc = logcap(output=FAST_OUTPUT).start()
    api = lc.wait_api()
    if first_run == "output_down":
        api.fault("file", "retry")
    a = containers.run("a", finite_script("A", 150))
    lc.wait_for(lambda: spool_stats(api)["appended_records"] >= 151, 30,
                "A's 151 lines in the spool", detail=lambda: spool_stats(api))
    if first_run == "caught_up":
        wait_output_has(lc, lc.logs_dir, a, wait_printed(lc, containers, a))
    lc.stop()
    if first_run == "output_down":
        assert not lc.records(a)
    out, head, segs, outs = inspect(lc)
    assert int(head.group(6)) == 151, "the spool should still hold A's 151 lines:\n%s" % out

    paths = {"since_end": os.path.join(workdir, "logs_end"),
             "since_oldest": os.path.join(workdir, "logs_oldest")}
    outs = [lc.config["outputs"][0]]
    for name, path in paths.items():
        o = h.deep_merge(FAST_OUTPUT, {"type": "file", "name": name, "path": path,
                                       "format": "json", "rotate_bytes": "1GiB",
                                       "max_files": 2, "compress": False})
        if name == "since_oldest":
            o["start_at"] = "oldest"
        outs.append(o)
    lc.config["outputs"] = outs
    lc.write_config()
    lc.start()
    api = lc.wait_api()
    log = lc.stderr_text().split("----- run 2:")[-1]
    assert "output since_end has no cursor yet: it starts at the end" in log, log
    assert "output since_oldest has no cursor yet: it starts at the oldest record" in log, log
    b = containers.run("b", finite_script("B", 150))
    lines_b = wait_printed(lc, containers, b)
    lines_a = wait_printed(lc, containers, a)
    assert len(lines_a) == 151 and len(lines_b) == 151

    for path in (lc.logs_dir, paths["since_oldest"]):
        wait_output_has(lc, path, a, lines_a)
        wait_output_has(lc, path, b, lines_b)
    wait_output_has(lc, paths["since_end"], b, lines_b)
    containers.stop(a, b)
    lc.stop()
    for path in (lc.logs_dir, paths["since_oldest"]):
        h.check_exactly_once(pairs(h.read_records(path, a, True)), lines_a, "%s in %s" % (a, path))
        h.check_exactly_once(pairs(h.read_records(path, b, True)), lines_b, "%s in %s" % (b, path))
    got_a = h.read_records(paths["since_end"], a, True)
    assert not got_a, "since_end (start_at: end) got %d old lines of A, e.g. %s" % (
        len(got_a), pairs(got_a)[:3])
    h.check_exactly_once(pairs(h.read_records(paths["since_end"], b, True)), lines_b,
                         "%s in since_end" % b)
