"""The HTTP API of a running logcap: /health (shape, status codes, brief form, 503 when
the Docker daemon has been unreachable for longer than task_timeout), /tasks, /stats,
/version, /metrics (checked by `promtool check metrics`), api.token enforcement, refusal
to listen on a public address without a token, and malformed requests (4xx, never a
crash, no descriptor left behind)."""

import os
import re
import secrets
import select
import shutil
import socket
import subprocess
import time

import pytest

import lchelpers as h

TASK_KEYS = {"id", "type", "state", "started_at", "last_heartbeat", "last_progress",
             "restarts", "last_error", "owner"}    # and container_name for container tasks
STATES = {"starting", "running", "stalled", "restarting", "failed", "stopped"}
STAT_KEYS = {"input", "id", "name", "image", "lines", "bytes", "reconnects", "rotations", "truncated",
             "decode_errors", "errors", "position", "lag_s"}
RFC3339_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_time(t, field, value, allow_null=False):
    if value is None and allow_null:
        return
    assert isinstance(value, str) and RFC3339_RE.match(value), \
        "task %s: %s is not an RFC 3339 time: %r" % (t.get("id"), field, value)


def check_task(t):
    keys = TASK_KEYS | ({"container_name"} if t.get("type") == "container" else set())
    assert keys <= set(t), "task lacks %s: %s" % (keys - set(t), t)
    assert isinstance(t["id"], str) and t["id"], t
    assert t["state"] in STATES, t
    assert isinstance(t["restarts"], int) and t["restarts"] >= 0, t
    assert t["last_error"] is None or isinstance(t["last_error"], str), t
    check_time(t, "started_at", t["started_at"], allow_null=t["state"] == "starting")
    check_time(t, "last_heartbeat", t["last_heartbeat"], allow_null=t["state"] == "starting")
    check_time(t, "last_progress", t["last_progress"], allow_null=True)


def test_health_tasks_stats_version(containers, logcap):
    """/health: 200, the documented shape, every task well-formed, one task per container
    (`container_<12 hex>`, its name), the events, reconcile and output tasks; a container
    that exited and was read to its end is `stopped`. /health?brief=1, /tasks, /stats
    (exact line counts), /version."""
    lc = logcap().start()
    api = lc.wait_api()
    running = containers.run("run", h.counter_script(interval="0.1"))
    done = containers.run("done", 'for i in $(seq 1 50); do echo "out $i"; done; '
                          'for i in $(seq 1 10); do echo "err $i" >&2; done')
    rid, did = containers.inspect(running)["Id"], containers.inspect(done)["Id"]
    containers.wait_exited(done)
    lc.wait_messages(running, 5)
    lc.wait_caught_up(containers, done)
    lc.wait_task(h.task_id(rid), lambda t: t["state"] == "running", 20, "running")
    lc.wait_task(h.task_id(did), lambda t: t["state"] == "stopped", 20,
                 "stopped (exited and read to its end)")

    r = api.get("/health")
    assert r.status == 200, (r.status, r.body)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    b = r.json()
    assert b["status"] == "healthy", b
    assert isinstance(b["version"], str) and b["version"], b
    assert is_number(b["uptime_s"]) and b["uptime_s"] >= 0, b
    d = b["docker"]
    assert d["enabled"] is True and d["connected"] is True, d
    assert d.get("unreachable_s") in (None, 0), d
    # every input by name and type; the default config has one, the Docker input "docker"
    assert [(i["name"], i["type"], i["connected"]) for i in b["inputs"]] == \
        [("docker", "docker", True)], b["inputs"]
    lp = b["loop"]
    assert lp["stalled"] is False and is_number(lp["last_turn_age_s"]), lp
    assert 0 <= lp["last_turn_age_s"] < 5, lp
    tasks = {t["id"]: t for t in b["tasks"]}
    for t in b["tasks"]:
        check_task(t)
    for tid in ("docker_events", "docker_reconcile", "output_file"):
        assert tid in tasks, "no task %s in %s" % (tid, sorted(tasks))
        assert tasks[tid]["state"] == "running", tasks[tid]
    assert tasks["output_file"]["type"] == "output", tasks["output_file"]
    # a task names the instance it works for
    assert tasks["output_file"]["owner"] == "file", tasks["output_file"]
    for tid in ("docker_events", "docker_reconcile"):
        assert tasks[tid]["owner"] == "docker", tasks[tid]
    assert tasks["spool_writer"]["owner"] is None, tasks["spool_writer"]
    for name, cid in ((running, rid), (done, did)):
        t = tasks[h.task_id(cid)]
        assert re.match(r"^container_[0-9a-f]{12}$", t["id"]), t
        assert t["type"] == "container" and t["container_name"] == name, t
        assert t["owner"] == "docker", t
        assert t["restarts"] == 0 and t["last_error"] is None, t
        check_time(t, "last_progress", t["last_progress"])
    for t in b["tasks"]:
        if t["type"] != "container":
            assert t.get("container_name") in (None, ""), t
    assert len([t for t in b["tasks"] if t["type"] == "container"]) == 2, sorted(tasks)

    r = api.get("/health?brief=1")
    assert r.status == 200 and r.json() == {"status": "healthy"}, (r.status, r.body)

    tb = api.get_json("/tasks")
    tlist = tb["tasks"] if isinstance(tb, dict) else tb
    assert {t["id"] for t in tlist} >= set(tasks), tlist
    for t in tlist:
        check_task(t)

    s = api.stats()
    e = h.container_entry(s, done, did)
    assert e is not None, s
    assert STAT_KEYS <= set(e), "stats entry lacks %s: %s" % (STAT_KEYS - set(e), e)
    assert e["name"] == done and e["image"] == h.IMAGE and e["input"] == "docker", e
    ins = {i["name"]: i for i in s["inputs"]}
    assert list(ins) == ["docker"] and ins["docker"]["type"] == "docker", s["inputs"]
    assert ins["docker"]["sources"] >= 2 and ins["docker"]["api_errors"]["list"] == 0, ins
    assert e["lines"]["stdout"] == 50 and e["lines"]["stderr"] == 10, e
    nbytes = sum(e["bytes"].values()) if isinstance(e["bytes"], dict) else e["bytes"]
    assert nbytes >= sum(len("out %d" % i) for i in range(1, 51)), e
    for k in ("reconnects", "rotations", "truncated", "decode_errors", "errors"):
        assert e[k] == 0, (k, e)
    assert e["position"] is not None, e
    assert h.container_entry(s, running, rid) is not None, s
    outs = {o.get("name"): o for o in s.get("outputs", [])}
    assert "file" in outs, s.get("outputs")

    r = api.get("/version")
    assert r.status == 200 and b["version"] in r.text, (r.status, r.body)

    r = api.get("/health?brief=1")
    assert r.status == 200


def test_metrics(containers, logcap):
    """/metrics: Prometheus text that `promtool check metrics` accepts, with the task,
    stream and process series; process_open_fds and process_threads match /proc; a
    removed container's series disappear."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found (Debian package prometheus; scripts/install-deps)"
    lc = logcap().start()
    api = lc.wait_api()
    keep = containers.run("keep", h.counter_script(interval="0.1"))
    gone = containers.run("gone", "echo one; echo two")
    kid, gid = containers.inspect(keep)["Id"], containers.inspect(gone)["Id"]
    lc.wait_messages(keep, 5)
    containers.wait_exited(gone)
    lc.wait_caught_up(containers, gone)
    # The API renders from a snapshot the loop publishes about once a second.
    lc.wait_for(lambda: h.container_entry(api.stats(), keep, kid) and (
        h.container_entry(api.stats(), gone, gid) or {}).get("lines", {}).get("stdout") == 2,
        10, "/stats to show both containers")

    r = api.get("/metrics")
    assert r.status == 200, (r.status, r.body[:300])
    assert r.headers.get("content-type", "").startswith("text/plain"), r.headers
    p = subprocess.run([promtool, "check", "metrics"], input=r.body, capture_output=True,
                       timeout=60)
    assert p.returncode == 0, "promtool check metrics failed:\n%s%s" % (
        p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))
    m = h.Metrics(r.text)
    for name in ("logcap_task_failures_total", "logcap_task_restarts_total", "logcap_tasks",
                 "logcap_stream_rotations_total", "logcap_stream_reconnects_total",
                 "process_open_fds", "process_threads", "process_resident_memory_bytes",
                 "process_cpu_seconds_total", "process_start_time_seconds"):
        assert m.has(name), "no %s in /metrics" % name
    assert m.types.get("logcap_task_failures_total") == "counter", m.types
    assert m.types.get("logcap_tasks") == "gauge", m.types
    assert m.sum("logcap_tasks", type="container", state="running") >= 1
    assert m.sum("logcap_task_failures_total") == 0
    for _, v in m.series("logcap_task_failures_total"):
        assert v == 0
    assert abs(m.value("process_open_fds") - lc.fds()) <= 3, (m.value("process_open_fds"),
                                                              lc.fds())
    assert abs(m.value("process_threads") - lc.threads()) <= 1, (m.value("process_threads"),
                                                                lc.threads())
    assert abs(m.value("process_resident_memory_bytes") / 1024 - lc.rss_kib()) < 64 * 1024
    assert h.container_metric(m, keep, "logcap_stream_rotations_total", kid) == 0
    assert any(gid[:12] in ln or gone in ln for ln in r.text.split("\n")
               if not ln.startswith("#")), "no series of %s before it is removed" % gone

    h.docker("rm", "-f", gone)

    def gone_from_metrics():
        text = api.metrics_text()
        return not any(gid[:12] in ln or gone in ln for ln in text.split("\n")
                       if not ln.startswith("#"))
    lc.wait_for(gone_from_metrics, 30, "the series of the removed %s to disappear" % gone)
    lc.wait_for(lambda: h.task_id(gid) not in api.tasks(), 30,
                "the task of the removed %s to disappear" % gone)


def test_unhealthy_when_docker_is_unreachable(logcap, workdir):
    """docker.socket points at nothing: /health is not unhealthy before task_timeout (3 s)
    has passed, then 503 unhealthy with docker.connected false; logcap keeps running."""
    nowhere = os.path.join(workdir, "no-docker.sock")
    lc = logcap({"docker": {"socket": nowhere, "idle_timeout": "1s",
                            "request_timeout": "500ms", "reconnect_backoff_min": "100ms",
                            "reconnect_backoff_max": "1s"},
                 "supervisor": {"task_timeout": "3s", "check_interval": "1s"}})
    t_spawn = time.monotonic()
    lc.start()
    api = lc.wait_api()
    st, b = api.health()
    if time.monotonic() - t_spawn < 2.5:
        assert st == 200 and b["status"] != "unhealthy", \
            "unhealthy before task_timeout passed: %s" % b
    assert b["docker"]["connected"] is False, b

    def unhealthy():
        st, b = api.health()
        return (st, b) if st == 503 else None
    st, b = lc.wait_for(unhealthy, 15, "/health to answer 503", detail=lambda: api.health())
    assert time.monotonic() - t_spawn >= 3.0
    assert b["status"] == "unhealthy" and b["docker"]["connected"] is False, b
    assert is_number(b["docker"]["unreachable_s"]) and b["docker"]["unreachable_s"] >= 2.5, b
    r = api.get("/health?brief=1")
    assert r.status == 503 and r.json() == {"status": "unhealthy"}, (r.status, r.body)
    assert api.get("/metrics").status == 200
    lc.check_alive()


def test_token(logcap):
    """With api.token: /tasks, /stats, /version answer 401 without the token, with a wrong
    one or another scheme, 200 with it; /health and /metrics need none."""
    token = secrets.token_hex(16)
    lc = logcap({"api": {"token": token}}).start()
    api = lc.wait_api()
    for path in ("/tasks", "/stats", "/version"):
        for tok, hdr in ((None, None), ("wrong", None), (token[:-1], None),
                         (None, "Basic " + token), (None, "Bearer"), (None, token)):
            headers = {"Authorization": hdr} if hdr else None
            r = api.get(path, token=tok, headers=headers)
            assert r.status == 401, "GET %s with token %r / Authorization %r: %d" % (
                path, tok, hdr, r.status)
        r = api.get(path)
        assert r.status == 200, "GET %s with the token: %d %r" % (path, r.status, r.body)
    for path in ("/health", "/health?brief=1", "/metrics"):
        r = api.get(path, token=None)
        assert r.status == 200, "GET %s without token: %d" % (path, r.status)


@pytest.mark.parametrize("host", ["0.0.0.0", "[::]"])
def test_public_listen_needs_a_token(workdir, prefix, host):
    """api.listen on a non-loopback address without api.token: exit 2 before anything
    starts, naming api.listen and api.token."""
    port = h.free_port()
    lc = h.Logcap(workdir, prefix, config={"api": {"listen": "%s:%d" % (host, port)}})
    p = subprocess.run([h.logcap_bin(), "--config", lc.config_path], capture_output=True,
                       text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert p.returncode == 2, "exit %d, stderr:\n%s" % (p.returncode, p.stderr)
    assert "api.listen" in p.stderr and "api.token" in p.stderr, p.stderr
    assert not os.path.exists(lc.data_dir), "data_dir was created"


def test_public_listen_with_a_token(logcap):
    token = secrets.token_hex(16)
    lc = logcap({"api": {"listen": "0.0.0.0:%d" % h.free_port(), "token": token}}).start()
    api = lc.wait_api()
    assert api.get("/health").status == 200
    assert api.get("/stats", token=None).status == 401
    assert api.get("/stats").status == 200


# ------------------------------------------------------------------ bad requests

def raw_exchange(api, data, timeout=5):
    """Sends DATA on a new connection while reading; returns what came back once a
    response head arrived, the server closed, or TIMEOUT passed."""
    s = socket.create_connection((api.host, api.port), timeout=timeout)
    s.setblocking(False)
    out = memoryview(data)
    got = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or b"\r\n\r\n" in got:
                return got
            r, w, _ = select.select([s], [s] if len(out) else [], [], left)
            if r:
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    d = None
                except OSError:
                    return got
                if d == b"":
                    return got
                if d:
                    got += d
            if w and len(out):
                try:
                    out = out[s.send(out):]
                except BlockingIOError:
                    pass
                except OSError:
                    out = memoryview(b"")  # the server stopped reading: read its answer
    finally:
        s.close()


def status_of(resp):
    m = re.match(rb"^HTTP/1\.[01] (\d{3}) ", resp)
    return int(m.group(1)) if m else None


def stable_fds(lc):
    prev = {}

    def cond():
        cur = lc.fds()
        now = time.monotonic()
        if prev.get("v") == cur and now - prev["t"] >= 0.5:
            return cur
        if prev.get("v") != cur:
            prev.update(v=cur, t=now)
        return None
    return lc.wait_for(cond, 20, "logcap's descriptor count to hold still")


def test_malformed_requests(logcap):
    """Garbage, a 100 KiB header, a 100 KiB URL, an unknown path, POST, 300 idle
    connections: 4xx answers (or a closed connection for garbage), never a crash, and no
    descriptor left behind."""
    lc = logcap().start()
    api = lc.wait_api()
    fds0 = stable_fds(lc)

    for garbage in (b"\x00\x01\x02\xff\xfe garbage \r\n\r\n", b"\r\n\r\n\r\n",
                    b"GET\r\n\r\n", b"GET /health\r\n\r\n",
                    b"GET /health HTTP/1.1\r\nno colon here\r\n\r\n",
                    b"GET /health HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                    os.urandom(4096)):
        resp = raw_exchange(api, garbage)
        st = status_of(resp)
        assert resp == b"" or (st is not None and 400 <= st < 500), \
            "%r answered %r" % (garbage[:40], resp[:100])
        lc.check_alive()

    big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (100 * 1024) + b"\r\n\r\n"
    resp = raw_exchange(api, big, timeout=10)
    assert status_of(resp) is not None and 400 <= status_of(resp) < 500, \
        "a 100 KiB header answered %r" % resp[:100]
    lc.check_alive()
    long_url = b"GET /health?" + b"x" * (100 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    resp = raw_exchange(api, long_url, timeout=10)
    assert status_of(resp) is not None and 400 <= status_of(resp) < 500, \
        "a 100 KiB URL answered %r" % resp[:100]

    assert api.get("/nope").status == 404
    assert api.get("/health/../../etc/passwd").status in (400, 404)
    for path in ("/health", "/metrics", "/stats"):
        r = api.request("POST", path, body=b"x")
        assert r.status == 405, "POST %s answered %d" % (path, r.status)
    assert api.request("DELETE", "/tasks").status == 405
    resp = raw_exchange(api, b"GET /health?brief=1 HTTP/1.0\r\n\r\n")
    assert status_of(resp) == 200, resp[:100]

    idle = []
    try:
        for _ in range(300):
            try:
                idle.append(socket.create_connection((api.host, api.port), timeout=5))
            except OSError:
                break
        lc.check_alive()
    finally:
        for s in idle:
            s.close()
    lc.wait_for(lambda: api.get("/health").status == 200, 20,
                "/health to answer after the idle connections closed")
    lc.wait_for(lambda: lc.fds() <= fds0, 20, "logcap's descriptors back to %d" % fds0,
                detail=lambda: "%d now: %s" % (lc.fds(), dict(h.proc_fd_kinds(lc.pid))))
