"""Stalled Docker connections: the stall proxy (tests/integration/stallproxy.py) sits
between logcap and the private dockerd and freezes chosen connections or swallows chosen
requests. Every read logcap makes has a deadline: a frozen log stream of a container that
keeps logging is found at docker.idle_timeout and reopened, a stalled probe or reconnect
is cut at docker.request_timeout, /health shows the trouble and the recovery, and no line
is lost. A quiet container is never reopened.

The first tests check the proxy itself against a fake upstream and against the real
dockerd (docker CLI through the proxy); they need no logcap."""

import os
import queue
import socket
import threading
import time

import pytest

import lchelpers as h
import stallproxy as sp

IDLE_S, REQUEST_S, TASK_S = 2.0, 1.0, 6.0

# Short deadlines (DESIGN: read idle deadline < task timeout; the loader rejects others).
# These tests are about the Engine API's log streams and probes (files mode has none):
# read: api whatever the run's LCT_READ.
STALL_CONFIG = {
    "docker": {
        "read": "api",
        "idle_timeout": "2s",
        "request_timeout": "1s",
        "reconnect_backoff_min": "100ms",
        "reconnect_backoff_max": "1s",
    },
    "supervisor": {
        "check_interval": "1s",
        "task_timeout": "6s",
        "restart_backoff_min": "1s",
        "restart_backoff_max": "5s",
    },
}


follow_rx = h.follow_rx
probe_rx = h.probe_rx


# ============================================================== the proxy, on its own

class FakeDaemon:
    """A unix-socket HTTP server: GET /hello answers "hello" (keep-alive); GET /stream
    answers with a body (Connection: close) made of what the test puts in .chunks (bytes,
    or None to end it). Counts connections and request lines."""

    def __init__(self, path):
        self.path = path
        self.chunks = queue.Queue()
        self.lines = []
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.threads = []
        self.conns = []
        self.closing = False
        t = threading.Thread(target=self.accept_loop, daemon=True)
        t.start()
        self.threads.append(t)

    def accept_loop(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                if self.closing:
                    s.close()
                    return
                self.connections += 1
                self.conns.append(s)
            t = threading.Thread(target=self.serve, args=(s,), daemon=True)
            t.start()
            self.threads.append(t)

    def serve(self, s):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = s.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                line = head.split(b"\r\n")[0].decode()
                with self.lock:
                    self.lines.append(line)
                if " /hello " in line:
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                elif " /stream " in line:
                    s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                    while True:
                        c = self.chunks.get()
                        if c is None:
                            return
                        s.sendall(c)
                else:
                    s.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            return
        finally:
            s.close()

    def close(self):
        with self.lock:
            self.closing = True
            conns = list(self.conns)
        for _ in self.threads:
            self.chunks.put(None)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept() (close alone does not)
        except OSError:
            pass
        self.sock.close()
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(5)
            assert not t.is_alive(), "fake daemon thread did not end"
        os.unlink(self.path)


@pytest.fixture
def fake(workdir):
    d = FakeDaemon(os.path.join(workdir, "upstream.sock"))
    yield d
    d.close()


@pytest.fixture
def proxy(workdir, fake):
    p = sp.StallProxy(os.path.join(workdir, "proxy.sock"), fake.path).start()
    yield p
    errors = list(p.errors)
    p.stop()
    assert not os.path.exists(p.path)
    assert not errors, errors


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def recv_until(s, want, timeout=10):
    """Reads from S until WANT (bytes) is in what was read; returns all of it."""
    data = b""
    deadline = time.monotonic() + timeout
    while want not in data:
        left = deadline - time.monotonic()
        assert left > 0, "timed out waiting for %r; have %r" % (want, data[-200:])
        s.settimeout(left)
        d = s.recv(65536)
        assert d, "connection closed before %r; have %r" % (want, data[-200:])
        data += d
    return data


def recv_to_end(s, timeout=20):
    data = b""
    s.settimeout(timeout)
    while True:
        d = s.recv(1 << 20)
        if not d:
            return data
        data += d


def nothing_pending(s):
    s.setblocking(False)
    try:
        d = s.recv(65536)
        return False if d else "closed"
    except BlockingIOError:
        return True
    finally:
        s.setblocking(True)


def test_proxy_forwards_and_names_every_request_of_a_reused_connection(proxy, fake):
    s = connect(proxy.path)
    try:
        for _ in range(2):
            s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            assert recv_until(s, b"hello").endswith(b"hello")
        s.sendall(b"POST /hello HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody")
        recv_until(s, b"hello")
    finally:
        s.close()
    h.wait_for(lambda: proxy.counts("/hello")["closed"] == 1, 10, "the proxy to see the close")
    (c,) = proxy.conns("/hello")
    assert [r.line for r in c.requests] == ["GET /hello", "GET /hello", "POST /hello"]
    assert c.closed_by == "client"
    assert all(r.response_bytes > 0 and r.status == 200 for r in c.requests)
    assert proxy.counts("^POST") == {"opened": 1, "closed": 1, "live": 0, "requests": 1}
    assert proxy.conns("^POST", latest=True) and not proxy.conns("^GET", latest=True)
    assert fake.connections == 1
    assert fake.lines == ["GET /hello HTTP/1.1"] * 2 + ["POST /hello HTTP/1.1"]


def test_proxy_freeze_holds_data_and_thaw_delivers_it_all(proxy, fake):
    s = connect(proxy.path)
    try:
        s.sendall(b"GET /stream HTTP/1.1\r\n\r\n")
        fake.chunks.put(b"line 1\n")
        recv_until(s, b"line 1\n")
        assert proxy.freeze("/hello") == []
        (cid,) = proxy.freeze(r"^GET /stream$")
        for i in range(2, 1001):
            fake.chunks.put(b"line %d\n" % i)
        h.wait_for(lambda: proxy.conn(cid).held_down >= len(b"line 1000\n"), 10,
                   "the proxy to hold the frozen stream's data")
        assert nothing_pending(s) is True, "data passed a frozen connection"
        assert proxy.conn(cid).frozen
        # The upstream ends the stream while frozen: the client still sees it open.
        fake.chunks.put(None)
        h.wait_for(lambda: proxy.conn(cid).held_down >= sum(
            len(b"line %d\n" % i) for i in range(2, 1001)), 10, "all of it held")
        assert nothing_pending(s) is True
        assert proxy.conn(cid).closed_by is None
        assert proxy.thaw() == [cid]
        body = recv_to_end(s)
    finally:
        s.close()
    assert body == b"".join(b"line %d\n" % i for i in range(2, 1001)), "lost or reordered"
    h.wait_for(lambda: proxy.conn(cid).closed_by == "upstream", 10, "closed by the upstream")


def test_proxy_sees_a_frozen_connection_closed_by_the_client(proxy, fake):
    s = connect(proxy.path)
    s.sendall(b"GET /stream HTTP/1.1\r\n\r\n")
    fake.chunks.put(b"x\n")
    recv_until(s, b"x\n")
    (cid,) = proxy.freeze("/stream")
    s.close()
    h.wait_for(lambda: proxy.conn(cid).closed_by == "client", 10, "the close to be seen")
    assert proxy.conns(live=True) == []


def test_proxy_hold_is_capped(proxy, fake):
    """A frozen connection holds at most HOLD_CAP (+ one read); the rest waits in the
    kernel, and thawing delivers every byte."""
    s = connect(proxy.path)
    try:
        s.sendall(b"GET /stream HTTP/1.1\r\n\r\n")
        fake.chunks.put(b"start\n")
        recv_until(s, b"start\n")
        (cid,) = proxy.freeze("/stream")
        chunk = b"y" * 65535 + b"\n"
        total = 2 * sp.HOLD_CAP
        for _ in range(total // len(chunk)):
            fake.chunks.put(chunk)
        fake.chunks.put(None)
        h.wait_for(lambda: proxy.conn(cid).held_down >= sp.HOLD_CAP, 20, "the hold to fill")
        held = proxy.conn(cid).held_down
        assert held <= sp.HOLD_CAP + sp.RECV, held
        proxy.thaw()
        body = recv_to_end(s)
    finally:
        s.close()
    assert len(body) == total // len(chunk) * len(chunk)


def test_proxy_blackhole(proxy, fake):
    """A blackholed request is read, never forwarded, never answered; after unblackhole
    new requests pass, the swallowed one stays unanswered until the client gives up. A
    reused connection is blackholed from the matching request on."""
    proxy.blackhole(r"^GET /stream")
    s1 = connect(proxy.path)
    s2 = connect(proxy.path)
    s3 = None
    try:
        s1.sendall(b"GET /stream HTTP/1.1\r\n\r\n")
        s2.sendall(b"GET /hello HTTP/1.1\r\n\r\n")
        recv_until(s2, b"hello")
        h.wait_for(lambda: proxy.counts("/stream")["requests"] == 1, 10, "the request")
        s2.sendall(b"GET /stream HTTP/1.1\r\n\r\n")     # reused connection
        h.wait_for(lambda: proxy.counts("/stream")["requests"] == 2, 10, "the second")
        assert all(r.blackholed for r in proxy.requests("/stream"))
        assert nothing_pending(s1) is True and nothing_pending(s2) is True
        assert fake.lines == ["GET /hello HTTP/1.1"], "a blackholed request was forwarded"
        proxy.unblackhole()
        s3 = connect(proxy.path)
        s3.sendall(b"GET /stream HTTP/1.1\r\n\r\n")
        fake.chunks.put(b"through\n")
        recv_until(s3, b"through\n")
        assert nothing_pending(s1) is True, "unblackhole released a swallowed request"
        (c1,) = [c for c in proxy.conns("/stream") if c.requests[0].line == "GET /stream"
                 and c.blackholed]
        s1.close()
        h.wait_for(lambda: proxy.conn(c1.id).closed_by == "client", 10, "the close")
    finally:
        for s in (s1, s2, s3):
            if s is not None:
                s.close()


def test_proxy_stop_closes_everything(workdir, fake):
    p = sp.StallProxy(os.path.join(workdir, "p.sock"), fake.path).start()
    s = connect(p.path)
    try:
        s.sendall(b"GET /stream HTTP/1.1\r\n\r\n")
        fake.chunks.put(b"a\n")
        recv_until(s, b"a\n")
        p.freeze("/stream")
        p.stop()
        assert recv_to_end(s, timeout=10) == b""
        assert not os.path.exists(p.path)
        assert [c.closed_by for c in p.conns()] == ["proxy"]
    finally:
        s.close()
        p.stop()


def test_proxy_without_upstream_closes_the_connection(workdir):
    """Like a daemon that is not there: the request is read, the connection closed."""
    p = sp.StallProxy(os.path.join(workdir, "p.sock"), os.path.join(workdir, "none.sock"))
    p.start()
    try:
        s = connect(p.path)
        try:
            s.sendall(b"GET /hello HTTP/1.1\r\n\r\n")
            assert recv_to_end(s, timeout=10) == b""
        finally:
            s.close()
        (c,) = p.conns("/hello")
        assert c.closed_by == "proxy" and c.requests[0].status is None
        p.check()
    finally:
        p.stop()


def test_proxy_in_front_of_dockerd(containers, stallproxy):
    """The docker CLI through the proxy: `docker logs -f` of a logging container stops
    while its connection is frozen and gets every line once thawed; `docker version`
    hangs while blackholed."""
    import subprocess
    name = containers.run("px", h.counter_script(interval="0.05"))
    cid = containers.inspect(name)["Id"]
    env = dict(os.environ, DOCKER_HOST="unix://" + stallproxy.path)
    out_path = os.path.join(os.path.dirname(stallproxy.path), "follow.out")
    with open(out_path, "wb") as out:
        p = subprocess.Popen(["docker", "logs", "-f", name], stdout=out,
                             stderr=subprocess.STDOUT, env=env)
    try:
        def size():
            return os.path.getsize(out_path)
        h.wait_for(lambda: size() > 100, 20, "docker logs -f output")
        follow = follow_rx(cid)
        h.wait_for(lambda: stallproxy.freeze(follow), 10, "the follow connection")
        held = h.wait_for(lambda: [c.held_down for c in stallproxy.conns(follow)
                                   if c.held_down > 200], 10, "data held by the proxy")
        before = size()
        stallproxy.thaw()
        h.wait_for(lambda: size() >= before + held[0], 10, "the held data delivered")
        containers.stop(name)
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    with open(out_path) as f:
        got = f.read().split("\n")[:-1]
    want = [m for _, _, m in containers.logs(name)]
    assert got == want, "docker logs -f through the proxy lost or changed lines"
    assert stallproxy.counts(follow)["opened"] == 1

    stallproxy.blackhole(r"/version$")
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(["docker", "version"], env=env, capture_output=True, timeout=3)
    h.wait_for(lambda: stallproxy.requests(r"/version$"), 5, "the version request")
    assert all(r.blackholed and r.response_bytes == 0
               for r in stallproxy.requests(r"/version$"))
    stallproxy.unblackhole()
    assert subprocess.run(["docker", "version"], env=env, capture_output=True,
                          timeout=30).returncode == 0


# ================================================================ logcap, stalled

def stall_config(stallproxy, extra=None):
    cfg = h.deep_merge(STALL_CONFIG, {"docker": {"socket": stallproxy.path}})
    return h.deep_merge(cfg, extra or {})


def start_logging(lc, containers, stallproxy, suffix="steady", script=None):
    """Starts a container logging ~20 lines/s (or SCRIPT); waits until logcap takes its
    lines through one live follow connection and its task runs. Returns (name, id, task)."""
    name = containers.run(suffix, script or h.counter_script(interval="0.05"))
    cid = containers.inspect(name)["Id"]
    tid = h.task_id(cid)
    lc.wait_messages(name, 3 if script else 20)
    lc.wait_task(tid, lambda t: t.get("state") == "running", 20, "running")
    lc.wait_for(lambda: stallproxy.counts(follow_rx(cid))["live"] == 1, 10,
                "one live follow connection of %s" % name,
                detail=lambda: stallproxy.conns(follow_rx(cid)))
    return name, cid, tid


def rotations(api, name, cid):
    entry = h.container_entry(api.stats(), name, cid)
    assert entry is not None, "/stats does not list %s" % name
    return entry["rotations"]


def wait_closed_by_logcap(lc, stallproxy, conn_id, timeout, what):
    def closed():
        c = stallproxy.conn(conn_id)
        return c if c.closed_by is not None else None
    c = lc.wait_for(closed, timeout, what, detail=lambda: stallproxy.conn(conn_id))
    assert c.closed_by == "client", "%s: closed by %s, not by logcap" % (what, c.closed_by)
    return c


def wait_flowing_again(lc, stallproxy, name, cid, old_ids):
    """A new follow connection carries data and logcap takes new lines."""
    def new_stream():
        return [c for c in stallproxy.conns(follow_rx(cid), live=True, latest=True)
                if c.id not in old_ids and not c.blackholed and not c.frozen
                and c.bytes_down > 0]
    lc.wait_for(new_stream, 15, "a new follow connection of %s carrying data" % name,
                detail=lambda: stallproxy.conns(follow_rx(cid)))
    n = len(lc.records(name))
    lc.wait_messages(name, n + 20, timeout=15)


def wait_recovered(lc, api, tid, timeout=20):
    """Task TID running, /health 200; and "healthy" unless some task was restarted (a
    recent restart makes it degraded, by design)."""
    seen = {}

    def ok():
        st, b = api.health()
        seen["h"] = (st, b)
        t = {x["id"]: x for x in b.get("tasks", [])}.get(tid)
        if st != 200 or t is None or t.get("state") != "running":
            return None
        restarted = any(x.get("restarts") for x in b.get("tasks", []))
        if not restarted and b.get("status") != "healthy":
            return None
        return b
    return lc.wait_for(ok, timeout, "task %s running again and /health healthy" % tid,
                       detail=lambda: seen.get("h"))


def assert_trouble_shown(rec, tid, since, what):
    """Call while REC still records: /health shows a snapshot once a second, so trouble
    that began just before this call may reach it a second later."""
    deadline = time.monotonic() + 3
    s = None
    while s is None and time.monotonic() < deadline:
        s = rec.first(lambda st, b: h.task_trouble(b, tid), since=since)
        if s is None:
            time.sleep(0.1)  # the recorder's polling interval, not a wait for a result
    assert s is not None, "/health never showed trouble for %s while %s (task went %s)" % (
        tid, what, rec.task_states(tid))
    return s


def assert_no_task_failure(api):
    m = api.metrics()
    assert m.has("logcap_task_failures_total"), "no logcap_task_failures_total in /metrics"
    assert m.sum("logcap_task_failures_total") == 0, \
        "the watchdog stepped in (the idle deadline should have): %s" % (
            m.series("logcap_task_failures_total"),)


def test_frozen_stream_is_reopened(containers, stallproxy, logcap):
    """(a) The follow stream of a container that keeps logging is frozen: logcap finds it
    quiet at idle_timeout, probes (answered through the proxy: a newer line), closes the
    frozen connection and reopens; rotations count it, /health shows the trouble and the
    task running again, and every line arrives once."""
    lc = logcap(stall_config(stallproxy)).start()
    api = lc.wait_api()
    name, cid, tid = start_logging(lc, containers, stallproxy)
    rot0 = rotations(api, name, cid)
    met0 = h.container_metric(api.metrics(), name, "logcap_stream_rotations_total", cid)
    with h.HealthRecorder(api) as rec:
        t0 = time.monotonic()
        (frozen,) = stallproxy.freeze(follow_rx(cid))
        c = wait_closed_by_logcap(lc, stallproxy, frozen, IDLE_S + REQUEST_S + 4,
                                  "logcap to close the frozen stream of %s" % name)
        assert c.closed_at - t0 >= IDLE_S - 0.5, \
            "closed %.2f s after the freeze: before idle_timeout (%s s)" % (
                c.closed_at - t0, IDLE_S)
        probes = [r for r in stallproxy.requests(probe_rx(cid)) if r.at >= t0]
        assert probes, "no tail=1 probe before the reopen (requests: %s)" % [
            r.line for r in stallproxy.requests(cid[:12])]
        assert any(r.status == 200 and r.response_bytes > 0 for r in probes), \
            "the probe was not answered: %s" % (probes,)
        wait_flowing_again(lc, stallproxy, name, cid, {frozen})
        lc.wait_for(lambda: rotations(api, name, cid) >= rot0 + 1, 10,
                    "/stats rotations of %s to count the reopen" % name)
        lc.wait_for(lambda: h.container_metric(api.metrics(), name,
                                               "logcap_stream_rotations_total", cid) >= met0 + 1,
                    10, "logcap_stream_rotations_total of %s to count it" % name)
        assert stallproxy.thaw() == []
        wait_recovered(lc, api, tid)
        assert_trouble_shown(rec, tid, t0, "its stream was frozen")
    assert_no_task_failure(api)
    h.compare_with_docker(lc, containers, [name])


def test_frozen_probe_is_cut_by_request_timeout(containers, stallproxy, logcap):
    """(b) The stream is frozen and the probe is swallowed: the probe is cut at
    request_timeout, the stream is reopened anyway, nothing is lost."""
    lc = logcap(stall_config(stallproxy)).start()
    api = lc.wait_api()
    name, cid, tid = start_logging(lc, containers, stallproxy)
    rot0 = rotations(api, name, cid)
    with h.HealthRecorder(api) as rec:
        t0 = time.monotonic()
        stallproxy.blackhole(probe_rx(cid))
        (frozen,) = stallproxy.freeze(follow_rx(cid))
        probe = lc.wait_for(lambda: [r for r in stallproxy.requests(probe_rx(cid))
                                     if r.blackholed], IDLE_S + 4,
                            "a probe of %s (swallowed by the proxy)" % name)[0]
        pc = wait_closed_by_logcap(lc, stallproxy, probe.conn, REQUEST_S + 3,
                                   "logcap to give up on the swallowed probe")
        life = pc.closed_at - probe.at
        assert REQUEST_S - 0.3 <= life <= REQUEST_S + 2, \
            "the swallowed probe lived %.2f s (request_timeout %s s)" % (life, REQUEST_S)
        wait_closed_by_logcap(lc, stallproxy, frozen, 5,
                              "logcap to close the frozen stream after the probe timed out")
        wait_flowing_again(lc, stallproxy, name, cid, {frozen})
        lc.wait_for(lambda: rotations(api, name, cid) >= rot0 + 1, 10,
                    "/stats rotations of %s to count the reopen" % name)
        stallproxy.unblackhole()
        stallproxy.thaw()
        wait_recovered(lc, api, tid)
        assert_trouble_shown(rec, tid, t0, "its stream and probe were stalled")
    assert_no_task_failure(api)
    h.compare_with_docker(lc, containers, [name])


def test_stalled_reconnect_is_cut_and_retried(containers, stallproxy, logcap):
    """(c) New follow requests are swallowed: each is cut at the header deadline
    (request_timeout) and retried; /health shows the trouble; once the proxy lets them
    through the stream runs again and every line arrives once."""
    lc = logcap(stall_config(stallproxy)).start()
    api = lc.wait_api()
    name, cid, tid = start_logging(lc, containers, stallproxy)
    with h.HealthRecorder(api) as rec:
        t0 = time.monotonic()
        stallproxy.blackhole(follow_rx(cid))
        (frozen,) = stallproxy.freeze(follow_rx(cid))
        wait_closed_by_logcap(lc, stallproxy, frozen, IDLE_S + REQUEST_S + 4,
                              "logcap to close the frozen stream of %s" % name)

        def cut():
            return [c for c in stallproxy.conns(follow_rx(cid), live=False)
                    if c.blackholed]
        lc.wait_for(lambda: len(cut()) >= 2, 20,
                    "two swallowed follow requests of %s, each cut by logcap" % name,
                    detail=lambda: stallproxy.conns(follow_rx(cid)))
        for c in cut():
            assert c.closed_by == "client", c
            life = c.closed_at - c.requests[-1].at
            assert life <= REQUEST_S + 2, \
                "a swallowed follow request lived %.2f s (request_timeout %s s)" % (
                    life, REQUEST_S)
        lc.wait_for(lambda: h.task_trouble(api.health()[1], tid), 10,
                    "/health to show trouble for %s while its reconnects hang" % tid)
        stallproxy.unblackhole()
        stallproxy.thaw()
        wait_flowing_again(lc, stallproxy, name, cid, {c.id for c in stallproxy.conns()})
        wait_recovered(lc, api, tid)
        assert_trouble_shown(rec, tid, t0, "its reconnects hung")
    h.compare_with_docker(lc, containers, [name])


def test_quiet_container_is_not_reopened(containers, stallproxy, logcap):
    """(d) A container that printed 3 lines and is quiet for longer than 3 x idle_timeout
    (and than task_timeout): probed about once per idle_timeout, never reopened (one follow
    request, still open), its task running and beating, nothing restarted."""
    lc = logcap(stall_config(stallproxy)).start()
    api = lc.wait_api()
    script = 'trap "exit 0" TERM; echo q1; echo q2; echo q3 >&2; while true; do sleep 1; done'
    name, cid, tid = start_logging(lc, containers, stallproxy, "quiet", script)
    t0 = time.monotonic()
    beat0 = api.tasks()[tid].get("last_heartbeat")
    rot0 = rotations(api, name, cid)
    assert rot0 == 0

    def quiet_long_enough():
        el = time.monotonic() - t0
        return el >= max(3 * IDLE_S, TASK_S) + 1 and \
            len(stallproxy.requests(probe_rx(cid))) >= 3
    lc.wait_for(quiet_long_enough, 30, "3 probes of the quiet %s over %s s" % (
        name, max(3 * IDLE_S, TASK_S) + 1),
        detail=lambda: [r.line for r in stallproxy.requests(cid[:12])])
    elapsed = time.monotonic() - t0
    probes = stallproxy.requests(probe_rx(cid))
    assert len(probes) <= elapsed / IDLE_S + 2, \
        "%d probes in %.1f s: more than one per idle_timeout (%s s)" % (
            len(probes), elapsed, IDLE_S)
    follows = stallproxy.requests(follow_rx(cid))
    assert len(follows) == 1 and follows[0].conn_closed_by is None, \
        "the quiet stream was reopened: %s" % (follows,)
    assert rotations(api, name, cid) == 0
    assert h.container_metric(api.metrics(), name, "logcap_stream_rotations_total", cid) == 0
    t = api.tasks()[tid]
    assert t["state"] == "running" and t["restarts"] == 0 and not t.get("last_error"), t
    assert t.get("last_heartbeat") != beat0, "a quiet task does not beat: %s" % t
    st, b = api.health()
    assert st == 200 and b["status"] == "healthy", b
    assert_no_task_failure(api)
    h.compare_with_docker(lc, containers, [name])
