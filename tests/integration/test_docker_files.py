"""The Docker input's files mode (issue 11): logs read from the json-file logs directly.

Against the private dockerd (json-file logs under its --data-root): lines identical byte for
byte to the API path's (TTY, long and cut lines, bytes that are not UTF-8, both streams);
--rm containers that print and exit at once, 100 of them, every line captured; rotation
under load (max-size, max-file, with and without compress) with logcap keeping up: every
line once; logcap stopped across rotations resumes from what is left and says what it lost;
SIGKILL in files mode; switching docker.read across restarts; a container whose log driver
is not json-file read through the API; and dockerd serving no log request at all."""

import os
import re
import subprocess
import threading

import pytest

import lchelpers as h

pytestmark = pytest.mark.files_mode


def files_cfg(extra=None):
    return h.deep_merge({"docker": {"read": "files"}}, extra or {})


def read_mode(lc, name):
    def get():
        for c in lc.api.get_json("/stats")["containers"]:
            if c["name"] == name:
                return c
        return None
    return lc.wait_for(get, 15, "%s in /stats" % name)


def expected(containers, name):
    return [(s, m) for _, s, m in containers.logs(name)]


def got(lc, name):
    return [(r.get("stream"), r.get("message")) for r in lc.records(name)]


def test_same_records_as_the_api_path(containers, logcap):
    """Two logcaps follow the same containers, one through the API, one from the files:
    their file outputs are byte for byte the same."""
    big = "x" * 40000
    api = logcap(config={"docker": {"read": "api"}}, subdir="api")
    files = logcap(config=files_cfg(), subdir="files")
    api.start()
    files.start()
    names = [
        containers.run("plain", "for i in $(seq 1 300); do echo \"out $i\"; echo \"err $i\" >&2;"
                       " done"),
        containers.run("tty", "for i in $(seq 1 50); do echo \"tty $i\"; done", tty=True),
        containers.run("long", "printf '%%s\\n' %s; printf 'no newline at exit'" % big),
        containers.run("bytes", "printf 'caf\\351 \\001 ok\\n'; printf '\\377\\376\\n' >&2"),
    ]
    for name in names:
        containers.wait_exited(name)
    for name in names:
        files.wait_caught_up(containers, name)
        api.wait_caught_up(containers, name)
        assert read_mode(files, name)["read"] == "files"
        assert read_mode(api, name)["read"] == "api"
    for name in names:
        with open(os.path.join(api.logs_dir, name + ".log"), "rb") as f:
            a = f.read()
        with open(os.path.join(files.logs_dir, name + ".log"), "rb") as f:
            b = f.read()
        assert a == b, "%s: the files mode wrote other bytes than the API path" % name
    long_recs = files.records(names[2])
    assert [r["message"] for r in long_recs] == [big, "no newline at exit"]


def test_rm_containers_that_exit_at_once(containers, logcap):
    lc = logcap(config=files_cfg()).start()
    lc.wait_api()
    specs = [("rm%d" % i, "echo first %d; echo second %d >&2; echo third %d" % (i, i, i))
             for i in range(100)]

    def run(spec):
        containers.run(spec[0], spec[1], rm=True)
    for k in range(0, 100, 10):
        batch = [threading.Thread(target=run, args=(s,)) for s in specs[k:k + 10]]
        for t in batch:
            t.start()
        for t in batch:
            t.join()
    missing = []
    for i in range(100):
        name = containers.name("rm%d" % i)
        want = [("stdout", "first %d" % i), ("stderr", "second %d" % i), ("stdout", "third %d" % i)]
        try:
            lc.wait_for(lambda: sorted(got(lc, name)) == sorted(want) or None, 20,
                        "the 3 lines of %s" % name)
        except AssertionError:
            missing.append(name)
    assert not missing, "%d of 100 --rm containers lost lines: %s" % (len(missing), missing[:10])


def rotating(containers, suffix, n, compress):
    opts = ["--log-opt", "max-size=100k", "--log-opt", "max-file=3"]
    if compress:
        opts += ["--log-opt", "compress=true"]
    # about 1 MB/s in bursts of 500 lines: a rotation every ~100 ms, while max-file=3 keeps
    # two rotated files, so a reader that keeps up never meets a deleted one
    return containers.run(suffix, "i=0; while [ $i -lt %d ]; do i=$((i+1)); "
                          "echo \"line $i of a rotating log, padded to about a hundred bytes "
                          "xxxxxxxxxxxxxxxx\"; [ $((i %% 500)) -eq 0 ] && sleep 0.05; done" % n,
                          extra=opts)


@pytest.mark.parametrize("compress", [False, True])
def test_rotation_under_load(containers, logcap, compress):
    lc = logcap(config=files_cfg()).start()
    lc.wait_api()
    n = 20000  # about 2 MB: some twenty rotations of 100 kB
    name = rotating(containers, "rot", n, compress)
    containers.wait_exited(name, timeout=120)
    lc.wait_for(lambda: len(lc.records(name)) >= n or None, 60, "%d lines of %s" % (n, name))
    msgs = [r["message"] for r in lc.records(name)]
    h.check_exactly_once(msgs, ["line %d of a rotating log, padded to about a hundred bytes "
                                "xxxxxxxxxxxxxxxx" % i for i in range(1, n + 1)], name)
    st = read_mode(lc, name)
    assert st["read"] == "files" and st["file_rotations"] >= 10, st
    assert st["lost_files"] == 0, st


def test_stopped_across_rotations(containers, logcap):
    """logcap is stopped while a container writes through three rotations with max-file=3:
    the file it was reading is deleted. It resumes from what is left, says so in its log and
    counts it; every line still in a file arrives once."""
    lc = logcap(config=files_cfg()).start()
    lc.wait_api()
    name = containers.run("slow", "i=0; while [ $i -lt 100 ]; do i=$((i+1)); echo \"warm $i\";"
                          " done; sleep 2; i=0; while [ $i -lt 8000 ]; do i=$((i+1)); "
                          "echo \"cold $i padded to about a hundred bytes yyyyyyyyyyyyyyyyyyyyyy"
                          "yyyyyyyyyyyyyyyyyy\"; done; sleep 1",
                          extra=["--log-opt", "max-size=100k", "--log-opt", "max-file=3"])
    lc.wait_for(lambda: len(lc.records(name)) >= 100 or None, 20, "the warm lines")
    lc.stop()
    containers.wait_exited(name, timeout=60)
    lc.start()
    lc.wait_for(lambda: "the log file read before is gone" in lc.stderr_text() or None, 30,
                "logcap to say the file it read is gone")
    st = lc.wait_for(lambda: (lambda c: c if c["lost_files"] >= 1 else None)(read_mode(lc, name)),
                     15, "lost_files in /stats")
    # what dockerd still holds arrives exactly once, after the warm lines
    want = expected(containers, name)
    lc.wait_for(lambda: set(want) <= set(got(lc, name)) or None, 30, "what is left")
    h.check_exactly_once([g for g in got(lc, name) if g in set(want)], want, name)
    assert st["read"] == "files"


def test_sigkill_in_files_mode(containers, logcap):
    lc = logcap(config=files_cfg()).start()
    lc.wait_api()
    names = containers.run_many([("k%d" % i, h.counter_script(interval="0.005"))
                                 for i in range(3)])
    for _ in range(10):
        # each life takes new lines of every container before it is killed
        before = {n: len(lc.records(n)) for n in names}
        lc.wait_for(lambda: all(len(lc.records(n)) >= before[n] + 20 for n in names) or None,
                    20, "20 new lines of every container")
        lc.stop(kill=True)
        lc.start()
    dups = h.compare_with_docker(lc, containers, names, allow_duplicates=True, timeout=120)
    assert dups <= 10 * 2048, "%d repeats after 10 kills" % dups


def test_switching_read_modes_across_restarts(containers, logcap):
    lc = logcap(config={"docker": {"read": "api"}}).start()
    lc.wait_api()
    name = containers.run("sw", h.counter_script(interval="0.01"))
    for mode in ("files", "api", "files"):
        before = len(lc.records(name))
        lc.wait_for(lambda: len(lc.records(name)) >= before + 30 or None, 20,
                    "30 lines taken in this mode")
        lc.stop()
        lc.config["docker"]["read"] = mode
        lc.write_config()
        lc.start()
        assert read_mode(lc, name)["read"] == mode
    h.compare_with_docker(lc, containers, [name])  # exactly once: nothing lost or repeated


def test_other_log_driver_is_read_through_the_api(containers, logcap):
    lc = logcap(config={"docker": {"read": "auto"}}).start()
    lc.wait_api()
    name = containers.name("local")
    h.docker("run", "-d", "--network", "none", "--name", name, "--log-driver", "local",
             h.IMAGE, "sh", "-c", "for i in $(seq 1 20); do echo local $i; done")
    containers.wait_exited(name)
    lc.wait_for(lambda: len(lc.records(name)) >= 20 or None, 20, "the 20 lines")
    assert read_mode(lc, name)["read"] == "api"
    assert "read through the API: no readable json-file log" in lc.stderr_text()


def test_dockerd_serves_no_log_request(containers, logcap, stallproxy):
    lc = logcap(config=files_cfg({"docker": {"socket": stallproxy.path}})).start()
    lc.wait_api()
    names = containers.run_many([("q%d" % i, "for i in $(seq 1 50); do echo q $i; done; "
                                  "sleep 2; echo late") for i in range(3)])
    for name in names:
        containers.wait_exited(name)
        lc.wait_for(lambda: len(lc.records(name)) >= 51 or None, 20, "the lines of %s" % name)
    logs = stallproxy.requests(r"/logs")
    assert logs == [], "dockerd served log requests in files mode: %s" % [r.line for r in logs]


def test_files_mode_needs_the_containers_directory(workdir, prefix):
    lc = h.Logcap(workdir, prefix, config={"docker": {"read": "files",
                                                      "root": os.path.join(workdir, "nope")}})
    lc.start()
    try:
        rc = lc.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise AssertionError("logcap started without the containers directory")
    assert rc != 0, "logcap exited 0 without the containers directory"
    assert re.search(r"read: files, but .*/nope/containers cannot be read", lc.stderr_text())


def test_rm_container_gone_before_its_start_event_is_read(containers, logcap, stallproxy):
    """The event stream is held back while a --rm container prints and exits and is
    removed: when logcap hears of it, its log file is gone. The file was opened when Docker
    created it (the containers directory is watched), so every line is read all the same."""
    lc = logcap(config=files_cfg({"docker": {"socket": stallproxy.path}})).start()
    lc.wait_api()
    lc.wait_for(lambda: stallproxy.requests(r"/events") or None, 10, "the event stream")
    frozen = stallproxy.freeze(r"/events")
    assert frozen, "no event stream to hold back"
    name = containers.run("gone", "for i in $(seq 1 20); do echo gone $i; done", rm=True,
                          detach=False)
    h.wait_for(lambda: not containers.exists(name), 30, "%s to be removed" % name)
    assert stallproxy.thaw() == frozen
    lc.wait_for(lambda: len(lc.records(name)) >= 20 or None, 20, "the 20 lines of %s" % name)
    assert [r["message"] for r in lc.records(name)] == ["gone %d" % i for i in range(1, 21)]


def test_rm_container_listed_between_create_and_start(containers, logcap, stallproxy):
    """A --rm container is created, then the container list (a reconcile every second)
    meets it created and not started, and only then does it start, print, exit and get
    removed, while the event stream is held back. The log opened when Docker created its
    directory is kept through that list, so every line is read."""
    lc = logcap(config=files_cfg({"docker": {"socket": stallproxy.path,
                                             "reconcile_interval": "1s"}})).start()
    lc.wait_api()
    lc.wait_for(lambda: stallproxy.requests(r"/events") or None, 10, "the event stream")
    name = containers.name("listed")
    h.docker("create", "--rm", "--network", "none", "--name", name, "--log-driver", "json-file",
             h.IMAGE, "sh", "-c", "for i in $(seq 1 20); do echo listed $i; done")
    read_mode(lc, name)  # listed: created, not started
    frozen = stallproxy.freeze(r"/events")
    assert frozen, "no event stream to hold back"
    h.docker("start", "-a", name)
    h.wait_for(lambda: not containers.exists(name), 30, "%s to be removed" % name)
    assert stallproxy.thaw() == frozen
    lc.wait_for(lambda: len(lc.records(name)) >= 20 or None, 20, "the 20 lines of %s" % name)
    assert [r["message"] for r in lc.records(name)] == ["listed %d" % i for i in range(1, 21)]


def test_created_before_logcap_started_after(containers, logcap):
    """A container logcap meets created but not started (no log file yet) is read from its
    file once it starts, not through the API."""
    name = containers.name("late")
    h.docker("create", "--network", "none", "--name", name, "--log-driver", "json-file",
             h.IMAGE, "sh", "-c", "for i in $(seq 1 30); do echo late $i; done")
    lc = logcap(config=files_cfg()).start()
    lc.wait_api()
    # known, stopped and never started: waiting for its file, not read through the API
    assert read_mode(lc, name)["read"] == "files"
    h.docker("start", name)
    containers.wait_exited(name)
    lc.wait_for(lambda: len(lc.records(name)) >= 30 or None, 20, "the 30 lines")
    assert read_mode(lc, name)["read"] == "files"
    assert [r["message"] for r in lc.records(name)] == ["late %d" % i for i in range(1, 31)]
