"""(o) A container that writes as fast as it can on both streams, with logcap restarted
in the middle."""

import collections

import pytest

import lchelpers as h


@pytest.mark.slow
def test_half_a_million_lines_with_a_restart(containers, logcap):
    """500,000 lines (250,000 on stdout and on stderr at once), logcap stopped with
    SIGTERM and started again in the middle: every line captured, none twice."""
    n = 250000
    lc = logcap().start()
    name = containers.run("flood", "seq 1 %d | sed s/^/out-/ & seq 1 %d | sed s/^/err-/ >&2; "
                          "wait" % (n, n))
    tail = h.Tail(lc.logs_dir, name, keep=lambda r: (r.get("stream"), r.get("message")))
    lc.wait_for(lambda: len(tail.poll()) >= 50000, 120, "the first 50,000 lines",
                detail=lambda: "have %d" % len(tail.records))
    lc.stop()
    at_restart = len(tail.poll())
    lc.start()
    # up before anything else: reading the files, logcap may have taken every line before
    # the restart, and the stop below must not come before it can handle SIGTERM
    lc.wait_api()
    containers.wait_exited(name, timeout=120)
    lc.wait_for(lambda: len(tail.poll()) >= 2 * n, 240, "all %d lines" % (2 * n),
                detail=lambda: "have %d (%d at the restart)" % (len(tail.records), at_restart))
    lc.stop()
    got = tail.poll(complete=True)
    print("\nlines at the restart: %d of %d" % (at_restart, 2 * n))
    expected = [("stdout", "out-%d" % i) for i in range(1, n + 1)] + \
               [("stderr", "err-%d" % i) for i in range(1, n + 1)]
    h.check_exactly_once(got, expected, name)
    # Per stream, the order is kept.
    per = collections.defaultdict(list)
    for stream, msg in got:
        per[stream].append(int(msg.split("-")[1]))
    for stream in ("stdout", "stderr"):
        assert per[stream] == sorted(per[stream]), "%s lines out of order" % stream
