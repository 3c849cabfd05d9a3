"""lokiserver: a protocol-checking Grafana Loki push endpoint for logcap's tests.

No real Loki can be installed here, so this server decodes and checks POST /loki/api/v1/push
the way Loki does and keeps what it would store, so that tests can assert on every entry.
Standard library only (no snappy or protobuf modules): the snappy block decoder, the protobuf
wire decoder, the JSON body and label-string parsers are in lokiproto.py.

What is modelled, and where Loki does it (grafana/loki, v3 unless said otherwise):

- Decoding (pkg/loghttp/push/push.go ParseLokiRequest): Content-Encoding "" / "snappy" (the body
  is raw block snappy either way for protobuf), "gzip", "deflate", anything else 400
  `Content-Encoding "x" not supported`. Content-Type through mime.ParseMediaType: missing or empty
  is 400 `mime: no media type` (Loki answers 400 here, not 415: no code path in the push handler
  produces 415); application/json is the JSON form; every other type is decoded as
  protobuf+snappy (so a wrong type fails with the decoder's error, e.g. `snappy: corrupt input`).
- protobuf (pkg/push/push.proto, types.go): PushRequest{streams=1 StreamAdapter, format=2},
  StreamAdapter{labels=1 string, entries=2 EntryAdapter, hash=3}, EntryAdapter{timestamp=1
  google.protobuf.Timestamp{seconds=1, nanos=2}, line=2, structuredMetadata=3
  LabelPairAdapter{name=1, value=2}, parsed=4}. Unknown fields are skipped; strings are NOT
  checked for UTF-8 by Loki's (gogo) decoder.
- JSON (pkg/util/unmarshal, pkg/loghttp/entry.go, jsoniter): {"streams":[{"stream":{..},
  "values":[["<ns>","line",{metadata}]]}]}; a timestamp that is not a JSON string fails the
  whole request with jsoniter's `ReadString: expects " or n, but found ...`.
- Every stream's label string is parsed (push.go: `couldn't parse labels: %w`, the whole request
  is 400 and nothing is stored) with Prometheus' ParseMetric grammar (`{name="value", ...}`,
  names [a-zA-Z_][a-zA-Z0-9_]*, invalid UTF-8 in a value is `parse error: invalid UTF-8 rune`);
  labels with an empty value are dropped (syntax.ParseLabels, WithoutEmpty).
- Per stream (pkg/distributor/validator.go ValidateLabels, pkg/validation/validate.go): no label
  left -> `error at least one label pair is required per stream`; more than
  max_label_names_per_series (15) -> `entry for stream '%s' has %d label names; limit %d`; name
  longer than 1024 / value longer than 2048; a duplicate name -> `stream '%s' has duplicate label
  name: '%s'`. Per entry (ValidateEntry): older than reject_old_samples_max_age (1 week), newer
  than now + creation_grace_period (10 min), line longer than max_line_size (256 KiB), structured
  metadata when not allowed. These are partial failures (distributor.go Push): the valid streams
  and entries of the request are stored and the answer is 400 with the LAST error seen.
- Ingester (pkg/ingester/stream.go, chunkenc unordered head block): an exact repeat (same stream,
  timestamp and line) is dropped silently (still 204); an entry older than the stream's newest
  minus max_chunk_age/2 (1 h) is refused with a 400 listing `entry with timestamp %s ignored,
  reason: 'entry too far behind, ...'` and `user '%s', total ignored: %d out of %d for stream: %s`.
- Tenancy (dskit middleware AuthenticateUser): with auth_enabled a push without X-Scope-OrgID is
  401 `no org id`; several tenants `a|b` in a push are 400 (dskit tenant.TenantID).
- Answers: 204 for any accepted request.

Checks that are this server's own (not Loki's), marked so in the answers' text:
- strict_utf8 (default on): a line or structured-metadata value that is not valid UTF-8 is
  refused like an invalid entry (partial 400, text starts with "lokiserver:"). Loki itself stores
  such a line as is; logcap promises valid UTF-8, and this catches it breaking that promise.
- basic_auth / bearer_token: a gateway in front of Loki; a missing or wrong credential is 401.
- tenants given as a list: a tenant outside it is 401 `lokiserver: unknown tenant`.

Fault injection (methods below, or POST /control): the next N push requests (or all of them for
some seconds) answer a given status (with a body and Retry-After), stall (hold the connection
unanswered), or reset the connection (SO_LINGER 0); optionally after storing the request, which
is how a lost answer makes a client resend what Loki already has. A fixed delay per request
models a remote Loki. The API and the control protocol: LokiServer's docstring.

Not modelled: Loki 3's service_name label (discover_service_name adds it to stored streams; here
streams keep exactly the labels sent), rate and stream limits (inject 429 instead), and the end
of deduplication when the ingester cuts a chunk (here a repeat is dropped for the server's whole
life, so received() - entries() counts every resend).

Stand-alone: python3 tests/integration/lokiserver.py --port N [options] prints its base URL
(http://127.0.0.1:N) on stdout and serves until SIGTERM or SIGINT.
"""

import argparse
import base64
import collections
import gzip
import http.server
import json
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib

from lokiproto import (DecodeError, LabelParseError, _b, _go_time, _is_utf8, _labels_string,
                       _rfc3339, _view, decode_push_json, decode_push_protobuf, parse_labels,
                       snappy_decompress)

PUSH_PATH = "/loki/api/v1/push"
CONTROL_PATH = "/control"

# Loki's defaults (pkg/validation/limits.go).
DEFAULT_LIMITS = {
    "max_label_names_per_series": 15,
    "max_label_name_length": 1024,
    "max_label_value_length": 2048,
    "max_line_size": 256 * 1024,
    "reject_old_samples": True,
    "reject_old_samples_max_age": 7 * 24 * 3600.0,
    "creation_grace_period": 600.0,
    "allow_structured_metadata": True,
    "out_of_order_window": 3600.0,      # max_chunk_age (2h) / 2, pkg/ingester
}


# ---------------------------------------------------------------------------------------------
# Records

Entry = collections.namedtuple("Entry", ["tenant", "stream", "labels", "ts", "line", "metadata",
                                         "request"])
Entry.__doc__ = """One log entry. STREAM is the normalized label string (sorted, empty values
dropped, e.g. '{a="b", c="d"}'), LABELS the same as a dict, TS nanoseconds since the epoch
(int), LINE a str (invalid UTF-8 bytes, if any, as surrogate escapes: LINE.encode('utf-8',
'surrogateescape') gives the bytes sent), METADATA a dict of structured metadata, REQUEST the
number of the request that carried it."""

Request = collections.namedtuple("Request", [
    "n", "at", "method", "path", "headers", "tenant", "content_type", "content_encoding",
    "body_size", "streams", "status", "answer", "fault", "error", "entries_received",
    "entries_stored"])
Request.__doc__ = """One request as received and answered. HEADERS is a dict with lower-case
names. STREAMS is the decoded push ([(label string, [(ts, line str, metadata dict)])], None when
it could not be decoded or was not a push). STATUS is the status answered (None: no answer,
i.e. a stall or a reset), ANSWER the body text, FAULT the injected fault's name or None, ERROR
the decode/validation error text or None. ENTRIES_RECEIVED counts entries that passed the checks
(repeats included), ENTRIES_STORED the ones that were new."""


class _Fault:
    def __init__(self, kind, times=1, seconds=None, status=None, body=None, retry_after=None,
                 stall=30.0, then="close", after_store=False):
        if kind not in ("status", "stall", "reset"):
            raise ValueError("fault kind: %r" % kind)
        if then not in ("close", "reset", "answer"):
            raise ValueError("stall 'then' must be close, reset or answer")
        self.kind = kind
        self.times = times
        self.seconds = seconds
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.stall = stall
        self.then = then
        self.after_store = after_store
        self.deadline = None

    def name(self):
        return "%d" % self.status if self.kind == "status" else self.kind

    def describe(self):
        return {"kind": self.kind, "times": self.times, "seconds": self.seconds,
                "status": self.status, "stall": self.stall, "then": self.then,
                "after_store": self.after_store}


class LokiServer:
    """A threaded Loki push endpoint on 127.0.0.1.

    srv = LokiServer(port=0, **config).start()      # or: with LokiServer() as srv: ...
    srv.url            "http://127.0.0.1:PORT" (give logcap url: srv.url)
    srv.push_url       srv.url + "/loki/api/v1/push"

    Configuration (constructor keywords, or srv.configure(**kw) at any time):
      tenants=None        None: single-tenant Loki (X-Scope-OrgID ignored, tenant "fake");
                          True: the header is required (401 "no org id"), any tenant accepted;
                          a list/set: required and must be one of them.
      basic_auth=None     (user, password): Authorization: Basic required, else 401.
      bearer_token=None   token: Authorization: Bearer required, else 401.
      strict_utf8=True    refuse lines / metadata values that are not valid UTF-8 (see module).
      delay=0.0           seconds to wait before answering every request (a remote Loki).
      max_body_bytes=None a body (as sent) larger than this is 413.
      decode=True         False: a minimal sink for benchmarks: auth, tenant, delay and faults
                          apply, the body is read and counted (stats()["bytes"]) but neither
                          decoded nor stored; every such request answers 204.
      and Loki's limits: max_label_names_per_series=15, max_label_name_length=1024,
      max_label_value_length=2048, max_line_size=262144 (0: none), reject_old_samples=True,
      reject_old_samples_max_age=604800 s, creation_grace_period=600 s,
      allow_structured_metadata=True, out_of_order_window=3600 s.

    Faults (each queued; the push requests that arrive take them in order; a fault applies to
    TIMES requests or, with seconds=S, to every request for S seconds from the first it hits;
    times=None and seconds=None: every request until clear_faults()):
      srv.fail(status, times=1, body=None, retry_after=None, seconds=None, after_store=False)
      srv.stall(times=1, stall=30.0, then="close"|"reset"|"answer", seconds=None,
                after_store=False)   hold the connection unanswered for STALL seconds, then
                close it (no answer), reset it, or answer normally
      srv.reset(times=1, seconds=None, after_store=False)   close with RST (SO_LINGER 0)
      srv.clear_faults(); srv.release()  (end every stall now); srv.set_delay(seconds)
      after_store=True: the request is processed (entries stored) before the fault replaces
      the answer: a lost answer.

    Views (snapshots, thread-safe):
      srv.entries(tenant=None, stream=None)   stored entries (repeats dropped), arrival order
      srv.received(tenant=None, stream=None)  every entry that passed the checks, with repeats
      srv.streams(tenant=None)                {stream: [stored entries]}
      srv.requests(path=PUSH_PATH)            Request records
      srv.stats()                             counts (dict): requests, by_status, bytes, received,
                                              stored, repeats, faults_pending, stalling
                                              (connections held by a stall now), errors
      srv.wait_for(predicate, timeout)        waits until predicate(srv) is true (re-checked
                                              after every request); returns its last value
      srv.clear()                             forget entries and requests
      srv.errors                              exceptions raised inside the server (should be [])

    HTTP control (for bench scripts and C tests), JSON in and out:
      POST /control {"op": "fail", "status": 429, "times": 3, "retry_after": 1, "body": ".."}
                    {"op": "stall", "times": 1, "stall": 5, "then": "close"}
                    {"op": "reset", "times": 2}      {"op": "delay", "seconds": 0.02}
                    {"op": "clear_faults"}  {"op": "release"}  {"op": "clear"}
                    {"op": "configure", ...keywords above...}
      GET /control/stats     the stats() dict
      GET /control/entries   {"entries": [{"tenant","stream","labels","ts","line","metadata",
                             "request"}, ...]} (?tenant=T, &received=1 for the view with
                             repeats; ts is a string of nanoseconds)
      GET /control/requests  {"requests": [{"n","status","answer","fault","tenant","headers",
                             "content_type","content_encoding","body_size","error",
                             "entries_received","entries_stored"}, ...]}
      GET /ready             "ready" (as Loki)
    """

    def __init__(self, port=0, host="127.0.0.1", **config):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("lokiserver binds 127.0.0.1 only")
        self.host = "127.0.0.1"
        self._want_port = port
        self._lock = threading.Condition()
        self._release = threading.Event()
        self._stopping = threading.Event()
        self.errors = []
        self.config = dict(DEFAULT_LIMITS)
        self.config.update({"tenants": None, "basic_auth": None, "bearer_token": None,
                            "strict_utf8": True, "delay": 0.0, "max_body_bytes": None,
                            "decode": True})
        self.configure(**config)
        self._faults = collections.deque()
        self._httpd = None
        self._thread = None
        self._open = set()
        self._n = 0
        self._stalling = 0
        self.clear()

    # -- life cycle -----------------------------------------------------------------------
    def start(self):
        server = self

        class Handler(_Handler):
            srv = server

        class HTTPServer(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._httpd = HTTPServer((self.host, self._want_port), Handler)
        self.port = self._httpd.server_address[1]
        self.url = "http://%s:%d" % (self.host, self.port)
        self.push_url = self.url + PUSH_PATH
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="lokiserver", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is None:
            return
        self._stopping.set()
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            conns = list(self._open)
        for c in conns:             # keep-alive connections waiting for a next request
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)
        self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- configuration and faults ---------------------------------------------------------
    def configure(self, **kw):
        for k, v in kw.items():
            if k not in self.config:
                raise TypeError("unknown lokiserver setting: %s" % k)
            if k == "tenants" and v not in (None, True, False) and not isinstance(v, set):
                v = set(v)
            if k == "basic_auth" and v is not None:
                v = tuple(v)
            self.config[k] = v
        return self

    def set_delay(self, seconds):
        self.configure(delay=float(seconds))

    def _queue(self, fault):
        with self._lock:
            self._faults.append(fault)
        return self

    def fail(self, status, times=1, body=None, retry_after=None, seconds=None, after_store=False):
        if body is None:
            body = _DEFAULT_FAULT_BODY.get(int(status), "lokiserver: injected %d" % int(status))
        return self._queue(_Fault("status", times=times, seconds=seconds, status=int(status),
                                  body=body, retry_after=retry_after, after_store=after_store))

    def stall(self, times=1, stall=30.0, then="close", seconds=None, after_store=False):
        return self._queue(_Fault("stall", times=times, seconds=seconds, stall=float(stall),
                                  then=then, after_store=after_store))

    def reset(self, times=1, seconds=None, after_store=False):
        return self._queue(_Fault("reset", times=times, seconds=seconds,
                                  after_store=after_store))

    def clear_faults(self):
        with self._lock:
            self._faults.clear()

    def release(self):
        """End every stall in progress now (then it closes/resets/answers as configured)."""
        self._release.set()
        # Stalls that start later must wait again.
        self._release = threading.Event()

    def pending_faults(self):
        with self._lock:
            return [f.describe() for f in self._faults]

    def _take_fault(self):
        now = time.monotonic()
        with self._lock:
            while self._faults:
                f = self._faults[0]
                if f.seconds is not None:
                    if f.deadline is None:
                        f.deadline = now + f.seconds
                    if now >= f.deadline:
                        self._faults.popleft()
                        continue
                    return f
                if f.times is None or f.times > 0:
                    if f.times is not None:
                        f.times -= 1
                        if f.times == 0:
                            self._faults.popleft()
                    return f
                self._faults.popleft()
            return None

    # -- views ------------------------------------------------------------------------------
    def clear(self):
        with self._lock:
            self._stored = []
            self._received = []
            self._keys = {}             # tenant -> set((stream, ts, line bytes))
            self._newest = {}           # (tenant, stream) -> newest ts
            self._requests = []
            self._lock.notify_all()

    @staticmethod
    def _filter(lst, tenant, stream):
        return [e for e in lst if (tenant is None or e.tenant == tenant)
                and (stream is None or e.stream == stream)]

    def entries(self, tenant=None, stream=None):
        with self._lock:
            return self._filter(self._stored, tenant, stream)

    def received(self, tenant=None, stream=None):
        with self._lock:
            return self._filter(self._received, tenant, stream)

    def streams(self, tenant=None):
        out = {}
        for e in self.entries(tenant):
            out.setdefault(e.stream, []).append(e)
        return out

    def requests(self, path=PUSH_PATH):
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def stats(self):
        with self._lock:
            by_status = collections.Counter(
                "none" if r.status is None else str(r.status)
                for r in self._requests if r.path == PUSH_PATH)
            return {"requests": sum(1 for r in self._requests if r.path == PUSH_PATH),
                    "by_status": dict(by_status),
                    "bytes": sum(r.body_size for r in self._requests if r.path == PUSH_PATH),
                    "received": len(self._received), "stored": len(self._stored),
                    "repeats": len(self._received) - len(self._stored),
                    "faults_pending": len(self._faults), "stalling": self._stalling,
                    "errors": len(self.errors)}

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                # The predicate may call the views, which take the (reentrant) lock.
                value = predicate(self)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    return value
                self._lock.wait(min(left, 0.25))

    # -- the push itself ----------------------------------------------------------------------
    def process_push(self, headers, body, tenant, n):
        """Decode, check and store one push. Returns (status, answer text, streams view,
        error text, received count, stored count)."""
        cfg = self.config
        limit = cfg["max_body_bytes"]
        if limit is not None and len(body) > limit:
            # pkg/validation/validate.go RequestBodyTooLargeErrorMsg; 413.
            msg = "request body too large: %d bytes, limit: %d bytes" % (len(body), limit)
            return 413, msg, None, msg, 0, 0
        if not cfg["decode"]:
            return 204, "", None, None, 0, 0
        try:
            streams = self._decode(headers, body)
        except DecodeError as e:
            return 400, str(e), None, str(e), 0, 0
        view = _view(streams)
        # push.go ParseLokiRequest parses every stream's labels; one failure fails the request.
        parsed = []
        for text, ents in view:
            try:
                pairs = parse_labels(text)
            except LabelParseError as e:
                msg = "couldn't parse labels: %s" % e
                return 400, msg, view, msg, 0, 0
            parsed.append((pairs, ents))
        status, msg, nrecv, nstored = self._validate_and_store(parsed, tenant, n)
        return status, msg, view, (msg if status != 204 else None), nrecv, nstored

    def _decode(self, headers, body):
        enc = headers.get("content-encoding", "")
        if enc in ("", "snappy"):
            data = body
        elif enc == "gzip":
            try:
                data = gzip.decompress(body)
            except (OSError, EOFError, zlib.error) as e:
                raise DecodeError("gzip: invalid header" if "Not a gzipped" in str(e) else
                                  "unexpected EOF")
        elif enc == "deflate":
            try:
                data = zlib.decompress(body, -15)
            except zlib.error:
                raise DecodeError("flate: corrupt input")
        else:
            raise DecodeError('Content-Encoding "%s" not supported' % enc)
        ctype = headers.get("content-type", "")
        media = ctype.split(";", 1)[0].strip().lower()
        if not media:
            raise DecodeError("mime: no media type")         # mime.ParseMediaType("")
        if "/" not in media:
            raise DecodeError("mime: expected slash after first token")
        if media == "application/json":
            return decode_push_json(data)
        # Every other type: protobuf + raw snappy (push.go's default branch).
        return decode_push_protobuf(snappy_decompress(data))

    def _validate_and_store(self, parsed, tenant, n):
        cfg = self.config
        now = time.time_ns()
        last_err = None
        nrecv = nstored = 0
        accepted = []
        for pairs, ents in parsed:
            if not ents:        # distributor.go: a stream without entries is skipped
                continue
            pairs = [(k, v) for k, v in pairs if v != ""]       # ParseLabels: WithoutEmpty
            spairs = sorted(pairs, key=lambda p: p[0])
            stream = _labels_string(spairs)
            err = self._check_labels(spairs, stream)
            if err:
                last_err = err
                continue
            ok_ents = []
            for ts, line, meta in ents:
                err = self._check_entry(stream, ts, line, meta, now)
                if err:
                    last_err = err
                    continue
                ok_ents.append((ts, line, meta))
            accepted.append((stream, dict(spairs), ok_ents))
        with self._lock:
            for stream, labels, ents in accepted:
                failed = []
                for ts, line, meta in ents:
                    key_sn = (tenant, stream)
                    newest = self._newest.get(key_sn)
                    window = int(cfg["out_of_order_window"] * 1e9)
                    if newest is not None and window and ts < newest - window:
                        failed.append((ts, "entry too far behind, entry timestamp is: %s, oldest "
                                       "acceptable timestamp is: %s"
                                       % (_rfc3339(ts), _rfc3339(newest - window))))
                        continue
                    e = Entry(tenant, stream, labels, ts, line, meta, n)
                    self._received.append(e)
                    nrecv += 1
                    key = (stream, ts, line)
                    keys = self._keys.setdefault(tenant, set())
                    if key in keys:         # ingester: exact repeat dropped silently
                        continue
                    keys.add(key)
                    self._stored.append(e)
                    nstored += 1
                    if newest is None or ts > newest:
                        self._newest[key_sn] = ts
                if failed:
                    # pkg/ingester/stream.go: the stream's refused entries, then a summary.
                    last_err = "".join("entry with timestamp %s ignored, reason: '%s',\n"
                                       % (_go_time(ts), why) for ts, why in failed)
                    last_err += "user '%s', total ignored: %d out of %d for stream: %s" % (
                        tenant, len(failed), len(ents), stream)
            self._lock.notify_all()
        if last_err is not None:
            return 400, last_err, nrecv, nstored
        return 204, "", nrecv, nstored

    def _check_labels(self, spairs, stream):
        cfg = self.config
        if not spairs:
            return "error at least one label pair is required per stream"
        count = len(spairs) - (1 if any(k == "service_name" for k, _ in spairs) else 0)
        if count > cfg["max_label_names_per_series"]:
            return "entry for stream '%s' has %d label names; limit %d" % (
                stream, count, cfg["max_label_names_per_series"])
        last = ""
        for k, v in spairs:
            if len(k) > cfg["max_label_name_length"]:
                return "stream '%s' has label name too long: '%s'" % (stream, k)
            if len(_b(v)) > cfg["max_label_value_length"]:
                return "stream '%s' has label value too long: '%s'" % (stream, v)
            if k == last:
                return "stream '%s' has duplicate label name: '%s'" % (stream, k)
            last = k
        return None

    def _check_entry(self, stream, ts, line, meta, now):
        cfg = self.config
        if cfg["reject_old_samples"] and ts < now - int(cfg["reject_old_samples_max_age"] * 1e9):
            return ("entry for stream '%s' has timestamp too old: %s, oldest acceptable "
                    "timestamp is: %s" % (stream, _rfc3339(ts), _rfc3339(
                        now - int(cfg["reject_old_samples_max_age"] * 1e9))))
        if ts > now + int(cfg["creation_grace_period"] * 1e9):
            return "entry for stream '%s' has timestamp too new: %s" % (stream, _rfc3339(ts))
        raw = _b(line)
        if cfg["max_line_size"] and len(raw) > cfg["max_line_size"]:
            return ("Max entry size '%d' bytes exceeded for stream '%s' while adding an entry "
                    "with length '%d' bytes" % (cfg["max_line_size"], stream, len(raw)))
        if meta and not cfg["allow_structured_metadata"]:
            return ("stream '%s' includes structured metadata, but this feature is disallowed. "
                    "Please see `limits_config.allow_structured_metadata` or contact your Loki "
                    "administrator to enable it." % stream)
        if cfg["strict_utf8"]:
            if not _is_utf8(raw):
                return ("lokiserver: entry for stream '%s' at %d has a line that is not valid "
                        "UTF-8 (Loki would store it as is; logcap must not send it)"
                        % (stream, ts))
            for k, v in meta.items():
                if not (_is_utf8(_b(k)) and _is_utf8(_b(v))):
                    return ("lokiserver: entry for stream '%s' at %d has structured metadata "
                            "that is not valid UTF-8" % (stream, ts))
        return None

    def _record(self, rec):
        with self._lock:
            self._requests.append(rec)
            self._lock.notify_all()

    def _next_n(self):
        with self._lock:
            self._n += 1
            return self._n


_DEFAULT_FAULT_BODY = {
    429: ("Ingestion rate limit exceeded for user fake (limit: 4194304 bytes/sec) while "
          "attempting to ingest '1' lines totaling '100' bytes, reduce log volume or contact "
          "your Loki administrator to see if the limit can be increased"),
    500: "rpc error: code = Unavailable desc = lokiserver: injected 500",
    503: "lokiserver: injected 503",
    400: "lokiserver: injected 400",
    401: "lokiserver: injected 401",
    403: "lokiserver: injected 403",
    404: "404 page not found",
    413: "request body too large: lokiserver: injected 413",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lokiserver"
    sys_version = ""
    srv = None          # set by LokiServer.start

    def log_message(self, fmt, *args):      # quiet: records are kept instead
        pass

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        with self.srv._lock:
            self.srv._open.add(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        with self.srv._lock:
            self.srv._open.discard(self.connection)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout):
            self.close_connection = True
        except Exception as e:      # noqa: BLE001 - kept for the test's teardown to report
            self.srv.errors.append("%s: %r" % (self.requestline, e))
            self.close_connection = True
            raise

    # -- helpers --------------------------------------------------------------------------
    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _answer(self, status, text="", ctype="text/plain; charset=utf-8", extra=None):
        body = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
        if body and not body.endswith(b"\n") and ctype.startswith("text/plain"):
            body += b"\n"               # Go's http.Error adds a newline
        self.send_response(status)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if status != 204 and body:
            self.wfile.write(body)
        self.wfile.flush()

    def _reset(self):
        """Close with RST: SO_LINGER on, timeout 0."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _wait(self, seconds):
        """Sleep SECONDS unless the server stops or release() is called."""
        if seconds > 0:
            self.srv._release.wait(seconds)

    # -- routes ---------------------------------------------------------------------------
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/ready":
            return self._answer(200, "ready")
        if url.path == CONTROL_PATH + "/stats":
            return self._answer(200, json.dumps(self.srv.stats()), "application/json")
        if url.path == CONTROL_PATH + "/entries":
            tenant = q.get("tenant", [None])[0]
            view = self.srv.received if q.get("received", ["0"])[0] == "1" else self.srv.entries
            out = [{"tenant": e.tenant, "stream": e.stream, "labels": e.labels, "ts": str(e.ts),
                    "line": e.line.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                    "metadata": e.metadata, "request": e.request} for e in view(tenant)]
            return self._answer(200, json.dumps({"entries": out}), "application/json")
        if url.path == CONTROL_PATH + "/requests":
            keys = ("n", "status", "answer", "fault", "tenant", "headers", "content_type",
                    "content_encoding", "body_size", "error", "entries_received",
                    "entries_stored")
            out = [{k: getattr(r, k) for k in keys} for r in self.srv.requests()]
            return self._answer(200, json.dumps({"requests": out}), "application/json")
        return self._answer(404, "404 page not found")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == CONTROL_PATH:
            return self._control()
        if url.path == PUSH_PATH:
            return self._push()
        self._read_body()
        return self._answer(404, "404 page not found")

    def _control(self):
        try:
            req = json.loads(self._read_body() or b"{}")
            op = req.pop("op")
            srv = self.srv
            if op == "fail":
                srv.fail(**req)
            elif op == "stall":
                srv.stall(**req)
            elif op == "reset":
                srv.reset(**req)
            elif op == "delay":
                srv.set_delay(req["seconds"])
            elif op == "clear_faults":
                srv.clear_faults()
            elif op == "release":
                srv.release()
            elif op == "clear":
                srv.clear()
            elif op == "configure":
                srv.configure(**req)
            else:
                raise ValueError("unknown op %r" % op)
        except (ValueError, KeyError, TypeError) as e:
            return self._answer(400, "lokiserver control: %s" % e)
        return self._answer(200, json.dumps({"ok": True, "faults": srv.pending_faults()}),
                            "application/json")

    def _auth_error(self, headers):
        cfg = self.srv.config
        got = headers.get("authorization", "")
        if cfg["basic_auth"] is not None:
            want = "Basic " + base64.b64encode(("%s:%s" % cfg["basic_auth"]).encode()).decode()
            if got != want:
                return "lokiserver: basic auth required" if not got else \
                    "lokiserver: wrong basic auth credentials"
        if cfg["bearer_token"] is not None:
            if got != "Bearer " + cfg["bearer_token"]:
                return "lokiserver: bearer token required" if not got else \
                    "lokiserver: wrong bearer token"
        return None

    def _tenant(self, headers):
        """(tenant, status, text): status None when the tenant is fine."""
        tenants = self.srv.config["tenants"]
        org = headers.get("x-scope-orgid", "").strip()
        if not tenants:
            return "fake", None, None           # auth_enabled: false -> tenant "fake"
        if not org:
            return None, 401, "no org id"
        if "|" in org:
            return None, 400, "multiple org IDs present"
        if tenants is not True and org not in tenants:
            return None, 401, "lokiserver: unknown tenant %r" % org
        return org, None, None

    def _push(self):
        srv = self.srv
        n = srv._next_n()
        at = time.time()
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body()
        fault = srv._take_fault()
        rec = dict(n=n, at=at, method="POST", path=PUSH_PATH, headers=headers, tenant=None,
                   content_type=headers.get("content-type"),
                   content_encoding=headers.get("content-encoding"), body_size=len(body),
                   streams=None, status=None, answer="", fault=fault.name() if fault else None,
                   error=None, entries_received=0, entries_stored=0)
        recorded = False
        try:
            if srv.config["delay"]:
                self._wait(srv.config["delay"])
            answer = None
            if fault is None or fault.after_store:
                answer = self._serve_push(headers, body, n, rec)
            else:
                # Decoded for the record only: a faulted request stores nothing.
                try:
                    rec["streams"] = _view(srv._decode(headers, body))
                except DecodeError as e:
                    rec["error"] = str(e)
            action = ("answer",) + answer if fault is None else \
                self._apply_fault(fault, rec, headers, body, answer)
            if action[0] == "answer":
                rec["status"], rec["answer"] = action[1], action[2]
            # Recorded before the client can see the outcome, so that a test that got its
            # answer finds the request in requests().
            srv._record(Request(**rec))
            recorded = True
            if action[0] == "answer":
                self._answer(action[1], action[2], extra=answer_headers(fault))
            elif action[0] == "reset":
                self._reset()
            else:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        finally:
            if not recorded:
                srv._record(Request(**rec))

    def _serve_push(self, headers, body, n, rec):
        """Auth, tenant, decode, checks, store: (status, text)."""
        err = self._auth_error(headers)
        if err:
            return 401, err
        tenant, status, text = self._tenant(headers)
        rec["tenant"] = tenant
        if status:
            return status, text
        status, text, view, error, nrecv, nstored = self.srv.process_push(headers, body, tenant, n)
        rec.update(streams=view, error=error, entries_received=nrecv, entries_stored=nstored)
        return status, text

    def _apply_fault(self, fault, rec, headers, body, answer):
        """Carry out FAULT up to its last step; return the action: ("answer", status, text),
        ("reset",) or ("close",)."""
        if fault.kind == "status":
            return "answer", fault.status, fault.body
        if fault.kind == "reset":
            return ("reset",)
        with self.srv._lock:
            self.srv._stalling += 1
            self.srv._lock.notify_all()
        try:
            self._wait(fault.stall)     # ends early on release() or stop()
        finally:
            with self.srv._lock:
                self.srv._stalling -= 1
        then = "close" if self.srv._stopping.is_set() else fault.then
        if then == "answer":
            if answer is None:      # stalled before processing: process it now
                answer = self._serve_push(headers, body, rec["n"], rec)
            return ("answer",) + answer
        return ("reset",) if then == "reset" else ("close",)


def answer_headers(fault):
    if fault is not None and fault.kind == "status" and fault.retry_after is not None:
        return {"Retry-After": str(fault.retry_after)}
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description="Protocol-checking Loki push test server "
                                 "(127.0.0.1 only). Prints its URL, serves until SIGTERM.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tenants", help="comma-separated tenants accepted ('*': any, but required)")
    ap.add_argument("--basic-auth", metavar="USER:PASSWORD")
    ap.add_argument("--bearer-token")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before every answer")
    ap.add_argument("--no-strict-utf8", action="store_true")
    ap.add_argument("--no-reject-old-samples", action="store_true")
    ap.add_argument("--sink", action="store_true",
                    help="read and acknowledge only (no decoding, nothing stored): benchmarks")
    args = ap.parse_args(argv)
    cfg = {"delay": args.delay, "strict_utf8": not args.no_strict_utf8,
           "reject_old_samples": not args.no_reject_old_samples, "decode": not args.sink}
    if args.tenants:
        cfg["tenants"] = True if args.tenants == "*" else set(args.tenants.split(","))
    if args.basic_auth:
        cfg["basic_auth"] = tuple(args.basic_auth.split(":", 1))
    if args.bearer_token:
        cfg["bearer_token"] = args.bearer_token
    srv = LokiServer(port=args.port, **cfg).start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print(srv.url, flush=True)
    while not done.wait(1):
        pass
    srv.stop()
    st = srv.stats()
    print("lokiserver: %d requests, %d entries received, %d stored" % (
        st["requests"], st["received"], st["stored"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
