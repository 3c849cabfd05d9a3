"""Cases a real dockerd cannot be made to show on demand, against fakedocker (a Docker API
that honours since, tail, follow and 404 as dockerd does, driven line by line): a stream
cut while a line over 16 KiB is half sent, logcap killed at that moment, a container
removed between the end of its stream and the next request, a running container whose
stream ends (no drain: dockerd would rescan its log file), and a new container's stream
opened from its start event."""

import os
import time

import pytest

import fakedocker
import lchelpers as h

MS = 10**6
PIECE = fakedocker.PIECE


@pytest.fixture
def fake(workdir):
    f = fakedocker.FakeDocker(os.path.join(workdir, "fake.sock")).start()
    yield f
    f.stop()


def start_logcap(logcap, fake, **docker):
    cfg = {"docker": dict({"socket": fake.path, "idle_timeout": "30s"}, **docker)}
    return logcap(cfg).start()


def messages(lc, name, n, timeout=20):
    return h.messages(lc.wait_messages(name, n, timeout=timeout))


def wait_follows(lc, fake, c, n):
    lc.wait_for(lambda: len(fake.log_requests(c, follow=True)) >= n, 15,
                "%d follow requests for %s" % (n, c.name))


def long_line_case(fake, c, base):
    """Writes 'before', the first piece of a long stdout line at BASE + 10 ms, and five
    stderr lines 100 ms newer: the state in which the line is half sent."""
    t1 = base + 10 * MS
    fake.write(c, "stdout", "before\n", ts=base)
    fake.write_piece(c, "stdout", b"x" * PIECE, t1)
    for i in range(5):
        fake.write(c, "stderr", "err %d\n" % i, ts=t1 + (100 + i) * MS)
    return t1


def finish_long_line(fake, c, t1):
    fake.write_piece(c, "stdout", b"y" * 100 + b"\n", t1)
    fake.write(c, "stdout", "after\n", ts=t1 + 200 * MS)


LONG_EXPECTED = ["before", "x" * PIECE + "y" * 100, "after"] + ["err %d" % i for i in range(5)]


def test_long_line_pending_across_a_stream_cut(fake, prefix, logcap):
    """Item 1: the resume point must not pass the oldest line not yet whole."""
    c = fake.add(prefix + "long")
    lc = start_logcap(logcap, fake)
    fake.wait_streams(c)
    t1 = long_line_case(fake, c, fake.now() - 2000 * MS)
    messages(lc, c.name, 6)
    fake.break_streams(c)
    wait_follows(lc, fake, c, 2)
    finish_long_line(fake, c, t1)
    got = messages(lc, c.name, 8)
    h.check_exactly_once(got, LONG_EXPECTED, "records of %s" % c.name)


def test_long_line_pending_across_a_kill(fake, prefix, logcap):
    """Item 1, logcap SIGKILLed while the line is half sent: its position in the spool
    holds the line's start."""
    c = fake.add(prefix + "long")
    lc = start_logcap(logcap, fake)
    fake.wait_streams(c)
    t1 = long_line_case(fake, c, fake.now() - 2000 * MS)
    messages(lc, c.name, 6)
    lc.stop(kill=True)
    lc.start()
    wait_follows(lc, fake, c, 2)
    finish_long_line(fake, c, t1)
    got = messages(lc, c.name, 8)
    h.check_exactly_once(got, LONG_EXPECTED, "records of %s" % c.name)


def test_rm_container_last_line_without_newline(fake, prefix, logcap):
    """Item 2: a --rm container's last line has no newline; its stream ends and the
    container is gone (404) before the next request."""
    c = fake.add(prefix + "rm")
    lc = start_logcap(logcap, fake)
    fake.wait_streams(c)
    fake.write(c, "stdout", "a\n")
    fake.write(c, "stdout", "last words")
    messages(lc, c.name, 1)
    fake.stop_container(c, end_streams=False)
    fake.remove(c)
    got = messages(lc, c.name, 2)
    h.check_exactly_once(got, ["a", "last words"], "records of %s" % c.name)


def test_rm_container_being_removed(fake, prefix, logcap):
    """Item 3: while dockerd removes a container it answers 409 'marked for removal': that
    is the end of its capture, not an error to retry, and what the stream brought stays."""
    c = fake.add(prefix + "rm")
    lc = start_logcap(logcap, fake)
    fake.wait_streams(c)
    fake.write(c, "stdout", "one\n")
    fake.write(c, "stdout", "two")
    messages(lc, c.name, 1)
    fake.set_removing(c)
    fake.stop_container(c)
    got = messages(lc, c.name, 2)
    h.check_exactly_once(got, ["one", "two"], "records of %s" % c.name)
    fake.remove(c)
    api = lc.wait_api()
    lc.wait_for(lambda: ("container_" + c.id[:12]) not in api.tasks(), 10,
                "the capture of %s to finish" % c.name)
    assert "retrying" not in lc.stderr_text()


def test_running_container_stream_end_goes_back_to_follow(fake, prefix, logcap):
    """Item 10: a follow stream that ends while its container runs (docker restart, a
    dockerd restart) is followed again from its position: no drain, which would make
    dockerd rescan the log file; lines are neither lost nor doubled."""
    c = fake.add(prefix + "chatty")
    lc = start_logcap(logcap, fake)
    fake.wait_streams(c)
    want = []
    for round_ in range(10):
        for i in range(20):
            line = "r%d line %d" % (round_, i)
            fake.write(c, "stdout", line + "\n")
            want.append(line)
        fake.end_streams(c)
        wait_follows(lc, fake, c, round_ + 2)
    got = messages(lc, c.name, len(want))
    h.check_exactly_once(got, want, "records of %s" % c.name)
    assert fake.log_requests(c, follow=False) == []


def test_new_container_opened_from_its_start_event(fake, prefix, logcap):
    """Item 3: a container started while logcap runs is followed from its start event's
    name, image and labels, without waiting for a container list."""
    lc = start_logcap(logcap, fake)
    lc.wait_for(lambda: fake.requests(lambda r: r["path"] == "/events"), 10, "the event stream")
    lc.wait_for(lambda: fake.requests(lambda r: r["path"] == "/containers/json"), 10,
                "the first list")
    lists_before = len(fake.requests(lambda r: r["path"] == "/containers/json"))
    c = fake.add(prefix + "quick", image="quick:2", labels={"team": "a"})
    fake.wait_streams(c)
    fake.write(c, "stdout", "hello\n")
    recs = lc.wait_messages(c.name, 1)
    assert recs[0]["image"] == "quick:2" and recs[0]["labels"] == {"team": "a"}
    assert len(fake.requests(lambda r: r["path"] == "/containers/json")) == lists_before


def clocked(fake, workdir):
    """A wall clock shared by fakedocker (its timestamps) and logcap (the clock shim): on
    one host both read the same clock, and a step moves both."""
    wc = h.WallClock(os.path.join(workdir, "wallclock"))
    fake.clock = lambda: time.time_ns() + wc.offset_ns
    return wc


def clocked_logcap(fake, logcap, workdir, prefix):
    """A container of fakedocker and a logcap following it, both on one shifted clock.
    Returns (wall clock, container, logcap, the lines written before any step)."""
    wc = clocked(fake, workdir)
    c = fake.add(prefix + "clk")
    lc = logcap({"docker": {"socket": fake.path, "idle_timeout": "30s"}})
    lc.clock = wc
    lc.start()
    fake.wait_streams(c)
    want = write_lines(fake, c, "before", 6)
    messages(lc, c.name, 6)
    return wc, c, lc, want


def write_lines(fake, c, tag, n):
    out = []
    for i in range(n):
        stream = "stdout" if i % 2 == 0 else "stderr"
        fake.write(c, stream, "%s %d\n" % (tag, i))
        out.append("%s %d" % (tag, i))
    return out


@pytest.mark.parametrize("cut", ["stream", "kill"])
def test_clock_step_back_hides_no_line(fake, prefix, logcap, workdir, cut):
    """Item 5: the clock steps back 5 s while a container logs: the lines after the step
    are stamped before those taken already. A reopen (a cut stream, or logcap killed and
    started again) must neither hide them until the clock catches up nor take old ones
    again."""
    wc, c, lc, want = clocked_logcap(fake, logcap, workdir, prefix)
    wc.step(-5 * 10**9)
    want += write_lines(fake, c, "after", 6)
    messages(lc, c.name, 12)
    if cut == "stream":
        fake.break_streams(c)
    else:
        lc.stop(kill=True)
        lc.start()
    wait_follows(lc, fake, c, 2)
    want += write_lines(fake, c, "later", 6)
    got = messages(lc, c.name, 18)
    h.check_exactly_once(got, want, "records of %s" % c.name)


def test_clock_step_back_while_logcap_is_down(fake, prefix, logcap, workdir):
    """Item 5: logcap stops, the clock steps back 5 s, the container logs on, logcap starts
    again: its saved position is ahead of the present; what was written meanwhile is read,
    nothing twice."""
    wc, c, lc, want = clocked_logcap(fake, logcap, workdir, prefix)
    lc.stop()
    wc.step(-5 * 10**9)
    want += write_lines(fake, c, "meanwhile", 6)
    lc.start()
    want += write_lines(fake, c, "after", 6)
    got = messages(lc, c.name, 18)
    h.check_exactly_once(got, want, "records of %s" % c.name)


def test_stopped_container_drained_once(fake, prefix, logcap):
    """Item 10: a container that stops is read to its end with one drain: a drain made
    within the margin of FinishedAt would count as the container having run during it,
    so the drain waits for that point instead of being made again and again."""
    c = fake.add(prefix + "stop")
    lc = start_logcap(logcap, fake)
    api = lc.wait_api()
    fake.wait_streams(c)
    for i in range(5):
        fake.write(c, "stdout", "line %d\n" % i)
    fake.write(c, "stdout", "no newline")
    fake.stop_container(c)
    got = messages(lc, c.name, 6)
    assert got == ["line %d" % i for i in range(5)] + ["no newline"]
    task = "container_" + c.id[:12]
    lc.wait_task(task, lambda t: t["state"] == "stopped", 10, "stopped", api=api)
    assert len(fake.log_requests(c, follow=False)) == 1
    stats = {x["id"]: x for x in api.stats()["containers"]}
    assert stats[c.id]["drains"] == 1
