"""The stdout output (issue 10, item 4): every line of two containers on logcap's standard
output exactly once, as valid JSON lines byte-identical to the file output's (format json)
or as the bare messages (format text), nothing else on the stream; and a reader that goes
away (a closed pipe) does not kill logcap: /health says why the output cannot deliver."""

import collections
import fcntl
import json
import os
import threading

import lchelpers as h

N = 300


def with_stdout(logcap, fmt):
    """A logcap with the default file output and a stdout output in FORMAT, its standard
    output going to WORKDIR/logcap.stdout."""
    lc = logcap()
    lc.config["outputs"].append({"type": "stdout", "name": "out", "format": fmt})
    lc.write_config()
    lc.stdout = os.path.join(lc.workdir, "logcap.stdout")
    return lc


def run_two(containers):
    names = []
    for k in range(2):
        names.append(containers.run(
            "so%d" % k,
            'for i in $(seq 1 %d); do echo "c%d out $i"; echo "c%d err $i" >&2; done'
            % (N, k, k)))
    for name in names:
        containers.wait_exited(name)
    return names


def stdout_bytes(lc):
    with open(lc.stdout, "rb") as f:
        return f.read()


def wait_lines(lc, n):
    """Waits until logcap's stdout holds N complete lines; returns them (bytes, without
    their newlines)."""
    state = {"n": 0}

    def cond():
        data = stdout_bytes(lc)
        lines = data.split(b"\n")[:-1]  # complete lines only
        state["n"] = len(lines)
        return lines if len(lines) >= n else None
    return lc.wait_for(cond, 60, "%d lines on logcap's stdout" % n,
                       detail=lambda: "have %d" % state["n"])


def test_json_lines_of_two_containers_exactly_once(containers, logcap):
    lc = with_stdout(logcap, "json").start()
    names = run_two(containers)
    wait_lines(lc, 4 * N)
    lc.stop()
    data = stdout_bytes(lc)
    assert data.endswith(b"\n")
    lines = data.split(b"\n")[:-1]
    assert len(lines) == 4 * N, "logcap's stdout holds other lines than the records"
    recs = [json.loads(line) for line in lines]  # every line is one valid JSON object
    by_name = collections.defaultdict(list)
    for line, r in zip(lines, recs):
        by_name[r.get("container_name")].append((line, r))
    assert sorted(by_name) == sorted(names)
    for k, name in enumerate(names):
        got = by_name[name]
        expected = [("stdout", "c%d out %d" % (k, i)) for i in range(1, N + 1)] + \
                   [("stderr", "c%d err %d" % (k, i)) for i in range(1, N + 1)]
        h.check_exactly_once([(r["stream"], r["message"]) for _, r in got], expected, name)
        docker_ts = {(s, m): ts for ts, s, m in containers.logs(name)}
        info = containers.inspect(name)
        for _, r in got:
            assert r["container_id"] == info["Id"], r
            assert r["ts"] == docker_ts[(r["stream"], r["message"])], r
        # the file output's lines for this container, byte for byte and in the same order
        with open(os.path.join(lc.logs_dir, name + ".log"), "rb") as f:
            assert f.read().split(b"\n")[:-1] == [line for line, _ in got]


def test_text_lines_of_two_containers_exactly_once(containers, logcap):
    lc = with_stdout(logcap, "text").start()
    run_two(containers)
    wait_lines(lc, 4 * N)
    lc.stop()
    lines = stdout_bytes(lc).decode().split("\n")
    assert lines[-1] == ""
    expected = ["c%d %s %d" % (k, w, i) for k in range(2) for w in ("out", "err")
                for i in range(1, N + 1)]
    h.check_exactly_once(lines[:-1], expected, "stdout (text)")


def test_closed_stdout_is_an_output_error_not_a_crash(containers, logcap):
    """The reader of logcap's stdout goes away: logcap lives on, the output's task says
    stdout is closed, and the lines still reach the file output."""
    r, w = os.pipe()
    lc = logcap()
    lc.config["outputs"].append({"type": "stdout", "name": "out",
                                 "retry": {"backoff_min": "50ms", "backoff_max": "200ms"}})
    lc.write_config()
    lc.stdout = w
    lc.start()
    os.close(w)
    first = containers.run("first", "echo before")
    reader = os.fdopen(r, "rb")
    assert json.loads(reader.readline())["message"] == "before"
    reader.close()
    lc.wait_messages(first, 1)
    api = lc.wait_api()
    second = containers.run("second", 'for i in $(seq 1 20); do echo "after $i"; done')
    task = lc.wait_task("output_out", lambda t: "stdout is closed" in (t.get("last_error") or ""),
                        30, "stdout is closed in last_error", api=api)
    assert task["state"] in ("restarting", "failed"), task
    lc.wait_messages(second, 20)
    status, body = api.health()
    assert status == 200 and body.get("status") == "degraded", (status, body)
    assert lc.alive()
    lc.stop()
    assert "stdout is closed" in lc.stderr_text()


def test_dead_replay_to_stdout_prints_records_only(containers, logcap):
    """Records the stdout output refused (the test fault switch) go to its dead-letter
    file; `logcap dead replay out` with logcap stopped writes them to its own stdout, which
    then holds those JSON lines only (its summary goes to stderr)."""
    lc = with_stdout(logcap, "json").start()
    api = lc.wait_api()
    api.fault("out", "reject", match="refuse")
    name = containers.run("dl", 'for i in 1 2 3; do echo "keep $i"; echo "refuse $i"; done')
    lc.wait_messages(name, 6)
    lc.wait_for(lambda: len(h.read_dead(lc.data_dir, "out")) >= 3, 20,
                "3 records in the dead-letter file of out")
    lc.stop()
    rc, out, err = h.run_cli("dead", "replay", "out", "--config", lc.config_path, timeout=60)
    assert rc == 0, "logcap dead replay exited %d:\n%s%s" % (rc, out, err)
    assert "replay done: 3 records delivered" in err, err
    lines = out.split("\n")
    assert lines[-1] == "", out
    assert sorted(json.loads(line)["message"] for line in lines[:-1]) == \
        ["refuse 1", "refuse 2", "refuse 3"], out
    assert not h.read_dead(lc.data_dir, "out")


def test_started_with_stdout_closed(containers, logcap):
    """logcap started with fd 1 closed: main puts /dev/null there before anything opens a
    file (else the lock file or a spool segment would get fd 1 and the stdout output's
    records would land in it); the output says its records are lost, and the file output
    and the spool work as usual."""
    lc = logcap()
    lc.config["outputs"].append({"type": "stdout", "name": "out"})
    lc.write_config()
    lc.stdout = h.CLOSED
    lc.start()
    name = containers.run("closed", 'for i in $(seq 1 50); do echo "line $i"; done')
    lc.wait_messages(name, 50)
    lc.stop()
    assert "stdout is /dev/null" in lc.stderr_text()
    h.check_exactly_once(h.messages(lc.records(name, complete=True)),
                         ["line %d" % i for i in range(1, 51)], name)
    rc, out, err = h.run_cli("spool", "inspect", "--config", lc.config_path, timeout=60)
    assert rc == 0, "logcap spool inspect exited %d:\n%s%s" % (rc, out, err)
    with open(os.path.join(lc.data_dir, "lock"), "rb") as f:
        assert b"message" not in f.read()


def test_stalled_reader_loses_and_repeats_nothing(containers, logcap):
    """The reader of logcap's stdout (a 4 KiB pipe) stops reading: the output's task says
    so (a send gives up after 5 s without progress, and retries), logcap lives on; once the
    reader reads again, every line arrives exactly once and none is torn."""
    n = 2000
    r, w = os.pipe()
    fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ
    lc = logcap()
    lc.config["outputs"].append({"type": "stdout", "name": "out",
                                 "retry": {"backoff_min": "50ms", "backoff_max": "200ms"}})
    lc.write_config()
    lc.stdout = w
    lc.start()
    os.close(w)
    name = containers.run("stall", 'for i in $(seq 1 %d); do echo "line $i ........................'
                          '........................................"; done' % n)
    api = lc.wait_api()
    lc.wait_task("output_out", lambda t: "not reading" in (t.get("last_error") or ""), 30,
                 "stdout's reader is not reading in last_error", api=api)
    got = []

    def read_all():
        with os.fdopen(r, "rb") as f:
            for line in f:
                got.append(line)
    reader = threading.Thread(target=read_all)
    reader.start()
    lc.wait_for(lambda: len(got) >= n, 60, "%d lines on logcap's stdout" % n,
                detail=lambda: "have %d" % len(got))
    lc.stop()
    reader.join(30)
    assert all(line.endswith(b"\n") for line in got)
    recs = [json.loads(line) for line in got]
    h.check_exactly_once([r["message"] for r in recs],
                         ["line %d %s" % (i, "." * 64) for i in range(1, n + 1)], name)


def test_in_a_container_never_captures_itself(containers, workdir, prefix):
    """logcap run as a container (the test image with the host's /usr for its libraries)
    with only the stdout output, its filter matching its own name: its stdout (docker logs)
    holds every line of the other containers once and no record of its own container,
    whose log lines (stderr) would otherwise come back as records."""
    # The supported hosts (Debian, merged /usr) keep the loader under /usr/lib64: a host
    # without it fails here, loudly, rather than skipping the check.
    assert os.path.isdir("/usr/lib64"), "the host's loader is not under /usr/lib64"
    data = os.path.join(workdir, "incontainer")
    os.makedirs(data)
    with open(os.path.join(data, "logcap.yaml"), "w") as f:
        f.write(h.to_yaml({
            "data_dir": "/data/data",
            "hostname": h.HOSTNAME,
            "docker": {"socket": "/docker.sock", "include_names": [prefix + "*"],
                       "initial_tail": "all"},
            "outputs": [{"type": "stdout", "name": "out"}],
        }) + "\n")
    peer = containers.run("peer", 'for i in $(seq 1 20); do echo "peer $i"; done')
    containers.wait_exited(peer)
    me = containers.run("self", "exec /logcap --config /data/logcap.yaml", extra=[
        "-v", "/usr:/usr:ro", "-v", "/usr/lib:/lib:ro", "-v", "/usr/lib64:/lib64:ro",
        "-v", "%s:/logcap:ro" % h.logcap_bin(), "-v", "%s:/docker.sock" % h.SOCKET,
        "-v", "%s:/data" % data])
    # a container started after logcap: once its lines are out, logcap had long found its
    # own container and would have sent its first log lines too
    later = containers.run("later", 'for i in $(seq 1 20); do echo "later $i"; done')
    containers.wait_exited(later)
    state = {"recs": []}

    def delivered():
        out = h.docker("logs", me, text=False).stdout
        state["recs"] = [json.loads(line) for line in out.split(b"\n")[:-1]]
        return sum(1 for r in state["recs"] if r["container_name"] == later) >= 20
    h.wait_for(delivered, 60, "the lines of %s on the stdout of %s" % (later, me),
               detail=lambda: "have %d records" % len(state["recs"]))
    h.docker("stop", "-t", "10", me)
    recs = [json.loads(line) for line in h.docker("logs", me, text=False).stdout.split(b"\n")[:-1]]
    err = h.docker("logs", me).stderr
    own = containers.inspect(me)
    assert own["State"]["ExitCode"] == 0, err
    assert "logcap runs in container %s, which it does not capture" % own["Id"][:12] in err, err
    assert [r for r in recs if r["container_name"] == me] == []
    h.check_exactly_once([(r["container_name"], r["message"]) for r in recs],
                         [(peer, "peer %d" % i) for i in range(1, 21)] +
                         [(later, "later %d" % i) for i in range(1, 21)], "stdout of " + me)
