"""fakedocker: a Docker Engine API on a unix socket that behaves as dockerd 20.10 does for
the requests logcap makes, and that a test drives line by line: for the cases a real
dockerd cannot be made to show on demand (a stream cut while a 16 KiB line is half sent,
a container gone between two requests, the clock stepping back).

What it serves, as dockerd does (see the design's "Facts about the Docker Engine API"):

- GET /version; GET /containers/json?all=1; GET /containers/{id}/json (State.Running,
  StartedAt, FinishedAt, Config.Tty, Labels); 404 {"message": "No such container: ID"} once
  a container is removed, 409 "... marked for removal" while it is being removed.
- GET /containers/{id}/logs with stdout, stderr, timestamps=1, tail (applied before
  since), since (seconds.nanoseconds, inclusive to the nanosecond; RFC 3339 gives 500) and
  follow. Each message is one chunk, as dockerd's write-flusher sends it: non-TTY bodies
  are multiplexed frames [stream,0,0,0,len32 BE] + "TS " + payload; TTY bodies are raw
  "TS " + payload. A line over 16 KiB is stored as pieces of 16,384 bytes with one
  timestamp, only the last ending in '\\n'. A follow stream ends cleanly ~40 ms after its
  container stops (end_delay), or when the test says.
- GET /events?filters=...&since=...: container events as JSON lines (Actor.Attributes
  holds the labels, "name" and "image"), replayed from `since`, then followed.

The test controls it from its own thread: add(), write(), stop(), start(), remove(),
rename(), end_streams(), break_streams(), and sets the clock (clock_offset_ns) that stamps
new lines and events. requests() lists what logcap asked, for counting.

Only the standard library is used. Every connection is answered with "Connection:
close"."""

import json
import os
import socket
import socketserver
import struct
import threading
import time
import urllib.parse

PIECE = 16384


def ts_text(ns):
    """RFC 3339 with 9 fraction digits, as dockerd writes timestamps=1."""
    sec, frac = divmod(ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + ".%09dZ" % frac


def parse_since(text):
    """seconds[.nanoseconds] -> ns; raises ValueError like dockerd's 500 for RFC 3339."""
    if "." in text:
        sec, frac = text.split(".", 1)
        frac = (frac + "000000000")[:9]
    else:
        sec, frac = text, "0"
    return int(sec) * 10**9 + int(frac)


class Container:
    def __init__(self, cid, name, image, labels, tty):
        self.id = cid
        self.name = name
        self.image = image
        self.labels = dict(labels or {})
        self.tty = tty
        self.running = False
        self.started_at = 0
        self.finished_at = 0
        self.removing = False
        self.removed = False
        self.messages = []  # (ts_ns, stream "stdout"|"stderr", payload bytes)
        self.streams = []   # open follow streams (_Stream)


class _Stream:
    def __init__(self):
        self.end = False     # end cleanly after what is sent
        self.broken = False  # close the connection at once, mid-body


class FakeDocker:
    def __init__(self, path, clock=None):
        self.path = path
        self.lock = threading.Condition()
        self.containers = {}
        self.events = []        # (time_ns, json text)
        self.event_streams = []
        self.clock_offset_ns = 0
        self.clock = clock      # callable giving the wall-clock ns; default time.time_ns
        self.end_delay = 0.04   # a follow stream ends this long after its container stops
        self._requests = []
        self._next = 0
        self.server = None
        self.thread = None

    # ------------------------------------------------------------------ lifecycle
    def start(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                fake._handle(self)

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(self.path, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        with self.lock:
            for c in self.containers.values():
                for s in c.streams:
                    s.end = True
            for s in self.event_streams:
                s.end = True
            self.lock.notify_all()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    # ------------------------------------------------------------------ the clock
    def now(self):
        base = self.clock() if self.clock is not None else time.time_ns()
        return base + self.clock_offset_ns

    # ------------------------------------------------------------------ control
    def add(self, name, image="fake:1", labels=None, tty=False, running=True):
        """Creates (and by default starts) a container; returns it."""
        with self.lock:
            self._next += 1
            cid = os.urandom(32).hex()
            c = Container(cid, name, image, labels, tty)
            self.containers[cid] = c
            self._event(c, "create")
        if running:
            self.start_container(c)
        return c

    def start_container(self, c):
        with self.lock:
            c.running = True
            c.started_at = self.now()
            self._event(c, "start")
            self.lock.notify_all()

    def stop_container(self, c, end_streams=True):
        """The process exits: follow streams end end_delay later (unless told not to)."""
        with self.lock:
            c.running = False
            c.finished_at = self.now()
            self._event(c, "die")
            streams = list(c.streams) if end_streams else []
        if streams:
            def later():
                time.sleep(self.end_delay)
                with self.lock:
                    for s in streams:
                        s.end = True
                    self.lock.notify_all()
            threading.Thread(target=later, daemon=True).start()

    def remove(self, c):
        with self.lock:
            c.removed = True
            c.running = False
            for s in c.streams:
                s.end = True
            self._event(c, "destroy")
            self.lock.notify_all()

    def set_removing(self, c, removing=True):
        with self.lock:
            c.removing = removing

    def rename(self, c, name):
        with self.lock:
            old = c.name
            c.name = name
            self._event(c, "rename", {"oldName": "/" + old})

    def write(self, c, stream, text, ts=None):
        """Appends one line (or, without a trailing newline, a last fragment) as dockerd's
        copier does: pieces of 16 KiB sharing one timestamp. TEXT: str or bytes. Returns
        the timestamp."""
        data = text.encode() if isinstance(text, str) else text
        with self.lock:
            t = self.now() if ts is None else ts
            for off in range(0, max(len(data), 1), PIECE):
                c.messages.append((t, stream, data[off:off + PIECE]))
            self.lock.notify_all()
            return t

    def write_piece(self, c, stream, data, ts):
        """Appends one raw message (a piece without its end, or the end of a line)."""
        with self.lock:
            c.messages.append((ts, stream, data))
            self.lock.notify_all()

    def end_streams(self, c):
        with self.lock:
            for s in c.streams:
                s.end = True
            self.lock.notify_all()

    def break_streams(self, c):
        """Cuts every open follow stream of C mid-body (the connection closes)."""
        with self.lock:
            for s in c.streams:
                s.broken = True
            self.lock.notify_all()

    def requests(self, pred=None):
        with self.lock:
            return [r for r in self._requests if pred is None or pred(r)]

    def log_requests(self, c, follow=None):
        def pred(r):
            if not r["path"].endswith("/containers/%s/logs" % c.id):
                return False
            return follow is None or r["query"].get("follow") == ("1" if follow else "0")
        return self.requests(pred)

    def wait_streams(self, c, n=1, timeout=10):
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(c.streams) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no follow stream of %s open" % c.name)
                self.lock.wait(left)

    # ------------------------------------------------------------------ events
    def _event(self, c, action, extra=None):
        t = self.now()
        attrs = dict(c.labels)
        attrs.update({"name": c.name, "image": c.image})
        attrs.update(extra or {})
        ev = {"status": action, "id": c.id, "from": c.image, "Type": "container",
              "Action": action, "Actor": {"ID": c.id, "Attributes": attrs},
              "scope": "local", "time": t // 10**9, "timeNano": t}
        self.events.append((t, json.dumps(ev)))
        self.lock.notify_all()

    # ------------------------------------------------------------------ HTTP
    def _handle(self, h):
        line = h.rfile.readline(65536).decode("latin-1").strip()
        if not line:
            return
        while True:
            hdr = h.rfile.readline(65536)
            if hdr in (b"\r\n", b"\n", b""):
                break
        method, target = line.split(" ")[:2]
        url = urllib.parse.urlsplit(target)
        path = url.path
        if path.startswith("/v1."):
            path = path[path.index("/", 1):]
        query = dict(urllib.parse.parse_qsl(url.query))
        with self.lock:
            self._requests.append({"method": method, "path": path, "query": query,
                                   "at": time.monotonic()})
        try:
            self._route(h, path, query)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, h, status, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        reason = {200: "OK", 404: "Not Found", 409: "Conflict", 500: "Internal Server Error"}
        h.wfile.write(("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                       "Connection: close\r\n\r\n" % (status, reason.get(status, "X"), ctype,
                                                     len(data))).encode() + data)

    def _start_chunked(self, h, ctype):
        h.wfile.write(("HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\n" % ctype).encode())
        h.wfile.flush()

    def _chunk(self, h, data):
        if data:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            h.wfile.flush()

    def _end_chunked(self, h):
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()

    def _route(self, h, path, query):
        parts = path.strip("/").split("/")
        if path == "/version":
            return self._send(h, 200, {"ApiVersion": "1.41", "Version": "20.10.fake"})
        if path == "/containers/json":
            return self._list(h)
        if path == "/events":
            return self._events(h, query)
        if len(parts) == 3 and parts[0] == "containers":
            with self.lock:
                c = self.containers.get(parts[1])
            if c is None or c.removed:
                return self._send(h, 404, {"message": "No such container: %s" % parts[1]})
            if parts[2] == "json":
                return self._inspect(h, c)
            if parts[2] == "logs":
                return self._logs(h, c, query)
        return self._send(h, 404, {"message": "page not found"})

    def _list(self, h):
        with self.lock:
            items = [{"Id": c.id, "Names": ["/" + c.name], "Image": c.image,
                      "State": "running" if c.running else "exited", "Labels": c.labels}
                     for c in self.containers.values() if not c.removed]
        self._send(h, 200, items)

    def _inspect(self, h, c):
        with self.lock:
            body = {"Id": c.id, "Name": "/" + c.name,
                    "State": {"Running": c.running,
                              "StartedAt": ts_text(c.started_at) if c.started_at else
                              "0001-01-01T00:00:00Z",
                              "FinishedAt": ts_text(c.finished_at) if c.finished_at else
                              "0001-01-01T00:00:00Z"},
                    "Config": {"Tty": c.tty, "Image": c.image, "Labels": c.labels}}
        self._send(h, 200, body)

    def _frame(self, c, ts, stream, payload):
        msg = ts_text(ts).encode() + b" " + payload
        if c.tty:
            return msg
        return struct.pack(">BxxxI", 1 if stream == "stdout" else 2, len(msg)) + msg

    def _logs(self, h, c, q):
        want = {s for s in ("stdout", "stderr") if q.get(s) == "1"}
        try:
            since = parse_since(q["since"]) if "since" in q else 0
        except ValueError:
            return self._send(h, 500, {"message": "bad since"})
        with self.lock:
            if c.removing:
                return self._send(h, 409, {"message": "can not get logs from container which "
                                                      "is dead or marked for removal"})
            msgs = list(c.messages)
            sent = len(msgs)
            stream = _Stream() if q.get("follow") == "1" and c.running else None
            if stream is not None:
                c.streams.append(stream)
                self.lock.notify_all()
        tail = q.get("tail", "all")
        if tail != "all":
            msgs = msgs[len(msgs) - int(tail):] if int(tail) > 0 else []
        self._start_chunked(h, "application/vnd.docker.raw-stream" if c.tty else
                            "application/vnd.docker.multiplexed-stream")
        try:
            for ts, s, payload in msgs:
                if ts >= since and s in want:
                    self._chunk(h, self._frame(c, ts, s, payload))
            if stream is None:
                return self._end_chunked(h)
            self._follow(h, c, stream, sent, want)
        finally:
            with self.lock:
                if stream in c.streams:
                    c.streams.remove(stream)

    def _follow(self, h, c, stream, sent, want):
        while True:
            with self.lock:
                while len(c.messages) == sent and not stream.end and not stream.broken:
                    self.lock.wait(0.5)
                new = c.messages[sent:]
                sent = len(c.messages)
                end, broken = stream.end, stream.broken
            if broken:
                h.wfile.flush()
                h.connection.shutdown(socket.SHUT_RDWR)
                return
            for ts, s, payload in new:
                if s in want:
                    self._chunk(h, self._frame(c, ts, s, payload))
            if end:
                return self._end_chunked(h)

    def _events(self, h, q):
        since = parse_since(q["since"]) if "since" in q else None
        stream = _Stream()
        with self.lock:
            sent = len(self.events)
            backlog = [e for t, e in self.events if since is not None and t >= since]
            self.event_streams.append(stream)
        self._start_chunked(h, "application/json")
        try:
            for e in backlog:
                self._chunk(h, (e + "\n").encode())
            while True:
                with self.lock:
                    while len(self.events) == sent and not stream.end:
                        self.lock.wait(0.5)
                    new = self.events[sent:]
                    sent = len(self.events)
                    end = stream.end
                for _, e in new:
                    self._chunk(h, (e + "\n").encode())
                if end:
                    return self._end_chunked(h)
        finally:
            with self.lock:
                self.event_streams.remove(stream)
