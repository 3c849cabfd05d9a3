"""Helpers of the integration suite: the private Docker engine, the logcap process under
test, its config, and its file output.

Everything here talks to the suite's private dockerd (tests/env/docker-up), never to the
host's. Every container runs with --network none and a name that starts with the test's
own prefix (lct-<6 hex>-), so a test's logcap (include_names: [<prefix>*]) sees only the
test's own containers, and teardown removes them all by that prefix.
"""

import collections
import concurrent.futures
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV_DIR = os.path.join(REPO, "tests", "env")
SOCKET = os.environ.get("LCT_DOCKER_SOCKET", "/run/logcap-test/docker.sock")
DOCKER_HOST = "unix://" + SOCKET
# The private dockerd's --data-root (tests/env/docker-up): its containers/ holds the
# json-file logs logcap reads in files mode.
DOCKER_ROOT = os.environ.get("LCT_DOCKER_ROOT", "/var/lib/logcap-test/docker")
# How the Docker input reads logs in this run: "auto" (json-file logs directly, the
# default), or "api" (LCT_READ=api: through the Engine API). tests/run runs the suite once
# each way; a test about one way sets docker.read itself.
READ = os.environ.get("LCT_READ", "auto")
IMAGE = "logcap-test:busybox"
HOSTNAME = "lct-host"
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")


def logcap_bin():
    path = os.environ.get("LOGCAP_BIN", "build/logcap")
    if not os.path.isabs(path):
        path = os.path.join(REPO, path)
    return path


# ---------------------------------------------------------------------------- waiting

class Fatal(Exception):
    """Raised inside a wait condition to stop waiting at once (e.g. logcap died)."""


# Errors a condition may hit while logcap is writing or rotating a file: retried.
TRANSIENT = (OSError, EOFError, zlib.error, gzip.BadGzipFile)


def wait_for(cond, timeout, what, interval=0.05, detail=None):
    """Polls COND until it returns a truthy value, which is returned. Fails the test with
    a message naming WHAT (and DETAIL(), if given) when TIMEOUT seconds pass first.
    Transient file errors inside COND are retried; AssertionError and Fatal fail at once."""
    deadline = time.monotonic() + timeout
    last_exc = None
    delay = interval
    while True:
        try:
            value = cond()
            if value:
                return value
            last_exc = None
        except TRANSIENT as e:
            last_exc = e
        now = time.monotonic()
        if now >= deadline:
            msg = "timed out after %.1f s waiting for %s" % (timeout, what)
            if detail is not None:
                try:
                    msg += "; " + str(detail())
                except Exception as e:  # the detail is for the message only
                    msg += "; (detail failed: %r)" % (e,)
            if last_exc is not None:
                msg += "; last error: %r" % (last_exc,)
            raise AssertionError(msg)
        time.sleep(min(delay, max(0.0, deadline - now)))
        delay = min(delay * 1.5, 0.5)


# ----------------------------------------------------------------------------- docker

def docker(*args, check=True, timeout=120, text=True, input=None):
    """Runs the docker CLI against the private daemon; returns CompletedProcess."""
    env = dict(os.environ, DOCKER_HOST=DOCKER_HOST)
    p = subprocess.run(["docker"] + [str(a) for a in args], env=env, capture_output=True,
                       text=text, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise AssertionError("docker %s failed (%d): %s" % (
            " ".join(str(a) for a in args[:6]), p.returncode,
            (p.stderr if text else p.stderr.decode(errors="replace")).strip()))
    return p


def docker_answers():
    try:
        return docker("version", check=False, timeout=15).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def env_script(*args, timeout=180):
    p = subprocess.run([os.path.join(ENV_DIR, args[0])] + list(args[1:]),
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("tests/env/%s failed (%d):\n%s%s" % (
            " ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def restart_dockerd():
    """Restarts the private dockerd: SIGTERM by its pidfile, wait for it to exit, start it
    again with the same arguments, wait until it answers. dockerd stops every container on
    the way down; containers with a restart policy come back when it is up again."""
    env_script("docker-up", "--restart")


class Containers:
    """The containers of one test. Every name starts with PREFIX; cleanup removes every
    container with that prefix, whether the test created it through this object or not."""

    def __init__(self, prefix):
        self.prefix = prefix

    def name(self, suffix):
        return self.prefix + suffix

    def run(self, suffix, script, *, tty=False, rm=False, labels=None, restart=None,
            detach=True, extra=()):
        """Starts `sh -c SCRIPT` in a container named PREFIX+SUFFIX; returns its name."""
        name = self.name(suffix)
        args = ["run", "--network", "none", "--name", name, "--log-driver", "json-file"]
        if detach:
            args.append("-d")
        if tty:
            args.append("-t")
        if rm:
            args.append("--rm")
        if restart:
            args += ["--restart", restart]
        for k, v in (labels or {}).items():
            args += ["--label", "%s=%s" % (k, v)]
        args += list(extra)
        args += [IMAGE, "sh", "-c", script]
        docker(*args)
        return name

    def run_many(self, specs, workers=8):
        """Starts many containers in parallel; SPECS is a list of (suffix, script)."""
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            futs = [pool.submit(self.run, s, sc) for s, sc in specs]
            return [f.result() for f in futs]

    def inspect(self, name):
        return json.loads(docker("inspect", name).stdout)[0]

    def exists(self, name):
        return docker("inspect", "--format", "{{.Id}}", name, check=False).returncode == 0

    def running(self, name):
        p = docker("inspect", "--format", "{{.State.Running}}", name, check=False)
        return p.returncode == 0 and p.stdout.strip() == "true"

    def wait_exited(self, name, timeout=30):
        wait_for(lambda: not self.running(name), timeout, "container %s to exit" % name)

    def stop(self, *names, t=1):
        if names:
            docker("stop", "-t", t, *names, timeout=60)

    def logs(self, name):
        """The container's lines as `docker logs --timestamps` shows them: a list of
        (ts, stream, message) in the order docker prints them per stream (stdout lines
        first, then stderr lines). TTY containers' trailing \\r is stripped."""
        p = docker("logs", "--timestamps", name, text=False, timeout=300)
        out = []
        for stream, data in (("stdout", p.stdout), ("stderr", p.stderr)):
            if not data:
                continue
            text = data.decode("utf-8", errors="replace")
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            for line in lines:
                ts, _, msg = line.partition(" ")
                if msg.endswith("\r"):
                    msg = msg[:-1]
                out.append((ts, stream, msg))
        return out

    def all_names(self):
        p = docker("ps", "-a", "--filter", "name=^/" + self.prefix, "--format", "{{.Names}}")
        return [n for n in p.stdout.split() if n.startswith(self.prefix)]

    def cleanup(self):
        """Removes every container of this test; returns the names removed."""
        names = self.all_names()
        if names:
            docker("rm", "-f", *names, timeout=120, check=False)
        left = self.all_names()
        assert not left, "containers left behind: %s" % left
        return names


# ----------------------------------------------------------------------- config (YAML)

def _yaml_scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v))  # a double-quoted YAML scalar


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts, lists and scalars (enough for logcap's config)."""
    pad = " " * indent
    lines = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, k))
                lines.append(to_yaml(v, indent + 2))
            elif isinstance(v, (dict, list)):
                lines.append("%s%s: %s" % (pad, k, "{}" if isinstance(v, dict) else "[]"))
            else:
                lines.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, dict) and v:
                sub = to_yaml(v, indent + 2).split("\n")
                lines.append(pad + "- " + sub[0].lstrip())
                lines.extend(sub[1:])
            elif isinstance(v, (dict, list)) and v:
                lines.append(pad + "-")
                lines.append(to_yaml(v, indent + 2))
            else:
                lines.append(pad + "- " + _yaml_scalar(v))
    else:
        lines.append(pad + _yaml_scalar(obj))
    return "\n".join(lines)


def deep_merge(base, over):
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------ file output

def _parse_lines(data, where, complete):
    """Parses DATA (bytes) as JSON lines. A final fragment without newline is an error when
    COMPLETE, else ignored (logcap may be writing it). Every line must be valid UTF-8 and
    valid JSON holding an object."""
    recs = []
    parts = data.split(b"\n")
    tail = parts.pop()
    if tail:
        if complete:
            raise AssertionError("%s: last line has no newline: %r" % (where, tail[:200]))
    for i, raw in enumerate(parts, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AssertionError("%s line %d: not valid UTF-8 (%s): %r" % (where, i, e, raw[:200]))
        try:
            obj = json.loads(text)
        except ValueError as e:
            raise AssertionError("%s line %d: not valid JSON (%s): %r" % (where, i, e, raw[:200]))
        if not isinstance(obj, dict):
            raise AssertionError("%s line %d: not a JSON object: %r" % (where, i, raw[:200]))
        recs.append(obj)
    return recs, len(data) - len(tail)


def rotated_files(logs_dir, name):
    """The rotated files of container NAME, oldest first: [(n, path)]."""
    pat = re.compile(r"^%s\.log\.(\d+)(\.gz)?$" % re.escape(name))
    found = []
    try:
        entries = os.listdir(logs_dir)
    except FileNotFoundError:
        return []
    for e in entries:
        m = pat.match(e)
        if m:
            found.append((int(m.group(1)), os.path.join(logs_dir, e)))
    found.sort(reverse=True)
    return found


def read_records(logs_dir, name, complete=False):
    """Every record of container NAME in the file output at LOGS_DIR, oldest first: the
    rotated files <name>.log.N[.gz] (highest N first) then <name>.log. Invalid JSON or
    UTF-8 fails the test."""
    recs = []
    for _, path in rotated_files(logs_dir, name):
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
        recs += _parse_lines(data, path, True)[0]
    path = os.path.join(logs_dir, name + ".log")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return recs
    recs += _parse_lines(data, path, complete)[0]
    return recs


class Tail:
    """Incremental reader of one container's current output file (<name>.log), for large
    outputs without rotation: each call parses only what was appended since the last."""

    def __init__(self, logs_dir, name, keep=None):
        self.path = os.path.join(logs_dir, name + ".log")
        self.offset = 0
        self.ino = None
        self.keep = keep  # maps a record to what is kept (memory), default the record
        self.records = []

    def poll(self, complete=False):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return self.records
        if self.ino is not None and (st.st_ino != self.ino or st.st_size < self.offset):
            raise AssertionError("%s was replaced or truncated (rotation in a test that "
                                 "expects none?)" % self.path)
        self.ino = st.st_ino
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        recs, used = _parse_lines(data, self.path, complete)
        self.records += recs if self.keep is None else [self.keep(r) for r in recs]
        self.offset += used
        return self.records


def output_names(logs_dir):
    """Container names that have a current or rotated file in LOGS_DIR."""
    names = set()
    try:
        entries = os.listdir(logs_dir)
    except FileNotFoundError:
        return names
    for e in entries:
        m = re.match(r"^(.*)\.log(\.\d+(\.gz)?)?$", e)
        if m:
            names.add(m.group(1))
    return names


def messages(recs, stream=None):
    return [r.get("message") for r in recs if stream is None or r.get("stream") == stream]


def check_exactly_once(got, expected, what, allow_duplicates=False):
    """GOT and EXPECTED are lists of hashable items (e.g. (stream, message)). Fails with a
    short summary of what is missing, extra or doubled. Returns the number of duplicates."""
    cg = collections.Counter(got)
    ce = collections.Counter(expected)
    missing = ce - cg
    extra = {k: v for k, v in cg.items() if k not in ce}
    dup = {k: v - ce[k] for k, v in cg.items() if k in ce and v > ce[k]}
    ndup = sum(dup.values())
    problems = []
    if missing:
        problems.append("%d missing (e.g. %s)" % (sum(missing.values()), _sample(missing)))
    if extra:
        problems.append("%d unexpected (e.g. %s)" % (sum(extra.values()), _sample(extra)))
    if dup and not allow_duplicates:
        problems.append("%d duplicated (e.g. %s)" % (ndup, _sample(dup)))
    assert not problems, "%s: %s (expected %d, got %d)" % (
        what, "; ".join(problems), len(expected), len(got))
    return ndup


def _sample(counter, n=5):
    items = sorted(counter.items(), key=lambda kv: repr(kv[0]))[:n]
    return ", ".join("%s x%d" % (_short(k), v) for k, v in items)


def _short(x):
    s = repr(x)
    return s if len(s) <= 120 else s[:117] + "..."


# ------------------------------------------------------------------------------ logcap

CLOSED = object()  # Logcap.stdout: start logcap with its fd 1 closed


class Logcap:
    """One logcap process under test, with its own config, data_dir and file output in
    WORKDIR. CONFIG is merged over the defaults below (a list replaces a list); OUTPUT is
    merged into the default file output. start() may be called again after stop() (same
    config and data_dir). CLOCK (a WallClock) starts it with the wall-clock shim; ENV adds
    variables to its environment (both may also be set as attributes before start()).
    The attribute stdout, set before start(), says where logcap's standard output goes:
    None (the default: with its stderr), a path (appended to), an open file or fd, or
    CLOSED (logcap starts with fd 1 closed)."""

    def __init__(self, workdir, prefix, label="logcap", config=None, output=None, clock=None,
                 env=None):
        self.workdir = workdir
        self.clock = clock
        self.env = env
        self.prefix = prefix
        self.label = label
        self.data_dir = os.path.join(workdir, "data")
        self.logs_dir = os.path.join(workdir, "logs")
        self.config_path = os.path.join(workdir, "logcap.yaml")
        self.stderr_path = os.path.join(workdir, "logcap.stderr")
        self.stdout = None
        self.proc = None
        self.runs = 0
        self.exit_codes = []
        base = {
            "data_dir": self.data_dir,
            "log_level": os.environ.get("LCT_LOG_LEVEL", "info"),
            "hostname": HOSTNAME,
            "api": {"listen": "127.0.0.1:%d" % free_port()},
            "docker": {
                "socket": SOCKET,
                "root": DOCKER_ROOT,
                "read": READ,
                "include_names": [prefix + "*"],
                "initial_tail": "all",
            },
            "outputs": [{
                "type": "file",
                "name": "file",
                "path": self.logs_dir,
                "format": "json",
                "rotate_bytes": "1GiB",
                "max_files": 2,
                "compress": False,
            }],
        }
        base["outputs"][0].update(output or {})
        self.config = deep_merge(base, config or {})
        self.write_config()

    def write_config(self):
        with open(self.config_path, "w") as f:
            f.write(to_yaml(self.config) + "\n")

    # -- process
    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "logcap already running"
        binary = logcap_bin()
        assert os.access(binary, os.X_OK), "logcap binary not found: %s" % binary
        self.runs += 1
        err = open(self.stderr_path, "ab")
        err.write(b"----- run %d: %s --config %s\n" % (self.runs, binary.encode(),
                                                      self.config_path.encode()))
        err.flush()
        env = None
        if self.clock is not None or self.env:
            env = dict(os.environ, **(self.clock.env() if self.clock is not None else {}))
            env.update(self.env or {})
        out = open(self.stdout, "ab") if isinstance(self.stdout, str) else self.stdout
        closed = out is CLOSED
        self.proc = subprocess.Popen([binary, "--config", self.config_path],
                                     stdin=subprocess.DEVNULL,
                                     stdout=err if out is None or closed else out,
                                     stderr=err, start_new_session=True, cwd=self.workdir,
                                     env=env, preexec_fn=(lambda: os.close(1)) if closed else None)
        err.close()
        if isinstance(self.stdout, str):
            out.close()
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise Fatal("logcap exited unexpectedly with code %s; stderr:\n%s" % (
                self.proc.returncode, self.stderr_tail()))

    def stop(self, kill=False, timeout=10, expect_rc=0):
        """Stops logcap: SIGTERM and, unless EXPECT_RC is None, asserts it exits with
        EXPECT_RC within TIMEOUT seconds; or SIGKILL when KILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            if kill:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(30)
            else:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.send_signal(signal.SIGKILL)
                    self.proc.wait(30)
                    self.exit_codes.append("timeout")
                    raise AssertionError("logcap did not exit within %s s of SIGTERM; "
                                         "stderr:\n%s" % (timeout, self.stderr_tail()))
        rc = self.proc.returncode
        self.exit_codes.append(rc)
        if not kill and expect_rc is not None:
            assert rc == expect_rc, "logcap exited with %s after SIGTERM, expected %s; " \
                "stderr:\n%s" % (rc, expect_rc, self.stderr_tail())
        return rc

    def kill_quietly(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def stderr_tail(self, max_bytes=20000):
        t = self.stderr_text()
        return t if len(t) <= max_bytes else "...\n" + t[-max_bytes:]

    # -- output
    def records(self, name, complete=False):
        """Every record written for container NAME (rotated files included)."""
        return read_records(self.logs_dir, name, complete)

    def files(self):
        return output_names(self.logs_dir)

    def wait_for(self, cond, timeout, what, detail=None):
        """wait_for() that also fails at once if logcap exits."""
        def c():
            self.check_alive()
            return cond()
        try:
            return wait_for(c, timeout, what, detail=detail)
        except Fatal as e:
            raise AssertionError(str(e))

    def wait_messages(self, name, n, timeout=30, stream=None):
        """Waits until container NAME has at least N records (on STREAM if given)."""
        state = {"n": 0}

        def cond():
            recs = self.records(name)
            if stream:
                recs = [r for r in recs if r.get("stream") == stream]
            state["n"] = len(recs)
            return recs if len(recs) >= n else None
        return self.wait_for(cond, timeout, "%d records of %s" % (n, name),
                             detail=lambda: "have %d" % state["n"])

    def wait_caught_up(self, containers, name, timeout=30):
        """Waits until logcap holds the last line of each stream that `docker logs` shows
        for NAME (call once the container has stopped)."""
        lines = containers.logs(name)
        last = {}
        for ts, stream, msg in lines:
            last[stream] = (stream, msg)
        want = set(last.values())
        state = {"n": 0}

        def cond():
            recs = self.records(name)
            state["n"] = len(recs)
            have = {(r.get("stream"), r.get("message")) for r in recs}
            return want <= have
        self.wait_for(cond, timeout, "logcap to catch up with %s (last lines %s)" % (
            name, sorted(want)), detail=lambda: "have %d of %d records" % (state["n"], len(lines)))
        return lines

    # -- API and process figures
    @property
    def api(self):
        """An Api client for this instance's api.listen (and api.token, if set)."""
        a = self.config.get("api") or {}
        return Api(a.get("listen", "127.0.0.1:8401"), a.get("token"))

    def wait_api(self, timeout=20):
        """Waits until the API answers; returns the Api client."""
        api = self.api
        self.wait_for(api.answers, timeout, "logcap's API on %s:%d" % (api.host, api.port))
        return api

    def wait_task(self, tid, cond, timeout, what, api=None):
        """Waits until /health lists task TID and COND(task) is true; returns the task.
        A failure shows the task as /health last showed it."""
        api = api or self.api
        seen = {"task": None}

        def c():
            seen["task"] = api.tasks().get(tid)
            return seen["task"] if seen["task"] is not None and cond(seen["task"]) else None
        return self.wait_for(c, timeout, "task %s: %s" % (tid, what),
                             detail=lambda: "task is %s" % (seen["task"],))

    def fds(self):
        return proc_fds(self.pid)

    def threads(self):
        return proc_threads(self.pid)

    def rss_kib(self):
        return proc_rss_kib(self.pid)


def make_workdir():
    return tempfile.mkdtemp(prefix="lct-", dir=os.environ.get("LCT_TMPDIR", "/tmp"))


def remove_workdir(path):
    shutil.rmtree(path, ignore_errors=True)


# Every prefix this test session gave out: its teardown removes only their containers, so
# that two sessions sharing the private dockerd (a full run and a single test) do not
# remove each other's.
ISSUED_PREFIXES = set()


def new_prefix():
    p = "lct-%s-" % uuid.uuid4().hex[:6]
    ISSUED_PREFIXES.add(p)
    return p


def ours(name):
    """True when container NAME was created under a prefix of this session."""
    return any(name.startswith(p) for p in ISSUED_PREFIXES)


def counter_script(stop_trap=True, interval="0.01"):
    """Shell loop printing '<run id> <counter>' every INTERVAL s; a new run id per start.
    With STOP_TRAP the container exits at once on SIGTERM (sh as PID 1 would ignore it)."""
    trap = 'trap "exit 0" TERM; ' if stop_trap else ""
    return (trap + 'r=$RANDOM$RANDOM$RANDOM; i=0; while true; do i=$((i+1)); '
            'echo "$r $i"; sleep %s; done' % interval)


def runs_of(msgs):
    """Maps run id -> Counter of counters, from '<run id> <counter>' messages."""
    runs = collections.defaultdict(collections.Counter)
    for m in msgs:
        rid, _, n = m.partition(" ")
        runs[rid][int(n)] += 1
    return runs


# --------------------------------------------------------------------- process figures

def proc_fds(pid):
    """Number of open file descriptors of PID (entries of /proc/PID/fd)."""
    return len(os.listdir("/proc/%d/fd" % pid))


def proc_fd_kinds(pid):
    """Counter of what PID's descriptors point at: "socket", "anon_inode:[eventfd]",
    "pipe", "/dev/null", or "file" for a path (for failure messages)."""
    kinds = collections.Counter()
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            t = os.readlink(os.path.join(d, fd))
        except FileNotFoundError:
            continue
        if t.startswith("socket:"):
            kinds["socket"] += 1
        elif t.startswith("pipe:"):
            kinds["pipe"] += 1
        elif t.startswith("anon_inode:") or t.startswith("/dev/"):
            kinds[t] += 1
        else:
            kinds["file"] += 1
    return kinds


def proc_status(pid, key):
    """The value of KEY in /proc/PID/status, as an int when it is one (kB values in kB)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == key:
                v = v.split()
                return int(v[0]) if v and v[0].isdigit() else " ".join(v)
    raise KeyError(key)


def proc_threads(pid):
    return proc_status(pid, "Threads")


def proc_rss_kib(pid):
    return proc_status(pid, "VmRSS")


# ------------------------------------------------------------------------ HTTP API

class ApiResponse(collections.namedtuple("ApiResponse", "status headers body")):
    """An HTTP response of logcap's API: STATUS (int), HEADERS (dict, lower-case names),
    BODY (bytes)."""

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as e:
            raise AssertionError("API answered %d with a body that is not JSON (%s): %r" % (
                self.status, e, self.body[:300]))

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")


_DEFAULT = object()


class Api:
    """Client of logcap's HTTP API at LISTEN ("host:port"). TOKEN, if given, is sent as
    `Authorization: Bearer TOKEN` unless a call passes token= (None: no header)."""

    def __init__(self, listen, token=None):
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        if host in ("0.0.0.0", "", "*"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        self.host, self.port, self.token = host, int(port), token

    def request(self, method, path, token=_DEFAULT, headers=None, body=None, timeout=10):
        """One request on a new connection; returns an ApiResponse. Connection errors
        propagate (OSError)."""
        import http.client
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        hdrs = dict(headers or {})
        tok = self.token if token is _DEFAULT else token
        if tok is not None:
            hdrs["Authorization"] = "Bearer " + tok
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            return ApiResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def get_json(self, path, expect=200, **kw):
        r = self.get(path, **kw)
        assert r.status == expect, "GET %s answered %d (expected %d): %r" % (
            path, r.status, expect, r.body[:500])
        return r.json()

    def health(self, brief=False):
        """(HTTP status, parsed body) of GET /health."""
        r = self.get("/health?brief=1" if brief else "/health")
        return r.status, r.json()

    def tasks(self):
        """The task list of /health (id -> task dict)."""
        return {t["id"]: t for t in self.health()[1].get("tasks", [])}

    def stats(self):
        return self.get_json("/stats")

    def metrics_text(self):
        r = self.get("/metrics")
        assert r.status == 200, "GET /metrics answered %d: %r" % (r.status, r.body[:300])
        return r.text

    def metrics(self):
        return Metrics(self.metrics_text())

    def wedge(self, task_id):
        return self.request("POST", "/debug/wedge?task=" + task_id)

    def fault(self, name, mode, match=None):
        """The test-only fault switch of output NAME (a -DLOGCAP_TEST_HOOKS=ON build): MODE
        "retry" (every send fails: an outage), "reject" (records whose message contains
        MATCH are refused for good) or "off". Fails unless logcap answers 200."""
        import urllib.parse
        q = {"name": name, "mode": mode}
        if match is not None:
            q["match"] = match
        r = self.request("POST", "/debug/output?" + urllib.parse.urlencode(q))
        assert r.status == 200, "POST /debug/output %s answered %d: %r (a build without " \
            "-DLOGCAP_TEST_HOOKS=ON?)" % (q, r.status, r.body[:300])
        return r

    def dead(self):
        """GET /dead as a dict output name -> {"records", "replay", "replayed", ...}."""
        body = self.get_json("/dead")
        return {o["name"]: o for o in body.get("outputs", [])}

    def replay(self, name):
        """POST /dead/replay?output=NAME; returns the ApiResponse (202 when accepted)."""
        import urllib.parse
        return self.request("POST", "/dead/replay?" + urllib.parse.urlencode({"output": name}))

    def answers(self):
        """True when GET /health gets any HTTP answer."""
        try:
            self.get("/health?brief=1", timeout=2)
            return True
        except OSError:
            return False


_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$')
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


class Metrics:
    """Samples of a Prometheus text exposition: name -> [(labels dict, value)]. Fails on
    a line it cannot parse."""

    def __init__(self, text):
        self.text = text
        self.samples = collections.defaultdict(list)
        self.types = {}
        for n, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 4 and parts[1] == "TYPE":
                    self.types[parts[2]] = parts[3].strip()
                continue
            m = _SAMPLE_RE.match(line)
            assert m, "/metrics line %d does not parse: %r" % (n, line)
            labels = {}
            if m.group(3):
                pos, raw = 0, m.group(3)
                while pos < len(raw):
                    lm = _LABEL_RE.match(raw, pos)
                    assert lm and lm.end() > pos, "/metrics line %d: bad labels: %r" % (n, line)
                    labels[lm.group(1)] = re.sub(r'\\(.)', lambda x: {"n": "\n"}.get(
                        x.group(1), x.group(1)), lm.group(2))
                    pos = lm.end()
            self.samples[m.group(1)].append((labels, float(m.group(4))))

    def has(self, name):
        return name in self.samples

    def series(self, name, **labels):
        return [(l, v) for l, v in self.samples.get(name, [])
                if all(l.get(k) == str(v2) for k, v2 in labels.items())]

    def sum(self, name, **labels):
        """Sum of NAME's samples whose labels include LABELS; 0 when there is none."""
        return sum(v for _, v in self.series(name, **labels))

    def value(self, name, **labels):
        """The one sample of NAME with LABELS; fails when there is not exactly one."""
        s = self.series(name, **labels)
        assert len(s) == 1, "/metrics: expected one %s%s, found %d: %s" % (
            name, labels, len(s), s[:5])
        return s[0][1]


def task_id(container_id):
    """The supervisor's task id of a container: container_<first 12 hex of its id>."""
    return "container_" + container_id[:12]


def container_entry(stats, name, cid=None):
    """The entry of container NAME (or id CID) in a /stats body, or None."""
    for c in stats.get("containers", []):
        cid_s = c.get("id") or ""
        if c.get("name") == name or (cid and cid_s and (cid.startswith(cid_s) or
                                                          cid_s.startswith(cid))):
            return c
    return None


def container_metric(metrics, name, metric, cid):
    """Sum of METRIC over the series whose container label is NAME, CID or CID[:12]."""
    keys = {name, cid, cid[:12]}
    return sum(v for l, v in metrics.samples.get(metric, []) if l.get("container") in keys)


def follow_rx(cid):
    """Regex (for the stall proxy) of the follow requests of container CID's logs."""
    return r"^GET (/v[0-9.]+)?/containers/%s[0-9a-f]*/logs\?(.*&)?follow=1(&|$)" % cid[:12]


def probe_rx(cid):
    """Regex of the idle probes (tail=1, no follow) of container CID's logs."""
    return r"^GET (/v[0-9.]+)?/containers/%s[0-9a-f]*/logs\?(?!.*follow=1)(.*&)?tail=1(&|$)" \
        % cid[:12]


def task_trouble(body, tid):
    """Why /health body BODY shows trouble for task TID (None when it shows none): the
    status is not healthy, the task is missing or not running, or it has a last_error."""
    why = []
    if body.get("status") != "healthy":
        why.append("status %s" % body.get("status"))
    t = {x.get("id"): x for x in body.get("tasks", [])}.get(tid)
    if t is None:
        why.append("task missing")
    else:
        if t.get("state") != "running":
            why.append("state %s" % t.get("state"))
        if t.get("last_error"):
            why.append("last_error %r" % t.get("last_error"))
    return "; ".join(why) or None


class HealthRecorder:
    """Polls GET /health of API every INTERVAL s on a thread and keeps every answer as
    (monotonic time, HTTP status, body or None). Use as a context manager; the thread
    ends on exit."""

    def __init__(self, api, interval=0.1):
        import threading
        self.api = api
        self.interval = interval
        self.samples = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-recorder", daemon=True)

    def _run(self):
        while not self._stop.is_set():
            t = time.monotonic()
            try:
                r = self.api.get("/health", timeout=2)
                body = json.loads(r.body.decode("utf-8")) if r.body else None
                self.samples.append((t, r.status, body))
            except (OSError, ValueError):
                self.errors += 1
                self.samples.append((t, None, None))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive(), "health recorder did not stop"

    def first(self, pred, since=0.0):
        """The first sample (t, status, body) at or after SINCE with PRED(status, body)."""
        for s in list(self.samples):
            if s[0] >= since and s[2] is not None and pred(s[1], s[2]):
                return s
        return None

    def task_states(self, tid):
        """The sequence of distinct (state, last_error) of task TID, for messages."""
        out = []
        for _, _, b in list(self.samples):
            if b is None:
                continue
            t = {x.get("id"): x for x in b.get("tasks", [])}.get(tid)
            v = (t.get("state"), t.get("last_error")) if t else ("missing", None)
            if not out or out[-1] != v:
                out.append(v)
        return out


def compare_with_docker(lc, containers, names, allow_duplicates=False, timeout=60):
    """Stops the containers NAMES, waits until LC caught up with each, and checks that
    its records of each are `docker logs`' lines (stream, message), each exactly once (or
    at least once with ALLOW_DUPLICATES). Returns the number of duplicates."""
    containers.stop(*names)
    dups = 0
    for name in names:
        lines = lc.wait_caught_up(containers, name, timeout=timeout)
        recs = lc.records(name)
        dups += check_exactly_once([(r.get("stream"), r.get("message")) for r in recs],
                                   [(s, m) for _, s, m in lines], name,
                                   allow_duplicates=allow_duplicates)
    return dups


def dockerd_pid():
    """PID of the private dockerd (from its pidfile), or None."""
    try:
        with open(os.path.join(os.path.dirname(SOCKET), "dockerd.pid")) as f:
            return int(f.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------------- CLI

def run_cli(*args, timeout=120, env=None):
    """Runs `logcap ARGS...` (the binary under test) and returns (rc, stdout, stderr)."""
    p = subprocess.run([logcap_bin()] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout, p.stderr


# ----------------------------------------------------------------------------- spool

# The bytes of a segment file (src/spool/spool_format.h): a 24-byte header ("LCSPOOL1", the
# segment id, a random u32 seed and its complement) then frames of a 12-byte header ('L'
# 'C', type, flags, u32 payload length, u32 CRC-32 started from the seed over header bytes
# 2..7 and the payload) and the payload. (Builds before the seed had a 16-byte header and
# CRCs started from 0: spool_header tells them apart.)
SPOOL_SEG_MAGIC = b"LCSPOOL1"
SPOOL_SEG_HDR = 24
SPOOL_FRAME_HDR = 12
SPOOL_DATA, SPOOL_META, SPOOL_POS = 1, 2, 3
SPOOL_TXN_END = 0x01
SPOOL_DATA_FIXED = 15  # DATA payload: u32 meta id, i64 ts_ns, u8 stream, u8 flags, u8 ts_len


class SpoolFrame(collections.namedtuple("SpoolFrame", "offset type flags length crc_ok")):
    """One frame of a segment file: OFFSET of its header in the file, TYPE, FLAGS,
    LENGTH of its payload, CRC_OK."""

    @property
    def end(self):
        return self.offset + SPOOL_FRAME_HDR + self.length

    @property
    def payload_offset(self):
        return self.offset + SPOOL_FRAME_HDR

    @property
    def txn_end(self):
        return bool(self.flags & SPOOL_TXN_END)


class SpoolData(collections.namedtuple("SpoolData", "frame meta_id ts_ns stream ts message "
                                                     "message_offset")):
    """A DATA frame decoded: MESSAGE (bytes) starts at MESSAGE_OFFSET in the file;
    STREAM is 1 for stdout, 2 for stderr."""


def spool_dir(data_dir):
    return os.path.join(data_dir, "spool")


def spool_segments(data_dir):
    """The segment files of the spool under DATA_DIR, oldest first: [(id, path)]."""
    d = spool_dir(data_dir)
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return []
    out = [(int(n[:16], 16), os.path.join(d, n)) for n in names
           if re.match(r"^[0-9a-f]{16}\.seg$", n)]
    return sorted(out)


def spool_header(data):
    """(header size, CRC seed) of segment bytes DATA."""
    assert data[:8] == SPOOL_SEG_MAGIC, "not a spool segment (header %r)" % data[:24]
    seed = int.from_bytes(data[16:20], "little")
    if len(data) >= 24 and int.from_bytes(data[20:24], "little") == seed ^ 0xFFFFFFFF:
        return SPOOL_SEG_HDR, seed
    return 16, 0


def spool_frames(data):
    """The frames of segment bytes DATA, in order, as far as they parse as whole frames with
    a good CRC from the header on (a test reads undamaged files: parsing stops at the first
    frame that is cut short or bad). Returns (frames, offset where parsing stopped)."""
    pos, seed = spool_header(data)
    frames = []
    while pos + SPOOL_FRAME_HDR <= len(data):
        h = data[pos:pos + SPOOL_FRAME_HDR]
        if h[:2] != b"LC":
            break
        plen = int.from_bytes(h[4:8], "little")
        if pos + SPOOL_FRAME_HDR + plen > len(data):
            break
        crc = zlib.crc32(data[pos + SPOOL_FRAME_HDR:pos + SPOOL_FRAME_HDR + plen],
                         zlib.crc32(h[2:8], seed))
        ok = crc == int.from_bytes(h[8:12], "little")
        if not ok:
            break
        frames.append(SpoolFrame(pos, h[2], h[3], plen, ok))
        pos += SPOOL_FRAME_HDR + plen
    return frames, pos


def spool_data(data, frame):
    """Decodes DATA frame FRAME of segment bytes DATA."""
    assert frame.type == SPOOL_DATA, frame
    p = frame.payload_offset
    meta_id = int.from_bytes(data[p:p + 4], "little")
    ts_ns = int.from_bytes(data[p + 4:p + 12], "little", signed=True)
    stream = data[p + 12]
    ts_len = data[p + 14]
    ts = data[p + SPOOL_DATA_FIXED:p + SPOOL_DATA_FIXED + ts_len].decode()
    moff = p + SPOOL_DATA_FIXED + ts_len
    return SpoolData(frame, meta_id, ts_ns, stream, ts, bytes(data[moff:frame.end]), moff)


def spool_records(path):
    """The DATA records of segment file PATH: (SpoolData list, frames, parse end, size)."""
    with open(path, "rb") as f:
        data = f.read()
    frames, end = spool_frames(data)
    return [spool_data(data, fr) for fr in frames if fr.type == SPOOL_DATA], frames, end, \
        len(data)


def spool_transactions(frames):
    """FRAMES grouped into appends (each ends with a TXN_END frame); frames after the last
    TXN_END form a last, unfinished group."""
    txns, cur = [], []
    for fr in frames:
        cur.append(fr)
        if fr.txn_end:
            txns.append(cur)
            cur = []
    if cur:
        txns.append(cur)
    return txns


def spool_bytes_on_disk(data_dir):
    return sum(os.path.getsize(p) for _, p in spool_segments(data_dir))


# ------------------------------------------------------------------------ dead letters

def dead_path(data_dir, output):
    return os.path.join(data_dir, "dead", output + ".jsonl")


def read_dead(data_dir, output):
    """The dead-letter lines of OUTPUT (parsed JSON objects); [] when there is no file."""
    try:
        with open(dead_path(data_dir, output), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    return _parse_lines(data, dead_path(data_dir, output), False)[0]


# -------------------------------------------------------------------------- wall clock

class WallClock:
    """A wall-clock offset for a logcap started with the clock shim (Logcap(clock=...) or
    lc.clock = WallClock(path) before start()). The shim (tests/clockshim/clockshim.c,
    <build>/tests/libclockshim.so next to LOGCAP_BIN, built when LOGCAP_TESTING is ON) adds
    the little-endian int64 nanoseconds held in the 8-byte file PATH to CLOCK_REALTIME,
    gettimeofday and time in that process; CLOCK_MONOTONIC is untouched. The file is mapped
    shared, so set_offset() moves the clock of the running process at once: a step of the
    wall clock as NTP or a VM resume makes it. Only the process's own readings move: a
    condition variable on CLOCK_REALTIME still sleeps on the kernel's clock, so a positive
    offset stretches such a wait by the offset (what a backward step of the real clock does
    to a wait in progress) and a negative one cuts it short."""

    def __init__(self, path, offset_ns=0):
        self.path = path
        self.offset_ns = 0
        self.set_offset(offset_ns)

    def set_offset(self, ns):
        """Sets the offset to NS nanoseconds (written in place: the file never shrinks,
        which would fault the mapping)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, int(ns).to_bytes(8, "little", signed=True), 0)
        finally:
            os.close(fd)
        self.offset_ns = int(ns)

    def step(self, ns):
        """Moves the clock by NS nanoseconds (negative: backward) from where it is."""
        self.set_offset(self.offset_ns + ns)

    @staticmethod
    def shim_path():
        return os.path.join(os.path.dirname(logcap_bin()), "tests", "libclockshim.so")

    def env(self):
        """The variables that start a process with the shim and this offset file. An ASan
        build refuses a preloaded library ahead of its runtime unless told not to check."""
        shim = self.shim_path()
        assert os.path.exists(shim), "clock shim not built: %s (configure the build of %s " \
            "with -DLOGCAP_TESTING=ON)" % (shim, logcap_bin())
        asan = os.environ.get("ASAN_OPTIONS", "")
        return {"LD_PRELOAD": shim, "LCT_CLOCK_OFFSET_FILE": self.path,
                "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}
