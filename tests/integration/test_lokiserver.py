"""The Loki test server checks what it claims: it decodes protobuf+snappy and JSON pushes as Loki
does, refuses what Loki refuses with Loki's status and text, drops exact repeats, checks tenant
and auth, and injects faults on demand. No dockerd needed (marker nodocker); a few seconds.

The requests are built here with a small protobuf encoder and a snappy compressor that emits
literal-only blocks (valid snappy), independent of the server's decoders; the server's snappy
decoder is also checked against a block made by a real snappy compressor (copies included)."""

import gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

import lokiproto
import lokiserver as ls

pytestmark = pytest.mark.nodocker

HERE = os.path.dirname(os.path.abspath(__file__))
PB = "application/x-protobuf"


# -- encoders (test side) -----------------------------------------------------------------------

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _ld(field, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _vi(field, n):
    return _varint(field << 3) + _varint(n)


def pb_push(streams):
    """streams: [(label string, [(ts ns, line, {metadata})])] -> PushRequest bytes. Lines and
    strings may be bytes (to send invalid UTF-8)."""
    out = []
    for labels, entries in streams:
        s = [_ld(1, labels)]
        for ent in entries:
            ts, line = ent[0], ent[1]
            meta = ent[2] if len(ent) > 2 else {}
            tsb = _vi(1, ts // 10**9) + (_vi(2, ts % 10**9) if ts % 10**9 else b"")
            e = _ld(1, tsb) + _ld(2, line)
            for k, v in meta.items():
                e += _ld(3, _ld(1, k) + _ld(2, v))
            s.append(_ld(2, e))
        out.append(_ld(1, b"".join(s)))
    return b"".join(out)


def snappy_literal(data):
    """A valid snappy block made of literals only (up to 64 KiB each)."""
    out = bytearray(_varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + n.to_bytes(2, "little")
        out += chunk
    return bytes(out)


def json_push(streams):
    return json.dumps({"streams": [
        {"stream": labels, "values": [[str(ts), line] + ([meta] if meta else [])
                                      for ts, line, *rest in entries
                                      for meta in [rest[0] if rest else None]]}
        for labels, entries in streams]}).encode()


def post(srv, body, ctype=PB, headers=None, timeout=5.0, snappy=True, conn=None):
    """POST a push; returns (status, headers dict, body text)."""
    if ctype == PB and snappy and not isinstance(body, (bytes, bytearray)):
        body = pb_push(body)
    if ctype == PB and snappy:
        body = snappy_literal(body)
    hdrs = dict(headers or {})
    if ctype is not None:
        hdrs["Content-Type"] = ctype
    c = conn or http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    try:
        c.request("POST", ls.PUSH_PATH, body=body, headers=hdrs)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        if conn is None:
            c.close()


def now_ns():
    return time.time_ns()


# -- snappy -------------------------------------------------------------------------------------

def test_snappy_known_block_with_copies():
    # The snappy-compressed form of this sentence, as produced by the reference compressor and
    # used by several snappy test suites (found with the code search: a 67-byte literal with a
    # 1-byte length (f0 42), a copy with a 1-byte offset (09 3f: length 6, offset 63), and a
    # final 8-byte literal).
    block = bytes.fromhex(
        "51f04257696b697065646961206973206120667265652c207765622d62617365642c20636f6c6c61626f"
        "7261746976652c206d756c74696c696e6775616c20656e6379636c6f093f1c70726f6a6563742e")
    assert lokiproto.snappy_decompress(block) == (
        b"Wikipedia is a free, web-based, collaborative, multilingual encyclopedia project.")


def test_snappy_copy_forms_and_corrupt_input():
    # "abc" literal then an overlapping 1-byte-offset copy (length 9, offset 3).
    assert lokiproto.snappy_decompress(bytes([12, 2 << 2]) + b"abc" + bytes([(9 - 4) << 2 | 1, 3])
                                       ) == b"abc" * 4
    # 2-byte-offset copy (length 5, offset 5) and 4-byte-offset copy (length 3, offset 10).
    assert lokiproto.snappy_decompress(
        bytes([13, 4 << 2]) + b"hello" + bytes([(5 - 1) << 2 | 2, 5, 0])
        + bytes([(3 - 1) << 2 | 3, 10, 0, 0, 0])) == b"hellohellohel"
    # Long literals (1- and 2-byte lengths) from the test's own compressor.
    data = bytes(range(256)) * 300
    assert lokiproto.snappy_decompress(snappy_literal(data)) == data
    assert lokiproto.snappy_decompress(snappy_literal(b"x" * 100)) == b"x" * 100
    for bad in [b"", bytes([5, 4 << 2]) + b"ab",                    # truncated literal
                bytes([4, 0]) + b"a" + bytes([0 << 2 | 1, 0]),      # offset 0
                bytes([6, 0]) + b"a" + bytes([1 << 2 | 1, 2]),      # offset past the start
                bytes([9, 2 << 2]) + b"abc",                        # shorter than announced
                bytes([2, 2 << 2]) + b"abc"]:                       # longer than announced
        with pytest.raises(lokiproto.DecodeError, match="snappy: corrupt input"):
            lokiproto.snappy_decompress(bad)


# -- accepted requests --------------------------------------------------------------------------

def test_protobuf_push_is_decoded_and_stored(lokiserver):
    t = now_ns()
    status, _, body = post(lokiserver, [
        ('{job="logcap", container="web"}', [(t, "first"), (t + 1, "second", {"cid": "0123"})]),
        ('{stream="stderr", job="logcap"}', [(t + 5, "x\ty ü")]),
    ])
    assert (status, body) == (204, "")
    got = [(e.stream, e.ts, e.line, e.metadata, e.tenant) for e in lokiserver.entries()]
    assert got == [('{container="web", job="logcap"}', t, "first", {}, "fake"),
                   ('{container="web", job="logcap"}', t + 1, "second", {"cid": "0123"}, "fake"),
                   ('{job="logcap", stream="stderr"}', t + 5, "x\ty ü", {}, "fake")]
    assert lokiserver.entries()[0].labels == {"container": "web", "job": "logcap"}
    (req,) = lokiserver.requests()
    assert req.status == 204 and req.content_type == PB and req.fault is None
    assert req.streams[1] == ('{stream="stderr", job="logcap"}', [(t + 5, "x\ty ü", {})])
    assert (req.entries_received, req.entries_stored) == (3, 3)


def test_json_push_plain_and_gzip(lokiserver):
    t = now_ns()
    body = json_push([({"job": "j", "app": "a"}, [(t, "one", {"trace": "7"}), (t + 1, "two")])])
    assert post(lokiserver, body, "application/json")[0] == 204
    body2 = json_push([({"job": "j"}, [(t + 2, "three")])])
    assert post(lokiserver, gzip.compress(body2), "application/json; charset=utf-8",
                {"Content-Encoding": "gzip"})[0] == 204
    assert [(e.stream, e.ts, e.line, e.metadata) for e in lokiserver.entries()] == [
        ('{app="a", job="j"}', t, "one", {"trace": "7"}),
        ('{app="a", job="j"}', t + 1, "two", {}),
        ('{job="j"}', t + 2, "three", {})]


def test_empty_label_values_are_dropped_and_keepalive_works(lokiserver):
    t = now_ns()
    c = http.client.HTTPConnection("127.0.0.1", lokiserver.port, timeout=5)
    try:
        for i in range(3):      # one connection, several requests (libcurl keeps it alive)
            assert post(lokiserver, [('{a="b", empty=""}', [(t + i, "l%d" % i)])],
                        conn=c)[0] == 204
    finally:
        c.close()
    assert {e.stream for e in lokiserver.entries()} == {'{a="b"}'}
    assert len(lokiserver.entries()) == 3


# -- rejections -----------------------------------------------------------------------------------

def test_missing_or_wrong_content_type(lokiserver):
    t = now_ns()
    good = pb_push([('{a="b"}', [(t, "x")])])
    # push.go: mime.ParseMediaType("") -> 400 "mime: no media type" (Loki has no 415 here).
    assert post(lokiserver, snappy_literal(good), ctype=None, snappy=False)[:3:2] == \
        (400, "mime: no media type\n")
    # Any other type is read as protobuf+snappy, so JSON sent as text/plain fails to decode.
    st, _, text = post(lokiserver, json_push([({"a": "b"}, [(t, "x")])]), "text/plain")
    assert (st, text) == (400, "snappy: corrupt input\n")
    st, _, text = post(lokiserver, snappy_literal(good), PB, {"Content-Encoding": "br"},
                       snappy=False)
    assert (st, text) == (400, 'Content-Encoding "br" not supported\n')
    # A body that is not snappy at all.
    assert post(lokiserver, good, PB, snappy=False)[0] == 400
    assert lokiserver.entries() == []
    assert [r.status for r in lokiserver.requests()] == [400, 400, 400, 400]


@pytest.mark.parametrize("labels,err", [
    ('{a="b"', "unexpected end of input inside braces"),
    ('{a-b="c"}', "unexpected character inside braces: '-'"),
    ('{1a="b"}', "unexpected character inside braces: '1'"),
    ('{a=b}', "unexpected character inside braces: 'b'"),
    ('a="b"', "parse error"),
])
def test_label_string_that_does_not_parse_fails_the_whole_request(lokiserver, labels, err):
    t = now_ns()
    st, _, text = post(lokiserver, [('{ok="1"}', [(t, "valid")]), (labels, [(t, "x")])])
    assert st == 400
    assert text.startswith("couldn't parse labels: 1:") and err in text, text
    assert lokiserver.entries() == []        # push.go fails the request before storing


def test_label_name_loki_refuses_in_json(lokiserver):
    st, _, text = post(lokiserver, json_push([({"container.name": "x"}, [(now_ns(), "l")])]),
                       "application/json")
    assert st == 400 and "couldn't parse labels" in text and "'.'" in text


def test_per_stream_errors_are_partial(lokiserver):
    t = now_ns()
    many = "{" + ", ".join('l%02d="v"' % i for i in range(16)) + "}"
    cases = [
        ('{a="1", a="2"}', "stream '{a=\"1\", a=\"2\"}' has duplicate label name: 'a'"),
        (many, "has 16 label names; limit 15"),
        ("{}", "error at least one label pair is required per stream"),
        ('{a=""}', "error at least one label pair is required per stream"),
    ]
    for i, (labels, err) in enumerate(cases):
        st, _, text = post(lokiserver, [('{ok="%d"}' % i, [(t, "kept")]), (labels, [(t, "x")])])
        assert st == 400 and err in text, (labels, text)
    # Loki stores the valid stream of each request and answers 400 for the rest.
    assert [e.stream for e in lokiserver.entries()] == ['{ok="%d"}' % i for i in range(4)]
    # Fifteen labels are fine.
    fifteen = "{" + ", ".join('l%02d="v"' % i for i in range(15)) + "}"
    assert post(lokiserver, [(fifteen, [(t, "ok")])])[0] == 204


def test_json_timestamp_must_be_a_string(lokiserver):
    t = now_ns()
    body = json.dumps({"streams": [{"stream": {"a": "b"}, "values": [[t, "line"]]}]}).encode()
    st, _, text = post(lokiserver, body, "application/json")
    assert st == 400 and 'ReadString: expects " or n, but found 1' in text, text
    body = json.dumps({"streams": [{"stream": {"a": "b"}, "values": [["12x", "l"]]}]}).encode()
    st, _, text = post(lokiserver, body, "application/json")
    assert st == 400 and "error reading entry timestamp" in text
    assert lokiserver.entries() == []


def test_invalid_utf8(lokiserver):
    t = now_ns()
    # In a label value: Prometheus' parser refuses it, the whole request is 400.
    st, _, text = post(lokiserver, [(b'{a="\xff"}', [(t, "x")])])
    assert st == 400 and "couldn't parse labels: 1:5: parse error: invalid UTF-8 rune" in text
    # In a line (protobuf and JSON): refused by the server's strict check (partial).
    st, _, text = post(lokiserver, [('{a="b"}', [(t, b"bad \xc3(", ), (t + 1, "good")])])
    assert st == 400 and text.startswith("lokiserver: ") and "not valid UTF-8" in text
    raw = b'{"streams":[{"stream":{"a":"j"},"values":[["%d","x\xff"]]}]}' % t
    assert post(lokiserver, raw, "application/json")[0] == 400
    assert [e.line for e in lokiserver.entries()] == ["good"]
    # Loki itself would store it: strict_utf8=False does the same.
    lokiserver.configure(strict_utf8=False)
    assert post(lokiserver, [('{a="b"}', [(t + 2, b"bad \xc3(")])])[0] == 204
    assert lokiserver.entries()[-1].line.encode("utf-8", "surrogateescape") == b"bad \xc3("


def test_entry_limits(lokiserver):
    t = now_ns()
    old = t - 8 * 24 * 3600 * 10**9
    st, _, text = post(lokiserver, [('{a="b"}', [(old, "old"), (t, "new")])])
    assert st == 400 and "has timestamp too old" in text
    st, _, text = post(lokiserver, [('{a="b"}', [(t + 3600 * 10**9, "future")])])
    assert st == 400 and "has timestamp too new" in text
    lokiserver.configure(max_line_size=10, allow_structured_metadata=False)
    st, _, text = post(lokiserver, [('{a="b"}', [(t + 1, "x" * 11)])])
    assert st == 400 and "Max entry size '10' bytes exceeded" in text and "'11' bytes" in text
    st, _, text = post(lokiserver, [('{a="b"}', [(t + 2, "m", {"k": "v"})])])
    assert st == 400 and "structured metadata, but this feature is disallowed" in text
    assert [e.line for e in lokiserver.entries()] == ["new"]


def test_too_far_behind_the_stream(lokiserver):
    t = now_ns()
    assert post(lokiserver, [('{a="b"}', [(t, "newest")])])[0] == 204
    st, _, text = post(lokiserver, [('{a="b"}', [(t - 2 * 3600 * 10**9, "late"),
                                                 (t - 60 * 10**9, "in window")])])
    assert st == 400
    assert "reason: 'entry too far behind" in text
    assert "user 'fake', total ignored: 1 out of 2 for stream: {a=\"b\"}" in text
    assert [e.line for e in lokiserver.entries()] == ["newest", "in window"]


def test_body_size_limit_is_413(lokiserver):
    lokiserver.configure(max_body_bytes=50)
    st, _, text = post(lokiserver, [('{a="b"}', [(now_ns(), "x" * 100)])])
    assert st == 413 and text.startswith("request body too large:")


# -- dedup ---------------------------------------------------------------------------------------

def test_exact_repeats_are_dropped_but_counted(lokiserver):
    t = now_ns()
    req = [('{a="b"}', [(t, "one"), (t, "one"), (t, "two"), (t + 1, "one")])]
    assert post(lokiserver, req)[0] == 204
    assert post(lokiserver, req)[0] == 204          # a resend: all four are repeats
    # Same timestamp and line in another stream is not a repeat.
    assert post(lokiserver, [('{a="c"}', [(t, "one")])])[0] == 204
    assert [(e.stream, e.ts, e.line) for e in lokiserver.entries()] == [
        ('{a="b"}', t, "one"), ('{a="b"}', t, "two"), ('{a="b"}', t + 1, "one"),
        ('{a="c"}', t, "one")]
    assert len(lokiserver.received()) == 9
    assert lokiserver.stats()["repeats"] == 5
    assert [r.entries_stored for r in lokiserver.requests()] == [3, 0, 1]


# -- faults ---------------------------------------------------------------------------------------

def test_429_n_times_then_204(lokiserver):
    t = now_ns()
    lokiserver.fail(429, times=2, retry_after=3)
    req = [('{a="b"}', [(t, "x")])]
    answers = [post(lokiserver, req) for _ in range(3)]
    assert [a[0] for a in answers] == [429, 429, 204]
    assert answers[0][1]["retry-after"] == "3" and "retry-after" not in answers[2][1]
    assert "Ingestion rate limit exceeded" in answers[0][2]
    assert [r.fault for r in lokiserver.requests()] == ["429", "429", None]
    # A faulted request is decoded for the record but stores nothing.
    assert lokiserver.requests()[0].streams == [('{a="b"}', [(t, "x", {})])]
    assert len(lokiserver.received()) == 1


@pytest.mark.parametrize("status", [500, 503, 400, 413, 401, 403, 404])
def test_injected_status(lokiserver, status):
    lokiserver.fail(status, body="reason %d" % status)
    st, _, text = post(lokiserver, [('{a="b"}', [(now_ns(), "x")])])
    assert (st, text) == (status, "reason %d\n" % status)
    assert lokiserver.entries() == []


def test_fault_for_some_seconds(lokiserver):
    lokiserver.fail(503, seconds=0.3)
    t0 = time.monotonic()
    statuses = []
    while True:
        st = post(lokiserver, [('{a="b"}', [(now_ns(), "x")])])[0]
        statuses.append(st)
        if st != 503:
            break
        assert time.monotonic() - t0 < 5
    assert statuses[-1] == 204 and time.monotonic() - t0 >= 0.3 and len(statuses) >= 2


def test_stall_holds_the_connection_unanswered(lokiserver):
    lokiserver.stall(stall=10)
    t0 = time.monotonic()
    with pytest.raises(socket.timeout):
        post(lokiserver, [('{a="b"}', [(now_ns(), "x")])], timeout=0.5)
    assert time.monotonic() - t0 >= 0.5
    lokiserver.release()
    assert lokiserver.wait_for(lambda s: len(s.requests()) == 1, 5)
    assert lokiserver.requests()[0].status is None and lokiserver.requests()[0].fault == "stall"
    assert post(lokiserver, [('{a="b"}', [(now_ns(), "y")])])[0] == 204
    assert [e.line for e in lokiserver.entries()] == ["y"]


def test_stall_then_answer(lokiserver):
    lokiserver.stall(stall=0.3, then="answer")
    t0 = time.monotonic()
    assert post(lokiserver, [('{a="b"}', [(now_ns(), "slow")])])[0] == 204
    assert time.monotonic() - t0 >= 0.3
    assert [e.line for e in lokiserver.entries()] == ["slow"]


def _raw_push(srv, body):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                  b"\r\n" % (ls.PUSH_PATH.encode(), PB.encode(), len(body)) + body)
        return s.recv(65536)
    finally:
        s.close()


def test_reset_closes_with_rst(lokiserver):
    t = now_ns()
    lokiserver.reset(times=1)
    body = snappy_literal(pb_push([('{a="b"}', [(t, "x")])]))
    with pytest.raises(ConnectionResetError):
        _raw_push(lokiserver, body)
    assert lokiserver.entries() == []
    assert _raw_push(lokiserver, body).startswith(b"HTTP/1.1 204")


def test_lost_answer_after_store_makes_a_repeat(lokiserver):
    t = now_ns()
    lokiserver.reset(times=1, after_store=True)
    req = [('{a="b"}', [(t, "x"), (t + 1, "y")])]
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        post(lokiserver, req)
    assert post(lokiserver, req)[0] == 204          # the client's resend
    assert len(lokiserver.entries()) == 2 and len(lokiserver.received()) == 4


def test_delay_per_request(lokiserver):
    lokiserver.set_delay(0.02)
    t0 = time.monotonic()
    for i in range(3):
        assert post(lokiserver, [('{a="b"}', [(now_ns() + i, "x")])])[0] == 204
    assert time.monotonic() - t0 >= 0.06


# -- tenant and auth ----------------------------------------------------------------------------

def test_tenant_required_and_recorded(lokiserver):
    t = now_ns()
    req = [('{a="b"}', [(t, "x")])]
    lokiserver.configure(tenants=True)
    assert post(lokiserver, req)[::2] == (401, "no org id\n")
    assert post(lokiserver, req, headers={"X-Scope-OrgID": "a|b"})[0] == 400
    assert post(lokiserver, req, headers={"X-Scope-OrgID": "team1"})[0] == 204
    assert post(lokiserver, req, headers={"X-Scope-OrgID": "team2"})[0] == 204  # not a repeat
    assert [e.line for e in lokiserver.entries(tenant="team1")] == ["x"]
    assert len(lokiserver.entries()) == 2
    lokiserver.configure(tenants=["team1"])
    st, _, text = post(lokiserver, req, headers={"X-Scope-OrgID": "team3"})
    assert st == 401 and "unknown tenant" in text


def test_basic_and_bearer_auth(lokiserver):
    req = [('{a="b"}', [(now_ns(), "x")])]
    lokiserver.configure(basic_auth=("user", "s3cret"))
    assert post(lokiserver, req)[0] == 401
    assert post(lokiserver, req, headers={"Authorization": "Basic dXNlcjp3cm9uZw=="})[0] == 401
    assert post(lokiserver, req, headers={"Authorization": "Basic dXNlcjpzM2NyZXQ="})[0] == 204
    lokiserver.configure(basic_auth=None, bearer_token="tok")
    assert post(lokiserver, req, headers={"Authorization": "Bearer nope"})[0] == 401
    assert post(lokiserver, req, headers={"Authorization": "Bearer tok"})[0] == 204
    assert lokiserver.requests()[-1].headers["authorization"] == "Bearer tok"


# -- control over HTTP, stand-alone ------------------------------------------------------------

def _http(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def test_http_control(lokiserver):
    t = now_ns()
    st, text = _http(lokiserver.port, "POST", "/control",
                     {"op": "fail", "status": 500, "times": 1})
    assert st == 200 and json.loads(text)["faults"][0]["status"] == 500
    req = [('{a="b"}', [(t, "x")])]
    assert post(lokiserver, req)[0] == 500
    assert post(lokiserver, req)[0] == 204
    assert _http(lokiserver.port, "POST", "/control", {"op": "delay", "seconds": 0})[0] == 200
    assert _http(lokiserver.port, "POST", "/control", {"op": "bogus"})[0] == 400
    stats = json.loads(_http(lokiserver.port, "GET", "/control/stats")[1])
    assert stats["requests"] == 2 and stats["stored"] == 1 and stats["by_status"] == {
        "500": 1, "204": 1}
    entries = json.loads(_http(lokiserver.port, "GET", "/control/entries")[1])["entries"]
    assert entries == [{"tenant": "fake", "stream": '{a="b"}', "labels": {"a": "b"},
                        "ts": str(t), "line": "x", "metadata": {}, "request": 2}]
    assert _http(lokiserver.port, "GET", "/ready") == (200, "ready\n")


def test_standalone():
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "lokiserver.py"), "--port", "0",
                          "--tenants", "*"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        url = p.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        srv = type("S", (), {"port": port})
        assert post(srv, [('{a="b"}', [(now_ns(), "x")])],
                    headers={"X-Scope-OrgID": "t"})[0] == 204
        assert json.loads(_http(port, "GET", "/control/stats")[1])["stored"] == 1
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    assert "1 requests, 1 entries received, 1 stored" in err


def test_control_requests_and_sink_mode(lokiserver):
    req = [('{a="b"}', [(now_ns(), "x")])]
    assert post(lokiserver, req, headers={"X-Custom": "1"})[0] == 204
    reqs = json.loads(_http(lokiserver.port, "GET", "/control/requests")[1])["requests"]
    assert len(reqs) == 1 and reqs[0]["status"] == 204 and reqs[0]["headers"]["x-custom"] == "1"
    assert reqs[0]["entries_stored"] == 1 and reqs[0]["content_type"] == PB
    # The benchmark sink: read, count, acknowledge; garbage is fine, nothing is stored.
    lokiserver.configure(decode=False)
    assert post(lokiserver, b"not a push at all", PB, snappy=False)[0] == 204
    st = lokiserver.stats()
    assert st["requests"] == 2 and st["stored"] == 1 and st["bytes"] == reqs[0]["body_size"] + 17


def test_expect_100_continue_and_a_big_batch(lokiserver):
    # libcurl sends "Expect: 100-continue" for large POST bodies and waits for the 100.
    t = now_ns()
    n = 10000
    body = snappy_literal(pb_push([('{job="bench"}', [(t + i, "%06d " % i + "x" * 93)
                                                      for i in range(n)])]))
    s = socket.create_connection(("127.0.0.1", lokiserver.port), timeout=5)
    try:
        s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                  b"Expect: 100-continue\r\n\r\n" % (ls.PUSH_PATH.encode(), PB.encode(),
                                                     len(body)))
        assert s.recv(4096).startswith(b"HTTP/1.1 100 Continue")
        t0 = time.monotonic()
        s.sendall(body)
        assert s.recv(4096).startswith(b"HTTP/1.1 204")
        took = time.monotonic() - t0
    finally:
        s.close()
    assert len(lokiserver.entries()) == n
    assert lokiserver.entries()[-1].line == "%06d " % (n - 1) + "x" * 93
    assert took < 2.0, "a 1 MiB push took %.2f s to check" % took


def test_concurrent_pushes(lokiserver):
    import threading
    t = now_ns()
    statuses = []

    def worker(w):
        c = http.client.HTTPConnection("127.0.0.1", lokiserver.port, timeout=5)
        try:
            for i in range(20):
                statuses.append(post(lokiserver, [('{w="%d"}' % w, [(t + i, "l%d" % i)])],
                                     conn=c)[0])
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(10)
    assert statuses == [204] * 160
    assert len(lokiserver.entries()) == 160 and len(lokiserver.streams()) == 8
    assert sorted(e.ts - t for e in lokiserver.entries(stream='{w="3"}')) == list(range(20))
