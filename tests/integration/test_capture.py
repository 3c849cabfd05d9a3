"""What a line looks like on the way through: streams, metadata, timestamps, TTY, long
lines, a last line without newline, binary bytes, --rm containers."""

import re

import lchelpers as h


def test_stdout_and_stderr_of_several_containers(containers, logcap):
    """(a) Every line once, on the right stream, with the right container metadata, and the
    timestamp docker logs --timestamps shows for that line."""
    lc = logcap().start()
    n = 50
    names = []
    for k in range(3):
        names.append(containers.run(
            "multi%d" % k,
            'for i in $(seq 1 %d); do echo "c%d out $i"; echo "c%d err $i" >&2; done'
            % (n, k, k)))
    for name in names:
        containers.wait_exited(name)
    for k, name in enumerate(names):
        lc.wait_messages(name, 2 * n)
        lines = lc.wait_caught_up(containers, name)
        assert len(lines) == 2 * n
    lc.stop()
    for k, name in enumerate(names):
        info = containers.inspect(name)
        recs = lc.records(name, complete=True)
        expected = [("stdout", "c%d out %d" % (k, i)) for i in range(1, n + 1)] + \
                   [("stderr", "c%d err %d" % (k, i)) for i in range(1, n + 1)]
        h.check_exactly_once([(r.get("stream"), r.get("message")) for r in recs], expected,
                             name)
        # Per stream, lines keep their order.
        for stream, word in (("stdout", "out"), ("stderr", "err")):
            assert h.messages(recs, stream) == ["c%d %s %d" % (k, word, i)
                                                for i in range(1, n + 1)]
        docker_ts = {(s, m): ts for ts, s, m in containers.logs(name)}
        for r in recs:
            assert r.get("container_id") == info["Id"], r
            assert re.match(r"^[0-9a-f]{64}$", r["container_id"])
            assert r.get("container_name") == name, r
            assert r.get("image") == info["Config"]["Image"] == h.IMAGE, r
            assert "truncated" not in r or r["truncated"] is False, r
            assert h.TS_RE.match(r.get("ts", "")), r
            assert r["ts"] == docker_ts[(r["stream"], r["message"])], r


def test_metadata_fields(containers, logcap):
    """host, labels and the compose fields of every record."""
    lc = logcap().start()
    labels = {"app": "web", "tier": "front", "com.docker.compose.project": "shop",
              "com.docker.compose.service": "cart"}
    name = containers.run("meta", "echo labelled", labels=labels)
    plain = containers.run("plain", "echo plain")
    recs = lc.wait_messages(name, 1)
    precs = lc.wait_messages(plain, 1)
    lc.stop()
    r = recs[0]
    assert r["message"] == "labelled"
    assert r.get("host") == h.HOSTNAME, r
    assert r.get("labels") == labels, r
    assert r.get("compose_project") == "shop", r
    assert r.get("compose_service") == "cart", r
    p = precs[0]
    assert p["message"] == "plain"
    assert p.get("host") == h.HOSTNAME, p
    assert p.get("labels", {}) == {}, p
    assert p.get("compose_project") is None and p.get("compose_service") is None, p


def test_tty_container(containers, logcap):
    """(b) A TTY container: lines captured without the pty's \\r, on stdout (the pty
    merges stderr into stdout)."""
    lc = logcap().start()
    name = containers.run("tty", 'for i in 1 2 3; do echo "tty line $i"; done; '
                          'echo "tty err" >&2; printf "tty last\\n"', tty=True)
    containers.wait_exited(name)
    lc.wait_messages(name, 5)
    lc.wait_caught_up(containers, name)
    lc.stop()
    recs = lc.records(name, complete=True)
    assert [(r["stream"], r["message"]) for r in recs] == [
        ("stdout", "tty line 1"), ("stdout", "tty line 2"), ("stdout", "tty line 3"),
        ("stdout", "tty err"), ("stdout", "tty last")]
    for r in recs:
        assert "\r" not in r["message"]


def test_tty_run_ending_without_newline(containers, logcap):
    """A TTY run that ends without a newline ("Password: ") and a next run of the same
    container: a raw TTY body has no frames, and the next run's first line must not be
    glued onto the last one. Read in one response (both runs before logcap starts), then
    followed (a third run while logcap runs)."""
    script = ('r=$(cat /tmp/r 2>/dev/null || echo 0); r=$((r+1)); echo $r > /tmp/r; '
              'if [ $r = 1 ]; then printf "Password: "; else echo "run $r line 1"; fi')
    name = containers.run("ttyrun", script, tty=True)
    containers.wait_exited(name)
    h.docker("start", name)
    containers.wait_exited(name)
    lc = logcap().start()
    lc.wait_messages(name, 2)
    h.docker("start", name)
    containers.wait_exited(name)
    lc.wait_messages(name, 3)
    lc.wait_caught_up(containers, name)
    lc.stop()
    assert h.messages(lc.records(name, complete=True)) == [
        "Password: ", "run 2 line 1", "run 3 line 1"]


def test_long_lines_joined_and_truncated(containers, logcap):
    """(c) Lines Docker splits into 16 KiB pieces are joined; one over max_line_bytes is
    cut to exactly max_line_bytes and marked truncated; the next line is intact."""
    lc = logcap({"docker": {"max_line_bytes": "1MiB"}}).start()
    script = ('head -c 20480 /dev/zero | tr "\\0" a; echo; '
              'head -c 102400 /dev/zero | tr "\\0" b; echo; '
              'head -c 2097152 /dev/zero | tr "\\0" c; echo; '
              'head -c 16384 /dev/zero | tr "\\0" d; echo; '
              'echo after')
    name = containers.run("long", script)
    containers.wait_exited(name)
    lc.wait_for(lambda: "after" in h.messages(lc.records(name)), 60,
                "the line after the long ones")
    lc.stop()
    recs = lc.records(name, complete=True)
    summary = [(r["message"][:1], len(r["message"]), r.get("truncated", False)) for r in recs]
    assert summary == [("a", 20480, False), ("b", 102400, False), ("c", 1048576, True),
                       ("d", 16384, False), ("a", len("after"), False)], summary
    assert recs[0]["message"] == "a" * 20480
    assert recs[1]["message"] == "b" * 102400
    assert recs[2]["message"] == "c" * 1048576
    assert recs[2]["truncated"] is True
    assert recs[3]["message"] == "d" * 16384
    assert recs[4]["message"] == "after"
    for r in recs:
        assert r["stream"] == "stdout"


def test_last_line_without_newline(containers, logcap):
    """(d) A last line without final newline is captured as it is."""
    lc = logcap().start()
    name = containers.run("nonl", "echo first; printf 'no newline'")
    containers.wait_exited(name)
    recs = lc.wait_messages(name, 2)
    lc.stop()
    recs = lc.records(name, complete=True)
    assert h.messages(recs) == ["first", "no newline"]


def test_binary_and_invalid_utf8(containers, logcap):
    """(e) Control bytes, NUL, invalid UTF-8: every output line is valid JSON and UTF-8
    (the reader checks both), valid UTF-8 survives, invalid bytes are U+FFFD."""
    lc = logcap().start()
    script = (r"printf 'ctl \001\002\003\011\033[1m\037 end\n'; "
              r"printf 'nul \000 in\n'; "
              r"printf 'bad \377\376 x\n'; "
              r"printf 'bad2 \303\050 y\n'; "
              r"printf 'ok \303\251 z\n'; "
              r"""printf 'quote " backslash \\ slash / del \177\n'""")
    name = containers.run("bin", script)
    containers.wait_exited(name)
    lc.wait_messages(name, 6)
    lc.stop()
    raw = open(lc.logs_dir + "/" + name + ".log", "rb").read()
    raw.decode("utf-8")  # strict
    recs = lc.records(name, complete=True)
    msgs = h.messages(recs)
    assert msgs == [
        "ctl \x01\x02\x03\t\x1b[1m\x1f end",
        "nul \x00 in",
        "bad \ufffd\ufffd x",
        "bad2 \ufffd( y",
        "ok \u00e9 z",
        'quote " backslash \\ slash / del \x7f',
    ], msgs
    # And what docker itself shows for the same lines.
    assert msgs == [m for _, _, m in containers.logs(name)]


def test_container_with_rm(containers, logcap):
    """(g) A --rm container that prints and exits at once: its lines are captured. logcap
    follows it from its start event (a list would come after it is gone); run it in a loop
    to see a race: tests/run -k test_container_with_rm, or LCT_RM_RUNS=50."""
    lc = logcap().start()
    lc.wait_task("docker_events", lambda t: t["state"] == "running", 20,
                 "the event stream to be open")
    name = containers.run("rm", 'echo "rm line 1"; echo "rm line 2" >&2; echo "rm line 3"',
                          rm=True)
    h.wait_for(lambda: not containers.exists(name), 30, "the --rm container to be removed")
    lc.wait_messages(name, 3)
    lc.stop()
    recs = lc.records(name, complete=True)
    h.check_exactly_once([(r["stream"], r["message"]) for r in recs],
                         [("stdout", "rm line 1"), ("stderr", "rm line 2"),
                          ("stdout", "rm line 3")], name)
