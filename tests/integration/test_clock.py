"""Steps of logcap's wall clock (issue 8, item 11): an NTP step or the resume of a suspended
VM moves CLOCK_REALTIME by any amount at once. Nothing that measures elapsed time may
notice: the loop watchdog must not abort logcap, /health must not report a loop stall or
restart tasks, capture goes on, and timed waits (an output's batch max_wait, the spool
writer's and the outputs' idle beats) are neither stretched nor turned into busy loops.

The step is made with the clock shim (tests/clockshim/clockshim.c, lchelpers.WallClock),
which moves the wall clock of logcap alone: dockerd and this test keep the real one. The
shim moves what the process reads, not the kernel's clock that a CLOCK_REALTIME
condition variable sleeps on, so a forward offset stretches such a wait by the offset (as a
backward step of the real clock does to a wait in progress) and a backward offset makes it
return at once, over and over (a busy loop).

Marker clock: tests/run runs these in the ASan pass only: they are about logcap's own
clocks and timers, which the Docker input's read mode does not touch."""

import calendar
import os
import signal
import time

import pytest

import lchelpers as h

pytestmark = pytest.mark.clock

LOOP_STALL_S = 2.0
MAX_WAIT_S = 0.3
BURST_GAP_S = 4
WATCH_S = 14.0  # after a step: several watchdog polls past 2 x loop_stall_timeout, 3 bursts

CLOCKED = {
    "docker": {"idle_timeout": "6s", "request_timeout": "2s"},
    "supervisor": {
        "check_interval": "1s",
        "task_timeout": "10s",
        "loop_stall_timeout": "%ds" % LOOP_STALL_S,
    },
}

# Five lines, then a pause: the last batch of each burst waits for max_wait alone, with no
# later line to wake its output early.
BURSTS = ('trap "exit 0" TERM; r=$RANDOM$RANDOM; i=0; while true; do '
          'for j in 1 2 3 4 5; do i=$((i+1)); echo "$r $i"; done; sleep %d; done' % BURST_GAP_S)


def ts_seconds(ts):
    """Seconds since the epoch of Docker's RFC 3339 nanosecond timestamp."""
    return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + ts[19:-1])


def cpu_seconds(pid):
    """User + system CPU seconds of PID so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_clocked(logcap, workdir):
    clock = h.WallClock(os.path.join(workdir, "clock-offset"))
    lc = logcap(CLOCKED, output={"batch": {"max_wait": "%dms" % (MAX_WAIT_S * 1000)}})
    lc.clock = clock
    lc.start()
    return lc, clock, lc.wait_api()


def test_clock_shim_moves_only_the_wall_clock(logcap, workdir):
    """The shim is active in logcap: its log timestamps (CLOCK_REALTIME) are a day behind
    the real time, while it runs and answers as usual. Without this, a clock-step test that
    passes would prove nothing."""
    lc, clock, api = None, h.WallClock(os.path.join(workdir, "clock-offset")), None
    clock.set_offset(-86400 * 10**9)
    lc = logcap(CLOCKED)
    lc.clock = clock
    lc.start()
    api = lc.wait_api()
    st, body = api.health()
    assert st in (200, 503) and "status" in body, body
    first = [ln for ln in lc.stderr_text().splitlines() if ln[:4].isdigit()][0]
    logged = calendar.timegm(time.strptime(first[:19], "%Y-%m-%dT%H:%M:%S"))
    behind = time.time() - logged
    assert 86400 - 120 < behind < 86400 + 120, \
        "logcap's log says %r: %.0f s behind the real time, expected a day (is the shim " \
        "%s preloaded?)" % (first, behind, h.WallClock.shim_path())


@pytest.mark.parametrize("step_s", [60, -60], ids=["forward", "backward"])
def test_wall_clock_step(containers, logcap, workdir, step_s, record_property):
    """A step of STEP_S seconds (30 x loop_stall_timeout) while a container logs in bursts:
    logcap does not abort, /health never shows a loop stall, a stalled or restarted task or
    an unhealthy status; bursts keep arriving, the last line of each within 2 s of its
    timestamp (max_wait 300 ms, bursts 4 s apart: a stretched wait shows as ~4 s); logcap
    stays nearly idle (a wait cut short spins); and at the end every line is in the output
    exactly once."""
    lc, clock, api = start_clocked(logcap, workdir)
    name = containers.run("bursts", BURSTS)
    lc.wait_messages(name, 10, timeout=30)
    lc.wait_for(lambda: api.health()[1].get("status") == "healthy", 20, "healthy before the step",
                detail=lambda: api.health()[1])
    tail = h.Tail(lc.logs_dir, name)
    before = {r["message"] for r in tail.poll()}
    seen = {}  # message of a line delivered after the step -> (time.time() first seen, ts)

    with h.HealthRecorder(api) as rec:
        cpu0, t0 = cpu_seconds(lc.pid), time.monotonic()
        clock.step(step_s * 10**9)
        while time.monotonic() - t0 < WATCH_S:
            lc.check_alive()
            now = time.time()
            for r in tail.poll():
                if r["message"] not in before:
                    seen.setdefault(r["message"], (now, r["ts"]))
            time.sleep(0.02)
        cpu = cpu_seconds(lc.pid) - cpu0
        elapsed = time.monotonic() - t0

    assert lc.alive(), "logcap died after a %+d s step of its clock; stderr:\n%s" % (
        step_s, lc.stderr_tail())
    bad = rec.first(lambda st, b: st == 503 or (b.get("loop") or {}).get("stalled"), since=t0)
    assert bad is None, "%.1f s after a %+d s clock step /health said %s: %r" % (
        bad[0] - t0, step_s, bad[1], bad[2])
    trouble = rec.first(lambda st, b: any(t.get("state") in ("stalled", "restarting", "failed")
                                          or t.get("restarts", 0) > 0
                                          for t in b.get("tasks", [])), since=t0)
    assert trouble is None, "after a %+d s clock step a task was in trouble: %r" % (
        step_s, [(t["id"], t["state"], t["restarts"], t.get("last_error"))
                 for t in trouble[2]["tasks"]])
    assert not rec.samples or all(b is None or b.get("status") == "healthy"
                                  for _, _, b in rec.samples if _ >= t0), \
        "after a %+d s clock step /health was not always healthy: %r" % (step_s, sorted({
            (b.get("status"), b.get("reason")) for _, _, b in rec.samples if b is not None}))

    assert seen, "no line arrived after a %+d s clock step" % step_s
    # The last line of each burst delivered after the step: its delivery latency.
    by_n = sorted((int(m.split()[1]), s, ts) for m, (s, ts) in seen.items())
    lasts = [(n, s - ts_seconds(ts)) for n, s, ts in by_n if n % 5 == 0]
    assert len(lasts) >= 2, "fewer than 2 bursts after the step: %r" % (by_n,)
    worst = max(lat for _, lat in lasts)
    record_property("latency_s", ["%d:%.2f" % x for x in lasts])
    assert worst < 2.0, "after a %+d s clock step the last line of a burst took %.1f s to be " \
        "delivered (batch.max_wait %.1f s): a timed wait is stretched; %r" % (
            step_s, worst, MAX_WAIT_S, lasts)
    record_property("cpu_share", round(cpu / elapsed, 3))
    assert cpu / elapsed < 0.3, "after a %+d s clock step logcap used %.0f%% of a core while " \
        "nearly idle: a timed wait returns at once and spins" % (step_s, 100 * cpu / elapsed)

    h.compare_with_docker(lc, containers, [name])


def test_frozen_process_is_not_aborted(containers, logcap, workdir):
    """A whole-process freeze (SIGSTOP for 3 x loop_stall_timeout, then SIGCONT, five
    times), as a paused VM whose monotonic clock jumps on resume: every thread was stopped,
    not the loop alone, so the loop watchdog must not abort logcap on resume (whether the
    loop or the watchdog runs first after SIGCONT is a race: without the watchdog noticing
    its own freeze, 2 of 4 runs of three freezes aborted logcap). Capture goes on and
    /health is healthy again within a few seconds."""
    lc, clock, api = start_clocked(logcap, workdir)
    name = containers.run("frozen", h.counter_script(interval="0.1"))
    lc.wait_messages(name, 10, timeout=30)
    for i in range(5):
        n = len(lc.records(name))
        os.kill(lc.pid, signal.SIGSTOP)
        try:
            time.sleep(3 * LOOP_STALL_S)
        finally:
            os.kill(lc.pid, signal.SIGCONT)
        lc.wait_messages(name, n + 10, timeout=20)
        lc.wait_for(lambda: api.health()[1].get("status") == "healthy", 10,
                    "healthy after freeze %d" % (i + 1), detail=lambda: api.health()[1])
    assert lc.alive()
    assert "aborting" not in lc.stderr_text(), lc.stderr_tail()
    h.compare_with_docker(lc, containers, [name])
