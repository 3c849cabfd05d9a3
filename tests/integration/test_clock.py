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
return at once, over and over (a busy loop)."""

import calendar
import os
import time

import pytest

import lchelpers as h

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
