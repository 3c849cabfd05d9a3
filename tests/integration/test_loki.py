"""The Loki output (issue 10) against a real dockerd and the protocol-checking Loki test
server (lokiserver.py): what Loki stores is checked entry by entry (labels, Docker's own
timestamps, exactly once), in both encodings; what each kind of answer does (5xx, a stall
past the timeout, connection resets, 429 with and without Retry-After, 400, 413, 401/403/404);
SIGKILL of logcap during delivery and SIGTERM during a push that hangs; secrets that must
appear nowhere; label templates, structured metadata, line: json, a line cut inside a
character; and the config errors of the output's keys.

The server keeps what Loki would store (entries(): an exact repeat of stream, timestamp and
line is dropped as Loki's ingester drops it) and every entry that passed its checks
(received(): repeats included), so received() - entries() counts what logcap sent twice.

Markers: loki_outage (the 45 s outage test: tests/run runs it in the ASan pass only, where
a memory error on the retry paths shows) and loki_crashloop (the SIGKILL loop: in the
release pass only, it is about timing, like the spool's crash loop)."""

import base64
import calendar
import collections
import json
import os
import re
import time

import pytest

import lchelpers as h

HOST = h.HOSTNAME
COMPOSE = {"com.docker.compose.project": "shop", "com.docker.compose.service": "cart"}
FAST_RETRY = {"backoff_min": "100ms", "backoff_max": "1s"}


# ------------------------------------------------------------------------------ helpers

def loki_output(srv, name="loki", **kw):
    """A Loki output to SRV with short batches and retries (a test waits on it)."""
    out = {"type": "loki", "name": name, "url": srv.url, "timeout": "5s",
           "batch": {"max_wait": "200ms"}, "retry": dict(FAST_RETRY)}
    out.update(kw)
    return out


def loki_logcap(logcap, outputs, **config):
    """A logcap whose only outputs are OUTPUTS (no file output)."""
    cfg = dict(config)
    cfg["outputs"] = outputs
    return logcap(config=cfg)


def ts_ns(rfc3339):
    """Nanoseconds since the epoch of Docker's 2026-11-22T12:24:43.463703600Z."""
    assert h.TS_RE.match(rfc3339), rfc3339
    secs = calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int(rfc3339[20:29])


# `docker logs -t` prints every 16 KiB piece of a long line with its own timestamp (the
# first piece's): "TS piece1TS piece2\n".
PIECE_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


def docker_lines(containers, name):
    """[(stream, message, ts ns)] of container NAME as `docker logs -t` shows them, a long
    line's pieces joined."""
    return [(s, PIECE_TS.sub("", m) if len(m) > 16384 else m, ts_ns(ts))
            for ts, s, m in containers.logs(name)]


def by_container(entries):
    out = collections.defaultdict(list)
    for e in entries:
        out[e.labels.get("container")].append(e)
    return out


def key(e):
    return (e.labels.get("container"), e.labels.get("stream"), e.line, e.ts)


def expected_keys(containers, names):
    return [(n, s, m, ts) for n in names for s, m, ts in docker_lines(containers, n)]


def wait_delivered(srv, lc, want, timeout=60, tenant=None):
    """Waits until the server stored every key of WANT (see key()); fails at once when
    logcap died."""
    want = set(want)
    state = {"have": 0}

    def cond(s):
        have = {key(e) for e in s.entries(tenant)}
        state["have"] = len(want & have)
        return want <= have
    deadline = time.monotonic() + timeout
    while True:
        lc.check_alive()
        if srv.wait_for(cond, min(1.0, max(0.0, deadline - time.monotonic()))):
            return
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %s s: the server stored %d of %d entries; "
                                 "stats %s" % (timeout, state["have"], len(want), srv.stats()))


def check_stored_once(srv, want, what, tenant=None, repeats_allowed=False):
    """Every key of WANT is in entries() exactly once and nothing else of those containers;
    unless REPEATS_ALLOWED, received() holds no repeat either (nothing was sent twice)."""
    names = {k[0] for k in want}
    got = [key(e) for e in srv.entries(tenant) if e.labels.get("container") in names]
    h.check_exactly_once(got, list(want), what + " (stored)")
    if not repeats_allowed:
        rec = [key(e) for e in srv.received(tenant) if e.labels.get("container") in names]
        h.check_exactly_once(rec, list(want), what + " (received, repeats included)")


# Lines that an encoder must escape or carry whole: JSON's specials, a control byte,
# multi-byte UTF-8, and a line of 20,000 bytes (Docker splits it into 16 KiB pieces).
def special_script(tag):
    """Shell that prints TAG's two special lines to stdout."""
    return (r"""printf '%s out q\"uote back\\slash\ttab \303\251t\303\251 \360\237\220\263 """
            r"""ctl\001 <&>\n'; printf '%s out long %%020000d\n' 5""" % (tag, tag))


def write_lines(containers, suffix, n, labels=None, tag=None, special=False):
    """A container writing N lines to stdout and N to stderr (and with SPECIAL the two lines
    of special_script() to stdout), then exiting."""
    tag = tag or suffix
    script = 'for i in $(seq 1 %d); do echo "%s out $i"; echo "%s err $i" >&2; done' % (
        n, tag, tag)
    if special:
        script += "; " + special_script(tag)
    return containers.run(suffix, script, labels=labels)


def health(api):
    return api.health()[1]


def output_entry(body, name="loki"):
    return {o.get("name"): o for o in body.get("outputs", [])}.get(name) or {}


# ------------------------------------------------------------------ 1. lines and labels

@pytest.mark.parametrize("encoding,compress", [("protobuf", False), ("json", False),
                                               ("json", True)],
                         ids=["protobuf", "json", "json-gzip"])
def test_every_line_once_with_labels_and_docker_timestamps(containers, logcap, lokiserver,
                                                           encoding, compress):
    """Three containers (one with Compose labels), stdout and stderr: every line is stored
    exactly once (and sent once), with the default label set (job, host, container, stream,
    and compose_project/compose_service only for the Compose container) and Docker's own
    timestamp to the nanosecond; every request carries X-Scope-OrgID of tenant_id (the server
    accepts only that tenant), the encoding's Content-Type and, with compress, gzip."""
    srv = lokiserver
    srv.configure(tenants=["team-a"])
    out = loki_output(srv, encoding=encoding, tenant_id="team-a")
    if compress:
        out["compress"] = True
    lc = loki_logcap(logcap, [out]).start()
    n = 150
    names = [write_lines(containers, "c0", n, special=True), write_lines(containers, "c1", n),
             write_lines(containers, "web", n, labels=COMPOSE, special=True)]
    for name in names:
        containers.wait_exited(name)
    want = expected_keys(containers, names)
    assert len(want) == 6 * n + 4
    assert any("\x01" in k[2] and "\U0001f433" in k[2] and '"' in k[2] for k in want), want[-4:]
    assert any(len(k[2]) == 20000 + len("c0 out long ") for k in want)
    wait_delivered(srv, lc, want, tenant="team-a")
    lc.stop()
    check_stored_once(srv, want, encoding + (" gzip" if compress else ""), tenant="team-a")
    for name, ents in by_container(srv.entries()).items():
        assert name in names, "an entry of a container not ours: %s" % (ents[0],)
        for e in ents:
            labels = {"job": "logcap", "host": HOST, "container": name,
                      "stream": e.labels.get("stream")}
            if name.endswith("web"):
                labels.update(compose_project="shop", compose_service="cart")
            assert e.labels == labels, e
            assert e.labels["stream"] in ("stdout", "stderr"), e
            assert e.line.startswith(name[len(containers.prefix):] + (
                " out " if e.labels["stream"] == "stdout" else " err ")), e
            assert e.tenant == "team-a", e
    reqs = srv.requests()
    assert reqs and all(r.status == 204 for r in reqs), [(r.n, r.status, r.answer)
                                                         for r in reqs if r.status != 204]
    ctype = "application/json" if encoding == "json" else "application/x-protobuf"
    for r in reqs:
        assert r.headers.get("x-scope-orgid") == "team-a", r.headers
        assert (r.content_type or "").split(";")[0] == ctype, r.content_type
        if encoding == "json":
            assert (r.content_encoding or "") == ("gzip" if compress else ""), r.content_encoding
        else:
            assert (r.content_encoding or "") in ("", "snappy"), r.content_encoding


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_label_templates_structured_metadata_and_json_lines(containers, logcap, lokiserver,
                                                            encoding):
    """Labels from templates (a container label: left out for the container without it),
    structured metadata (container_id, image) and line: json (the whole record, as the file
    output writes it): what Loki stores carries each as configured."""
    srv = lokiserver
    out = loki_output(srv, encoding=encoding, line="json",
                      labels={"job": "lc", "team": "{{ labels.com.example.team }}",
                              "app": "{{ compose_project }}/{{ compose_service }}"},
                      structured_metadata={"container_id": "{{ container_id }}",
                                           "image": "{{ image }}", "none": "{{ labels.x }}"})
    lc = loki_logcap(logcap, [out]).start()
    names = [write_lines(containers, "a", 5, labels=dict(COMPOSE, **{"com.example.team": "t1"})),
             write_lines(containers, "b", 5)]
    for name in names:
        containers.wait_exited(name)
    srv.wait_for(lambda s: len(s.entries()) >= 20, 30)
    lc.stop()
    ents = srv.entries()
    assert len(ents) == 20 and len(srv.received()) == 20, srv.stats()
    ids = {n: containers.inspect(n)["Id"] for n in names}
    for e in ents:
        rec = json.loads(e.line)
        name = rec["container_name"]
        assert name in names, rec
        if name == names[0]:
            assert e.labels == {"job": "lc", "team": "t1", "app": "shop/cart"}, e
        else:
            assert e.labels == {"job": "lc", "app": "/"}, e
        assert e.metadata == {"container_id": ids[name], "image": h.IMAGE}, e
        assert rec["container_id"] == ids[name] and rec["stream"] in ("stdout", "stderr"), rec
        assert e.ts == ts_ns(rec["ts"]), (e.ts, rec)
    got = sorted((json.loads(e.line)["container_name"], json.loads(e.line)["message"])
                 for e in ents)
    want = sorted((n, "%s %s %d" % (t, w, i)) for n, t in zip(names, "ab")
                  for w in ("out", "err") for i in range(1, 6))
    assert got == want


def test_records_whose_labels_all_render_empty_are_refused_alone(containers, logcap,
                                                                  lokiserver):
    """labels: {team: "{{ labels.team }}"}: the records of a container without that label
    would make a stream without labels (Loki refuses the whole request): they go to the
    dead-letter file with the reason, alone, and the other container's lines arrive."""
    srv = lokiserver
    lc = loki_logcap(logcap, [loki_output(srv, labels={"team": "{{ labels.team }}"})]).start()
    api = lc.wait_api()
    a = write_lines(containers, "a", 10, labels={"team": "red"})
    b = write_lines(containers, "b", 10)
    for n in (a, b):
        containers.wait_exited(n)
    lc.wait_for(lambda: len(h.read_dead(lc.data_dir, "loki")) >= 20 and
                len(srv.entries()) >= 20, 30, "b's lines dead-lettered and a's delivered",
                detail=lambda: (srv.stats(), len(h.read_dead(lc.data_dir, "loki"))))
    dead = h.read_dead(lc.data_dir, "loki")
    assert sorted(d["record"]["container_name"] for d in dead) == [b] * 20, dead[:2]
    assert all("every label rendered empty" in d["reason"] for d in dead), dead[0]
    assert all(r.status == 204 for r in srv.requests()), [r.answer for r in srv.requests()]
    assert sorted(e.line for e in srv.entries()) == sorted(
        "a %s %d" % (w, i) for w in ("out", "err") for i in range(1, 11))
    assert all(e.labels == {"team": "red"} for e in srv.entries())
    assert api.dead()["loki"]["records"] == 20


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_a_line_cut_inside_a_character_arrives_as_valid_utf8(containers, logcap, lokiserver,
                                                             encoding):
    """docker.max_line_bytes: 1KiB cuts a line of two-byte characters inside one: Loki gets
    valid UTF-8 (the server refuses anything else), the text up to the cut, nothing lost."""
    srv = lokiserver
    lc = loki_logcap(logcap, [loki_output(srv, encoding=encoding)],
                     docker={"max_line_bytes": "1KiB"}).start()
    name = containers.run("u", r"""printf 'x'; for i in $(seq 1 1000); do printf '\303\251'; """
                               r"""done; echo; echo after""")
    containers.wait_exited(name)
    srv.wait_for(lambda s: len(s.entries()) >= 2, 30)
    lc.stop()
    reqs = srv.requests()
    assert all(r.status == 204 for r in reqs), [(r.status, r.answer) for r in reqs]
    lines = [e.line for e in srv.entries()]
    assert len(lines) == 2 and lines[1] == "after", lines
    raw = lines[0].encode("utf-8", "surrogateescape")
    raw.decode("utf-8")             # strict: valid UTF-8
    assert raw.startswith(b"x" + "\u00e9".encode() * 511), raw[:40]
    assert len(raw) <= 1024 + 2, len(raw)


# ---------------------------------------------------------------------------- 2. outage

@pytest.mark.slow
@pytest.mark.loki_outage
def test_outage_5xx_stall_reset_loses_nothing(containers, logcap, lokiserver):
    """While containers write: 503 for 30 s, then two requests stalled past the output's
    timeout (2 s), then three connection resets. Nothing is lost, nothing stored twice;
    /health says degraded with the output's error (reason and outputs[]) for each kind of
    failure while it lasts, healthy after; logcap_output_requests_total counts the 5xx and
    the failed (no answer) requests exactly as the server saw them."""
    srv = lokiserver
    lc = loki_logcap(logcap, [loki_output(srv, timeout="2s",
                                          retry={"backoff_min": "200ms",
                                                 "backoff_max": "2s"})]).start()
    api = lc.wait_api()
    names = [containers.run("w%d" % k, h.counter_script(interval="0.05")) for k in range(2)]
    srv.wait_for(lambda s: len(s.entries()) >= 20, 30)
    assert health(api)["status"] == "healthy", health(api)
    with h.HealthRecorder(api, interval=0.2) as rec:
        t0 = time.monotonic()
        srv.fail(503, seconds=30)
        srv.stall(times=2, stall=5, then="close")
        srv.reset(times=3)
        lc.wait_for(lambda: srv.stats()["faults_pending"] == 0 and
                    srv.stats()["stalling"] == 0, 90, "the faults to be used up",
                    detail=srv.stats)
        lc.wait_for(lambda: health(api)["status"] == "healthy", 30, "/health healthy again",
                    detail=lambda: health(api))
    outage = time.monotonic() - t0
    assert outage >= 30, outage

    def failing_with(text):
        def pred(status, body):
            o = output_entry(body)
            return (status == 200 and body.get("status") == "degraded" and
                    text in (body.get("reason") or "") and o.get("failing") is True and
                    text in (o.get("error") or "") and o.get("config_fault") is False)
        return pred
    seen = {}
    for what, text in (("5xx", "Loki answered HTTP 503: lokiserver: injected 503"),
                       ("stall", "no answer from Loki at %s: Operation timed out" % srv.url),
                       ("reset", "no answer from Loki at %s: Recv failure: Connection reset "
                                 "by peer" % srv.url)):
        s = rec.first(failing_with(text))
        assert s is not None, "/health never said degraded with %r; reasons seen: %s" % (
            text, sorted({(b or {}).get("reason") for _, _, b in rec.samples if b}, key=str))
        seen[what] = s
    # the 503 phase shows for most of its 30 s
    n503 = sum(1 for _, st, b in rec.samples if b and "HTTP 503" in (b.get("reason") or ""))
    assert n503 * rec.interval >= 15, "degraded for 503 in only %d samples" % n503

    containers.stop(*names)
    want = expected_keys(containers, names)
    wait_delivered(srv, lc, want, timeout=60)
    check_stored_once(srv, want, "after the outage", repeats_allowed=True)
    st = srv.stats()
    assert st["repeats"] == 0, "entries sent again although Loki never stored them: %s" % st
    reqs = srv.requests()
    n5 = sum(1 for r in reqs if r.status is not None and 500 <= r.status < 600)
    nerr = sum(1 for r in reqs if r.status is None)
    n2 = sum(1 for r in reqs if r.status is not None and 200 <= r.status < 300)
    assert n5 >= 10 and nerr == 5, (n5, nerr, st)
    # the API shows a snapshot taken every so often: wait for the one after the last request
    want_counts = {"5xx": n5, "error": nerr, "2xx": n2}
    seen = {}

    def counted():
        m = api.metrics()
        seen.update({c: m.sum("logcap_output_requests_total", output="loki", status_class=c)
                     for c in want_counts})
        return seen == want_counts and m.value("logcap_output_failing", output="loki") == 0
    lc.wait_for(counted, 10, "logcap_output_requests_total to count %s" % want_counts,
                detail=lambda: "counted %s" % seen)
    body = health(api)
    assert body["status"] == "healthy" and output_entry(body).get("failing") is False, body
    lc.wait_for(lambda: {o["name"]: o for o in api.stats()["outputs"]}["loki"]
                ["backlog_records"] == 0, 10, "the output's backlog to be 0")


def test_sigterm_while_a_push_hangs_exits_in_time(containers, logcap, lokiserver):
    """The server holds a push unanswered (the output's timeout is 30 s): SIGTERM still ends
    logcap with exit 0 within 10 s, the push given up (a request can be cut short: the
    output's thread is not abandoned, nothing of it is left to leak), and after a start the
    lines are delivered once."""
    srv = lokiserver
    out = loki_output(srv, timeout="30s")
    lc = loki_logcap(logcap, [out]).start()
    lc.wait_api()
    srv.stall(times=1, stall=60, then="close")
    name = write_lines(containers, "t", 20)
    containers.wait_exited(name)
    lc.wait_for(lambda: srv.stats()["stalling"] == 1, 30, "a push held by the server",
                detail=srv.stats)
    t0 = time.monotonic()
    lc.stop(timeout=10)
    took = time.monotonic() - t0
    srv.release()
    lc.start()
    want = expected_keys(containers, [name])
    wait_delivered(srv, lc, want, timeout=30)
    check_stored_once(srv, want, "after a stop during a hung push")
    assert took < 10, took
    log = lc.stderr_text()
    assert "abandoning it" not in log, "the stop abandoned the output's thread stuck in its " \
        "push instead of cutting the push short"


# ------------------------------------------------------------------------------ 3. 429

def test_429_waits_and_honours_retry_after(containers, logcap, lokiserver):
    """429 without Retry-After is retried with the backoff; 429 with Retry-After: 2 makes
    the next try wait at least 2 s (measured on the server's request log) although the
    backoff is 100 ms; nothing is lost or sent twice."""
    srv = lokiserver
    lc = loki_logcap(logcap, [loki_output(srv)]).start()
    api = lc.wait_api()
    srv.fail(429, times=3)
    srv.fail(429, times=2, retry_after=2)
    name = write_lines(containers, "r", 50)
    containers.wait_exited(name)
    want = expected_keys(containers, [name])
    wait_delivered(srv, lc, want, timeout=60)
    check_stored_once(srv, want, "after 429s")
    reqs = srv.requests()
    statuses = [r.status for r in reqs]
    assert statuses[:6] == [429] * 5 + [204], statuses
    for i in range(3, 5):       # the two answered with Retry-After: 2
        gap = reqs[i + 1].at - reqs[i].at
        assert gap >= 2.0, "try %d came %.3f s after a 429 with Retry-After: 2" % (i + 2, gap)
    gaps = [reqs[i + 1].at - reqs[i].at for i in range(0, 3)]
    assert max(gaps) < 2.0, "429 without Retry-After waited %s (backoff 100ms..1s)" % gaps
    # counted by status class as the server answered, in /stats and /metrics alike
    n204 = sum(1 for r in reqs if r.status == 204)
    want = {"2xx": n204, "4xx": 5, "5xx": 0, "error": 0, "count": n204 + 5}
    seen = {}

    def counted():
        st = {o["name"]: o for o in api.stats()["outputs"]}["loki"]
        m = api.metrics()
        seen["stats"] = {k: st["requests"].get(k) for k in want}
        seen["metrics"] = {k: m.sum("logcap_output_requests_total", output="loki",
                                    status_class=k) for k in want if k != "count"}
        seen["metrics"]["count"] = m.sum("logcap_output_request_duration_seconds_count",
                                         output="loki")
        return seen["stats"] == want and seen["metrics"] == want and st["retries"] == 5
    lc.wait_for(counted, 10, "the requests counted by class: %s" % want,
                detail=lambda: "counted %s" % seen)


# ------------------------------------------------------------------------------ 4. 400

@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_400_dead_letters_with_reason_and_replay_delivers(containers, logcap, lokiserver,
                                                          running):
    """A line longer than the server's max_line_size makes its request 400 with Loki's
    reason (Loki stores the rest of it): the request's records go to data_dir/dead/loki.jsonl
    with that reason, are counted, and the other lines arrive. After the limit is lifted,
    `logcap dead replay loki` delivers them, through the running logcap's thread or, with
    logcap stopped, by itself: every line stored exactly once with its own timestamp, the
    dead-letter file empty."""
    srv = lokiserver
    srv.configure(max_line_size=300)
    lc = loki_logcap(logcap, [loki_output(srv, batch={"max_wait": "100ms",
                                                      "max_records": 1000})]).start()
    api = lc.wait_api()
    name = containers.run("big", 'for i in $(seq 1 20); do echo "short $i"; done; '
                          'printf "long %0400d\\n" 7; '
                          'for i in $(seq 21 40); do echo "short $i"; done')
    containers.wait_exited(name)
    want = expected_keys(containers, [name])
    long_key = [k for k in want if k[2].startswith("long ")]
    assert len(long_key) == 1
    lc.wait_for(lambda: h.read_dead(lc.data_dir, "loki"), 30, "the dead-letter file",
                detail=srv.stats)
    lc.wait_for(lambda: {k for k in want if k not in long_key} <= {key(e) for e in srv.entries()},
                30, "the short lines", detail=srv.stats)
    dead = h.read_dead(lc.data_dir, "loki")
    reasons = {d.get("reason") for d in dead}
    assert any(d["record"]["message"].startswith("long ") for d in dead), dead
    for d in dead:
        assert d.get("output") == "loki", d
        assert "400" in d["reason"] and "Max entry size '300' bytes exceeded" in d["reason"], d
    assert len(reasons) == 1, reasons
    nd = len(dead)
    lc.wait_for(lambda: api.metrics().sum("logcap_output_dead_lettered_total", output="loki")
                == nd, 10, "logcap_output_dead_lettered_total == %d" % nd)
    assert api.dead()["loki"]["records"] == nd
    assert not any(k in long_key for k in (key(e) for e in srv.entries()))

    srv.configure(max_line_size=0)
    if not running:
        lc.stop()
    rc, out, err = h.run_cli("dead", "replay", "loki", "--config", lc.config_path, timeout=120)
    assert rc == 0, "logcap dead replay exited %d:\n%s%s" % (rc, out, err)
    if running:
        assert "requested from the running logcap" in out, out
        wait_delivered(srv, lc, want, timeout=30)
    else:
        assert "replay done: %d records delivered" % nd in out, out
        lc.start()
        api = lc.wait_api()
        wait_delivered(srv, lc, want, timeout=30)
    assert not h.read_dead(lc.data_dir, "loki"), "the dead-letter file still holds records"
    d = api.dead()["loki"]
    assert d["records"] == 0, d
    if running:
        assert d["replay"] == "done" and d["replayed"] == nd, d
    # Loki stored the valid entries of the 400 request: the replay repeats only those, and
    # Loki drops them as repeats.
    check_stored_once(srv, want, "after the replay", repeats_allowed=True)
    assert srv.stats()["repeats"] <= nd - 1, srv.stats()


# ------------------------------------------------------------------------------ 5. 413

def test_413_splits_and_a_single_record_too_large_is_dead_lettered(containers, logcap,
                                                                   lokiserver):
    """The server takes bodies up to 4000 bytes: a batch of 200 lines is split in halves
    until each fits, and everything arrives exactly once; a single 5000-byte line is refused
    as too large alone (413) and goes to the dead-letter file, alone."""
    srv = lokiserver
    srv.configure(max_body_bytes=4000)
    name = containers.run("split", 'for i in $(seq 1 100); do echo "line $i of the batch"; '
                          'echo "err $i of the batch" >&2; done; printf "huge %05000d\\n" 1; '
                          'echo after')
    containers.wait_exited(name)
    # started after the container wrote everything: its lines come in one batch
    lc = loki_logcap(logcap, [loki_output(srv, encoding="json",
                                          batch={"max_wait": "500ms"})]).start()
    api = lc.wait_api()
    want = expected_keys(containers, [name])
    huge = [k for k in want if k[2].startswith("huge ")]
    rest = [k for k in want if k not in huge]
    lc.wait_for(lambda: h.read_dead(lc.data_dir, "loki"), 30, "the dead-letter file",
                detail=srv.stats)
    wait_delivered(srv, lc, rest, timeout=30)
    check_stored_once(srv, rest, "after 413 splits")
    dead = h.read_dead(lc.data_dir, "loki")
    assert [d["record"]["message"] for d in dead] == [huge[0][2]], \
        [d["record"]["message"][:30] for d in dead]
    assert "413" in dead[0]["reason"] and "request body too large" in dead[0]["reason"], dead
    reqs = srv.requests()
    sizes = [(r.status, r.body_size) for r in reqs]
    assert reqs[0].status == 413 and reqs[0].body_size > 8000, \
        "the first request (the whole batch) was not refused as too large: %s" % sizes
    assert sum(1 for r in reqs if r.status == 204) >= 4, "the batch was not split: %s" % sizes
    assert all(r.body_size <= 4000 for r in reqs if r.status == 204), sizes
    assert api.dead()["loki"]["records"] == 1


def test_413_halves_delivered_before_a_failure_are_not_sent_again(containers, logcap,
                                                                    lokiserver):
    """A batch refused as too large is split; its first half is delivered, the second
    answered 503: the retry sends the second half only (nothing received twice), and
    everything is stored once."""
    srv = lokiserver
    name = write_lines(containers, "h", 100)
    containers.wait_exited(name)
    srv.fail(413, times=1)
    srv.stall(times=1, stall=0, then="answer")      # the first half: answered normally
    srv.fail(503, times=1)
    lc = loki_logcap(logcap, [loki_output(srv, batch={"max_wait": "500ms"})]).start()
    want = expected_keys(containers, [name])
    wait_delivered(srv, lc, want, timeout=30)
    check_stored_once(srv, want, "after 413, a half delivered and a 503")
    reqs = srv.requests()
    assert [r.status for r in reqs[:4]] == [413, 204, 503, 204], \
        [(r.status, r.entries_received) for r in reqs]
    assert reqs[1].entries_received == 100 and reqs[3].entries_received == 100, \
        [(r.status, r.entries_received) for r in reqs]


# ---------------------------------------------------------------------- 6. 401/403/404

def test_401_403_404_are_configuration_faults(containers, logcap, lokiserver):
    """401 (a real one: the server wants basic auth that logcap does not send), 403, 404 and
    a redirect (302, never followed) in turn: each is retried (past retry.max_attempts: 2,
    never dead-lettered), /health says degraded with the status and the first line of the
    body (reason and outputs[]: config_fault), and the lines are delivered once the server
    accepts."""
    srv = lokiserver
    lc = loki_logcap(logcap, [loki_output(srv, retry=dict(FAST_RETRY, max_attempts=2))]).start()
    api = lc.wait_api()
    delivered = []
    for k, (status, first_line) in enumerate((
            (401, "lokiserver: basic auth required"),
            (403, "lokiserver: injected 403"),
            (404, "404 page not found"),
            (302, "lokiserver: injected 302"))):
        before = len(srv.requests())
        if status == 401:
            srv.configure(basic_auth=("someone", "something"))
        else:
            srv.fail(status, times=None, body=_DEFAULT_BODY[status] + "\nsecond line")
        name = write_lines(containers, "f%d" % k, 20)
        containers.wait_exited(name)
        want = expected_keys(containers, [name])
        text = "configuration fault: Loki answered HTTP %d: %s" % (status, first_line)

        def degraded():
            b = health(api)
            o = output_entry(b)
            return (b.get("status") == "degraded" and text in (b.get("reason") or "") and
                    o.get("config_fault") is True and o.get("failing") is True and
                    o.get("last_status") == status and text in (o.get("error") or "") and
                    "second line" not in o.get("error", ""))
        lc.wait_for(degraded, 30, "/health degraded with %r" % text,
                    detail=lambda: health(api))
        # retried past max_attempts (2): at least 4 tries of the batch
        lc.wait_for(lambda: sum(1 for r in srv.requests()[before:] if r.status == status) >= 4,
                    30, "4 tries answered %d" % status, detail=srv.stats)
        task = api.tasks()["output_loki"]
        assert "HTTP %d" % status in (task.get("last_error") or ""), task
        assert not h.read_dead(lc.data_dir, "loki"), "a configuration fault was dead-lettered"
        if status == 401:
            srv.configure(basic_auth=None)
        else:
            srv.clear_faults()
        wait_delivered(srv, lc, want, timeout=30)
        delivered += want
        lc.wait_for(lambda: not output_entry(health(api)).get("failing"), 10,
                    "the output to stop failing", detail=lambda: health(api))
        body = health(api)
        assert body["status"] == "healthy", body
    check_stored_once(srv, delivered, "after the configuration faults")
    assert not h.read_dead(lc.data_dir, "loki")
    assert api.metrics().value("logcap_output_config_fault", output="loki") == 0


def test_tries_under_a_configuration_fault_do_not_count_toward_max_attempts(
        containers, logcap, lokiserver):
    """retry.max_attempts: 3. A batch meets four 401s (a configuration fault: retried, the
    records are not at fault), then one 503: that is the batch's first ordinary failure, not
    its fifth, so it is retried and delivered, never dead-lettered."""
    srv = lokiserver
    lc = loki_logcap(logcap, [loki_output(srv, retry=dict(FAST_RETRY, max_attempts=3))]).start()
    api = lc.wait_api()
    srv.fail(401, times=4)
    srv.fail(503, times=1)
    name = write_lines(containers, "m", 10)
    containers.wait_exited(name)
    want = expected_keys(containers, [name])

    def delivered():
        dead = h.read_dead(lc.data_dir, "loki")
        assert not dead, "dead-lettered: %s" % dead[0]["reason"]
        return set(want) <= {key(e) for e in srv.entries()}
    lc.wait_for(delivered, 30, "the lines", detail=srv.stats)
    check_stored_once(srv, want, "after 401s and a 503")
    assert [r.status for r in srv.requests()][:6] == [401] * 4 + [503, 204]
    assert not h.read_dead(lc.data_dir, "loki"), h.read_dead(lc.data_dir, "loki")
    assert api.metrics().sum("logcap_output_dead_lettered_total", output="loki") == 0


_DEFAULT_BODY = {403: "lokiserver: injected 403", 404: "404 page not found",
                 302: "lokiserver: injected 302"}


# ------------------------------------------------------------------------- 7. SIGKILL

@pytest.mark.slow
@pytest.mark.loki_crashloop
def test_sigkill_during_delivery_ten_times(containers, logcap, lokiserver):
    """logcap is killed ten times while a push is in flight, while two containers keep
    writing: the server answers every push after 0.2 s, and the first push after each start
    is held unanswered until logcap is killed (stored first on even rounds: the answer is
    lost; stored when released on odd rounds: the body arrived, the client is gone). Nothing
    is lost; what was sent twice (received() minus entries()) comes from at most one request
    per kill."""
    srv = lokiserver
    srv.set_delay(0.2)
    lc = loki_logcap(logcap, [loki_output(srv, batch={"max_wait": "100ms"})])
    names = [containers.run("k%d" % k, h.counter_script(interval="0.02")) for k in range(2)]
    kills = 10
    for i in range(kills):
        srv.stall(times=1, stall=60, then="answer", after_store=(i % 2 == 0))
        lc.start()
        lc.wait_for(lambda: srv.stats()["stalling"] == 1, 30,
                    "a push in flight after start %d" % (i + 1), detail=srv.stats)
        lc.stop(kill=True)
        srv.release()
        srv.wait_for(lambda s: s.stats()["stalling"] == 0, 10)
    assert srv.stats()["faults_pending"] == 0
    lc.start()
    containers.stop(*names)
    want = expected_keys(containers, names)
    wait_delivered(srv, lc, want, timeout=90)
    lc.stop()
    check_stored_once(srv, want, "after %d kills" % kills, repeats_allowed=True)
    # Every entry received again was in a push that was in flight at a kill, and the resends
    # are at most one request per kill.
    inflight = {(ts, line) for r in srv.requests() if r.fault == "stall"
                for _, ents in (r.streams or []) for ts, line, _ in ents}
    seen, resending, again = set(), set(), set()
    for e in srv.received():
        k = (e.stream, e.ts, e.line)
        if k in seen:
            resending.add(e.request)
            again.add((e.ts, e.line))
        seen.add(k)
    assert again <= inflight, "%d entries sent twice were not in flight at a kill (e.g. %s)" % (
        len(again - inflight), sorted(again - inflight)[:3])
    assert len(resending) <= kills, "entries sent again in %d requests after %d kills" % (
        len(resending), kills)
    st = srv.stats()
    assert st["repeats"] > 0, "no kill made a resend: the loop did not kill during delivery"
    assert st["repeats"] <= sum(sum(len(ents) for _, ents in (r.streams or []))
                                for r in srv.requests() if r.fault == "stall"), st


# -------------------------------------------------------------------------- 8. secrets

def test_secrets_appear_nowhere(containers, logcap, lokiserver, workdir):
    """A basic_auth password, a bearer_token and a password_file's content (each accepted by
    its server), a wrong password that fails every request (401), and user:password in a
    url where nothing listens yet (connection refused: the error quotes the url): none of
    them (nor the base64 of user:password) is in logcap's log (debug level), /health,
    /tasks, /stats, /metrics, `--check-config` output, or the errors the failing outputs
    show. Once accepted, every output delivers (the url's credentials as basic auth)."""
    import lokiserver as ls
    s_basic, s_bearer, s_file, s_wrong, s_url = ("pw-basic-7f3a9", "tok-bearer-51c2e",
                                                 "pw-file-c0ffee", "pw-wrong-d34db",
                                                 "pw-url-9e1d")
    url_port = h.free_port()
    srv_d = None
    srv_a = lokiserver
    srv_a.configure(basic_auth=("alice", s_basic))
    srv_b = ls.LokiServer(bearer_token=s_bearer).start()
    srv_c = ls.LokiServer(basic_auth=("carol", s_file)).start()
    try:
        pwfile = os.path.join(workdir, "pw")
        with open(pwfile, "w") as f:
            f.write(s_file + "\n")
        outputs = [
            loki_output(srv_a, "basic", basic_auth={"username": "alice", "password": s_basic}),
            loki_output(srv_b, "bearer", bearer_token=s_bearer),
            loki_output(srv_c, "pwfile", basic_auth={"username": "carol",
                                                     "password_file": pwfile}),
            loki_output(srv_a, "wrong", basic_auth={"username": "alice", "password": s_wrong}),
            dict(loki_output(srv_a, "urlcreds"),
                 url="http://dave:%s@127.0.0.1:%d" % (s_url, url_port)),
        ]
        lc = loki_logcap(logcap, outputs, log_level="debug").start()
        api = lc.wait_api()
        name = write_lines(containers, "s", 10)
        containers.wait_exited(name)
        want = expected_keys(containers, [name])
        for srv in (srv_a, srv_b, srv_c):
            wait_delivered(srv, lc, want, timeout=30)
        lc.wait_for(lambda: (output_entry(health(api), "wrong").get("error") or "")
                    .find("HTTP 401") >= 0, 30, "the wrong password to fail",
                    detail=lambda: health(api))
        lc.wait_for(lambda: (output_entry(health(api), "urlcreds").get("error") or "")
                    .find("no answer from Loki at http://127.0.0.1:%d" % url_port) >= 0, 30,
                    "the url with credentials to fail", detail=lambda: health(api))
        secrets = [s_basic, s_bearer, s_file, s_wrong, s_url]
        secrets += [base64.b64encode(("%s:%s" % (u, p)).encode()).decode()
                    for u, p in (("alice", s_basic), ("carol", s_file), ("alice", s_wrong),
                                 ("dave", s_url))]
        texts = {}
        for path in ("/health", "/tasks", "/stats", "/metrics"):
            r = api.get(path)
            assert r.status == 200, (path, r.status)
            texts[path] = r.text
        assert "HTTP 401" in texts["/health"] and "HTTP 401" in texts["/tasks"]
        rc, out, err = h.run_cli("--check-config", "--config", lc.config_path)
        assert rc == 0, (rc, out, err)
        texts["--check-config"] = out + err
        # let the failing outputs deliver too (so that the stop does not wait for them)
        srv_a.configure(basic_auth=None)
        srv_d = ls.LokiServer(port=url_port, basic_auth=("dave", s_url)).start()
        wait_delivered(srv_d, lc, want, timeout=30)
        lc.wait_for(lambda: not any(o.get("failing") for o in health(api)["outputs"]), 30,
                    "every output to deliver once accepted", detail=lambda: health(api))
        lc.stop()
        texts["log"] = lc.stderr_text()
        assert "[output:wrong]" in texts["log"], "the failing output logged nothing"
        for where, text in texts.items():
            for s in secrets:
                assert s not in text, "a secret (%s...) appears in %s" % (s[:6], where)
        cfg_text = open(lc.config_path).read()
        assert s_basic in cfg_text      # the check above looked for what the config holds
    finally:
        for srv in (srv_b, srv_c, srv_d):
            if srv is not None:
                srv.stop()
    for srv in (srv_b, srv_c, srv_d):
        assert not srv.errors, srv.errors


# -------------------------------------------------------------------- 9. config errors

CONFIG_HEAD = """data_dir: {data}
docker:
  socket: /nonexistent.sock
outputs:
  - type: loki
    name: loki
    url: http://127.0.0.1:9
"""


@pytest.mark.nodocker
@pytest.mark.parametrize("body,line,key,text", [
    ("    labels:\n      job: logcap\n      a: \"{{ nope }}\"\n", 10, "outputs[0].labels.a",
     'unknown variable "nope"'),
    ("    labels:\n      job: logcap\n      1bad: x\n", 10, "outputs[0].labels",
     "not a label name Loki takes"),
    # a rule over the whole mapping: the line of its value (the config layer's convention
    # for every key), where the mapping's first entry is
    ("    labels:\n" + "".join("      l%d: x\n" % i for i in range(16)), 9,
     "outputs[0].labels", "16 labels: Loki takes at most 15"),
    ("    encoding: protobuf\n    compress: true\n", 9, "outputs[0].compress",
     "applies to encoding: json only"),
], ids=["bad-template", "bad-label-name", "16-labels", "compress-protobuf"])
def test_config_errors_name_file_line_and_key(workdir, body, line, key, text):
    """A bad template, a label name Loki refuses, more than 15 labels and compress with
    protobuf: `config error: FILE:LINE: KEY: ...`, exit code 2, from --check-config and from
    a start."""
    path = os.path.join(workdir, "bad.yaml")
    with open(path, "w") as f:
        f.write(CONFIG_HEAD.format(data=os.path.join(workdir, "data")) + body)
    for args in (("--check-config", "--config", path), ("--config", path)):
        rc, out, err = h.run_cli(*args, timeout=30)
        assert rc == 2, "%s: exit %d\n%s%s" % (args, rc, out, err)
        pat = re.compile(r"^config error: %s:%d: %s: .*%s" % (
            re.escape(path), line, re.escape(key) + r"(\.[^:]*)?", re.escape(text)), re.M)
        assert pat.search(err), "%s: no line matching %s in:\n%s" % (args, pat.pattern, err)
