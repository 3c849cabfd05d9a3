"""stallproxy: a unix-socket proxy between logcap and the private dockerd that can stall
chosen connections, so tests can prove that every read logcap makes has a deadline.

logcap is given the proxy's socket as docker.socket; each connection it opens is accepted
by the proxy and forwarded to the upstream socket (the private dockerd), byte for byte.
The proxy reads the HTTP requests the client sends on each connection (request line and
headers; libcurl reuses connections, so a connection may carry several requests one after
the other) and names each request by its "METHOD TARGET", e.g.
"GET /v1.41/containers/0123.../logs?follow=1&stdout=1&stderr=1&timestamps=1". Tests pick
connections with a regular expression searched (re.search) in that text.

Controls (thread-safe; the proxy runs one selector thread):

- freeze(pattern) / freeze(ids=[...]): live connections whose current (latest) request
  matches stop forwarding in both directions but stay open. Nothing is dropped: what
  either side sends meanwhile is held in the proxy (up to HOLD_CAP bytes per direction,
  then the proxy stops reading that side and the kernel buffers fill). A frozen connection
  that the client closes is closed at once (that is how a test sees logcap give up on a
  stalled stream); one the upstream ends stays open, frozen, until thawed.
- thaw() / thaw(ids=[...]): forwarding resumes and what was held is delivered.
- blackhole(pattern): a request that matches, on a new connection or a reused one, is read
  but never forwarded and never answered; the connection stays open until the client
  closes it or the proxy stops (unblackhole() does not release it: a client that never
  gives up on it is the bug the tests look for). unblackhole(pattern=None) stops matching
  new requests.
- conns(pattern, live), requests(pattern), counts(pattern): what happened, as snapshots.
- stop(): closes every connection and the listening socket and removes the socket file.

Only the standard library is used."""

import collections
import os
import re
import selectors
import socket
import threading
import time

HOLD_CAP = 4 << 20          # bytes held per direction before the proxy stops reading
HEAD_MAX = 256 << 10        # a request head longer than this is forwarded unparsed
RECV = 65536

ConnInfo = collections.namedtuple("ConnInfo", [
    "id", "requests", "opened_at", "closed_at", "closed_by", "frozen", "blackholed",
    "bytes_up", "bytes_down", "held_up", "held_down"])
ConnInfo.__doc__ = """A snapshot of one connection. REQUESTS is a tuple of RequestInfo;
CLOSED_BY is None while it is open, else "client" (logcap closed it), "upstream" (dockerd
ended it and everything was delivered), "proxy" (stop(), or upstream unreachable) or
"error". Times are time.monotonic(). BYTES_UP/DOWN count bytes forwarded to the upstream
and to the client; HELD_UP/DOWN what the proxy holds (frozen)."""

RequestInfo = collections.namedtuple("RequestInfo", [
    "conn", "line", "at", "status", "response_bytes", "blackholed", "conn_closed_at",
    "conn_closed_by"])
RequestInfo.__doc__ = """One request: LINE is "METHOD TARGET"; STATUS the HTTP status of
its response (None before one arrived); RESPONSE_BYTES counts bytes the upstream sent on
the connection while this was its latest request (forwarded or held); BLACKHOLED is True
when the proxy swallowed it."""


_STATUS_RE = re.compile(rb"^HTTP/\d\.\d (\d{3})")


def _compile(pattern):
    if pattern is None:
        return None
    return pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)


def _matches(rx, line):
    return rx is None or (line is not None and rx.search(line) is not None)


class _Request:
    __slots__ = ("line", "at", "status", "head", "response_bytes", "blackholed")

    def __init__(self, line, at):
        self.line = line
        self.at = at
        self.status = None
        self.head = b""               # the first bytes of the response, until the status
        self.response_bytes = 0
        self.blackholed = False

    def response(self, data):
        self.response_bytes += len(data)
        if self.status is None and len(self.head) < 64:
            self.head += data[:64]
            m = _STATUS_RE.match(self.head)
            if m:
                self.status = int(m.group(1))


class _Conn:
    def __init__(self, cid, client):
        self.id = cid
        self.client = client
        self.upstream = None
        self.parse = bytearray()      # client bytes not parsed yet (a partial request head)
        self.body_left = 0            # request body bytes still to pass through
        self.passthrough = False      # gave up parsing (chunked body, huge head)
        self.to_up = bytearray()      # ready for the upstream (held while frozen)
        self.to_client = bytearray()  # ready for the client (held while frozen)
        self.swallowed = bytearray()  # blackholed bytes, never sent (only counted)
        self.requests = []
        self.frozen = False
        self.blackholed = False
        self.up_eof = False
        self.opened_at = time.monotonic()
        self.closed_at = None
        self.closed_by = None
        self.bytes_up = 0
        self.bytes_down = 0
        self.masks = {}               # socket -> registered event mask

    @property
    def line(self):
        return self.requests[-1].line if self.requests else None

    def info(self):
        reqs = tuple(RequestInfo(self.id, r.line, r.at, r.status, r.response_bytes,
                                 r.blackholed, self.closed_at, self.closed_by)
                     for r in self.requests)
        return ConnInfo(self.id, reqs, self.opened_at, self.closed_at, self.closed_by,
                        self.frozen, self.blackholed, self.bytes_up, self.bytes_down,
                        len(self.to_up) if self.frozen else 0,
                        len(self.to_client) if self.frozen else 0)


class StallProxy:
    """A proxy listening on unix socket PATH, forwarding to unix socket UPSTREAM."""

    def __init__(self, path, upstream):
        self.path = path
        self.upstream = upstream
        self._lock = threading.RLock()
        self._sel = selectors.DefaultSelector()
        self._conns = {}              # id -> _Conn (live and closed, for the record)
        self._live = {}               # id -> _Conn
        self._next_id = 1
        self._blackholes = []         # compiled patterns
        self._stopping = False
        self._thread = None
        self._listener = None
        self._wake_r, self._wake_w = socket.socketpair()
        self.errors = []              # unexpected exceptions of the proxy thread

    # ------------------------------------------------------------------ lifecycle
    def start(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(self.path)
        ls.listen(128)
        ls.setblocking(False)
        self._listener = ls
        self._wake_r.setblocking(False)
        self._sel.register(ls, selectors.EVENT_READ, ("listen", None))
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._thread = threading.Thread(target=self._run, name="stallproxy", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout=10):
        """Closes everything; returns once the proxy thread has ended. Idempotent."""
        with self._lock:
            self._stopping = True
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
            assert not self._thread.is_alive(), "stallproxy thread did not stop"
            self._thread = None
        with self._lock:
            for c in list(self._live.values()):
                self._close(c, "proxy")
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            for s in (self._wake_r, self._wake_w):
                s.close()
            self._sel.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------- controls
    def freeze(self, pattern=None, ids=None):
        """Freezes the live connections whose latest request matches PATTERN (or whose id
        is in IDS). Returns the ids frozen (already frozen ones included)."""
        rx = _compile(pattern)
        with self._lock:
            out = []
            for c in self._live.values():
                if (ids is not None and c.id in ids) or \
                        (ids is None and c.line is not None and _matches(rx, c.line)):
                    c.frozen = True
                    out.append(c.id)
        self._wake()
        return out

    def thaw(self, ids=None):
        """Thaws every frozen connection (or those in IDS); returns the ids thawed."""
        with self._lock:
            out = []
            for c in self._live.values():
                if c.frozen and (ids is None or c.id in ids):
                    c.frozen = False
                    out.append(c.id)
        self._wake()
        return out

    def blackhole(self, pattern):
        with self._lock:
            self._blackholes.append(_compile(pattern))

    def unblackhole(self, pattern=None):
        """Stops swallowing new requests that match PATTERN (every pattern if None)."""
        with self._lock:
            if pattern is None:
                self._blackholes = []
            else:
                key = _compile(pattern).pattern
                self._blackholes = [b for b in self._blackholes if b.pattern != key]

    # ------------------------------------------------------------------ inspection
    def conns(self, pattern=None, live=None, latest=False):
        """Snapshots of the connections with a request matching PATTERN (the latest
        request only if LATEST), open ones only if LIVE is True, closed ones if False."""
        rx = _compile(pattern)
        with self._lock:
            out = []
            for c in self._conns.values():
                if live is not None and (c.closed_by is None) != live:
                    continue
                if rx is not None:
                    lines = [c.line] if latest else [r.line for r in c.requests]
                    if not any(_matches(rx, ln) for ln in lines):
                        continue
                out.append(c.info())
            return out

    def conn(self, cid):
        with self._lock:
            return self._conns[cid].info()

    def requests(self, pattern=None):
        """Snapshots of every request matching PATTERN, in the order they arrived."""
        rx = _compile(pattern)
        with self._lock:
            out = []
            for c in self._conns.values():
                info = c.info()
                out += [r for r in info.requests if _matches(rx, r.line)]
            out.sort(key=lambda r: r.at)
            return out

    def counts(self, pattern=None):
        """{"opened", "closed", "live"}: connections with a request matching PATTERN;
        "requests": matching requests."""
        cs = self.conns(pattern)
        closed = sum(1 for c in cs if c.closed_by is not None)
        return {"opened": len(cs), "closed": closed, "live": len(cs) - closed,
                "requests": len(self.requests(pattern))}

    def live_count(self):
        with self._lock:
            return len(self._live)

    def check(self):
        """Fails if the proxy thread hit an unexpected error or died."""
        assert not self.errors, "stallproxy errors: %s" % self.errors
        assert self._thread is not None and self._thread.is_alive(), \
            "stallproxy thread is not running"

    # ------------------------------------------------------------------- the loop
    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass

    def _run(self):
        while True:
            with self._lock:
                if self._stopping:
                    return
                for c in list(self._live.values()):
                    self._settle(c)
            events = self._sel.select(timeout=0.5)
            with self._lock:
                if self._stopping:
                    return
                for key, mask in events:
                    kind, c = key.data
                    try:
                        if kind == "listen":
                            self._accept()
                        elif kind == "wake":
                            self._drain_wake()
                        elif c.closed_by is None:
                            self._io(c, kind, key.fileobj, mask)
                    except Exception as e:  # a proxy bug: keep going, report it
                        self.errors.append(repr(e))
                        if c is not None and c.closed_by is None:
                            self._close(c, "error")

    def _drain_wake(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _accept(self):
        while True:
            try:
                s, _ = self._listener.accept()
            except BlockingIOError:
                return
            s.setblocking(False)
            c = _Conn(self._next_id, s)
            self._next_id += 1
            self._conns[c.id] = c
            self._live[c.id] = c

    def _io(self, c, kind, sock, mask):
        if mask & selectors.EVENT_READ:
            try:
                data = sock.recv(RECV)
            except BlockingIOError:
                data = None
            except OSError:
                self._close(c, "client" if kind == "client" else "upstream")
                return
            if data is not None:
                if kind == "client":
                    if not data:
                        self._close(c, "client")
                        return
                    self._from_client(c, data)
                else:
                    if not data:
                        c.up_eof = True
                    else:
                        c.to_client += data
                        if c.requests:
                            c.requests[-1].response(data)
        if c.closed_by is None and mask & selectors.EVENT_WRITE and not c.frozen:
            buf = c.to_client if kind == "client" else c.to_up
            try:
                n = sock.send(buf)
            except BlockingIOError:
                n = 0
            except OSError:
                self._close(c, kind)
                return
            del buf[:n]
            if kind == "client":
                c.bytes_down += n
            else:
                c.bytes_up += n

    def _from_client(self, c, data):
        if c.blackholed:
            c.swallowed += data
            return
        if c.passthrough:
            c.to_up += data
            return
        c.parse += data
        while c.parse and not c.blackholed and c.closed_by is None:
            if c.body_left > 0:
                n = min(c.body_left, len(c.parse))
                c.to_up += c.parse[:n]
                del c.parse[:n]
                c.body_left -= n
                continue
            end = c.parse.find(b"\r\n\r\n")
            if end < 0:
                if len(c.parse) > HEAD_MAX:
                    c.passthrough = True
                    c.to_up += c.parse
                    c.parse.clear()
                return
            head = bytes(c.parse[:end + 4])
            del c.parse[:end + 4]
            self._request(c, head)

    def _request(self, c, head):
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        line = " ".join(parts[:2]) if len(parts) >= 2 else lines[0]
        req = _Request(line, time.monotonic())
        c.requests.append(req)
        if any(_matches(rx, line) for rx in self._blackholes):
            req.blackholed = True
            c.blackholed = True
            c.swallowed += head + c.parse
            c.parse.clear()
            return
        for h in lines[1:]:
            k, _, v = h.partition(":")
            k = k.strip().lower()
            if k == "content-length":
                try:
                    c.body_left = int(v.strip())
                except ValueError:
                    c.passthrough = True
            elif k == "transfer-encoding" and "chunked" in v.lower():
                c.passthrough = True
        c.to_up += head
        if c.passthrough:
            c.to_up += c.parse
            c.parse.clear()
        if c.upstream is None:
            self._connect(c)

    def _connect(self, c):
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.settimeout(5)
        try:
            u.connect(self.upstream)
        except OSError:
            u.close()
            self._close(c, "proxy")  # like a daemon that is not there
            return
        u.setblocking(False)
        c.upstream = u

    def _settle(self, c):
        """Closes a connection that is done; sets each socket's interest."""
        if c.closed_by is not None:
            return
        if c.up_eof and not c.frozen and not c.to_client:
            self._close(c, "upstream")
            return
        held_up = len(c.parse) + len(c.to_up) + len(c.swallowed)
        want = {c.client: (selectors.EVENT_READ if held_up < HOLD_CAP else 0) |
                (selectors.EVENT_WRITE if c.to_client and not c.frozen else 0)}
        if c.upstream is not None:
            want[c.upstream] = \
                (selectors.EVENT_READ if not c.up_eof and len(c.to_client) < HOLD_CAP else 0) | \
                (selectors.EVENT_WRITE if c.to_up and not c.frozen else 0)
        for s, m in want.items():
            have = c.masks.get(s, 0)
            if m == have:
                continue
            kind = "client" if s is c.client else "upstream"
            if have and m:
                self._sel.modify(s, m, (kind, c))
            elif m:
                self._sel.register(s, m, (kind, c))
            else:
                self._sel.unregister(s)
            c.masks[s] = m

    def _close(self, c, by):
        if c.closed_by is not None:
            return
        c.closed_by = by
        c.closed_at = time.monotonic()
        for s in (c.client, c.upstream):
            if s is None:
                continue
            if c.masks.get(s):
                try:
                    self._sel.unregister(s)
                except (KeyError, ValueError):
                    pass
            s.close()
        c.masks.clear()
        c.to_up.clear()
        c.to_client.clear()
        c.swallowed.clear()
        self._live.pop(c.id, None)
