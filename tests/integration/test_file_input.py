"""The file input (issue 11, item 6), against real files and a real logcap: every line of
several files exactly once with its path, file name and fields; read_from on the first
start only; rename rotation under load and while logcap is stopped; copytruncate; a file
deleted while being read; a new file that may reuse a deleted file's inode; a line longer
than max_line_bytes; SIGKILL in the middle of a stream resumes without loss. No dockerd
is needed: logcap runs with the file input alone."""

import os
import subprocess
import threading
import time

import pytest

import lchelpers as h

pytestmark = pytest.mark.nodocker


@pytest.fixture
def files_lc(workdir, prefix):
    """make(**input keys) -> a started-later Logcap whose only input is a file input named
    app over WORKDIR/src/*.log (and whatever the keys say), writing to the file output."""
    made = []
    src = os.path.join(workdir, "src")
    os.makedirs(src, exist_ok=True)

    def make(**keys):
        lc = h.Logcap(workdir, prefix)
        lc.config.pop("docker")
        entry = {"type": "file", "name": "app", "paths": [os.path.join(src, "*.log")],
                 "refresh_interval": "500ms"}
        entry.update(keys)
        lc.config["inputs"] = [entry]
        lc.config["outputs"][0]["batch"] = {"max_wait": "20ms"}
        lc.write_config()
        lc.src = src
        made.append(lc)
        return lc
    yield make
    for lc in made:
        if lc.alive():
            lc.stop()
        lc.kill_quietly()


def append(path, lines):
    with open(path, "a") as f:
        for line in lines:
            f.write(line + "\n")


def msgs(lc, name):
    return h.messages(h.read_records(lc.logs_dir, name))


def wait_msgs(lc, name, n, timeout=30):
    return lc.wait_for(lambda: (lambda m: m if len(m) >= n else None)(msgs(lc, name)), timeout,
                       "%d lines of %s" % (n, name),
                       detail=lambda: "have %d" % len(msgs(lc, name)))


def input_stats(lc, cond, what):
    """The file input's /stats entry once COND(entry) holds (the API serves a snapshot taken
    every second)."""
    def get():
        stats = lc.api.get_json("/stats")
        (inp,) = [i for i in stats["inputs"] if i["name"] == "app"]
        return inp if cond(inp) else None
    return lc.wait_for(get, 10, what)


def test_lines_of_several_files_once_with_attributes(files_lc):
    lc = files_lc(read_from="beginning", fields={"env": "test", "team": "core"})
    a, b = os.path.join(lc.src, "a.log"), os.path.join(lc.src, "b.log")
    append(a, ["a%d" % i for i in range(500)])
    append(b, ["b%d" % i for i in range(300)])
    lc.start()
    append(a, ["a%d" % i for i in range(500, 1000)])
    c = os.path.join(lc.src, "c.log")  # a file created while logcap runs: from its start
    append(c, ["c%d" % i for i in range(50)])
    append(os.path.join(lc.src, "skip.txt"), ["not matched"])
    wait_msgs(lc, "a.log", 1000)
    wait_msgs(lc, "b.log", 300)
    wait_msgs(lc, "c.log", 50)
    h.check_exactly_once(msgs(lc, "a.log"), ["a%d" % i for i in range(1000)], "a.log")
    h.check_exactly_once(msgs(lc, "b.log"), ["b%d" % i for i in range(300)], "b.log")
    assert msgs(lc, "a.log") == ["a%d" % i for i in range(1000)], "a.log out of order"
    rec = h.read_records(lc.logs_dir, "b.log")[0]
    assert rec["path"] == b and rec["file"] == "b.log" and rec["stream"] == "stdout"
    assert rec["env"] == "test" and rec["team"] == "core" and rec["host"] == h.HOSTNAME
    assert "skip" not in h.output_names(lc.logs_dir)
    inp = input_stats(lc, lambda i: i["files"]["lines"] == 1350, "1350 lines in /stats")
    assert inp["type"] == "file" and inp["sources"] == 3 and inp["files"]["lost"] == 0
    metrics = lc.api.get("/metrics").text
    assert 'logcap_file_lines_total{input="app"} 1350' in metrics


def test_read_from_end_applies_to_the_first_start_only(files_lc):
    lc = files_lc(read_from="end")
    a = os.path.join(lc.src, "a.log")
    append(a, ["old%d" % i for i in range(10)])
    lc.start()
    lc.wait_for(lambda: "following" in lc.stderr_text(), 10, "the file followed")
    append(a, ["new%d" % i for i in range(10)])
    wait_msgs(lc, "a.log", 10)
    lc.stop()
    b = os.path.join(lc.src, "b.log")  # appears while logcap is stopped: a new file
    append(b, ["b%d" % i for i in range(5)])
    append(a, ["down%d" % i for i in range(5)])
    lc.start()
    wait_msgs(lc, "b.log", 5)
    wait_msgs(lc, "a.log", 15)
    assert msgs(lc, "a.log") == ["new%d" % i for i in range(10)] + ["down%d" % i for i in range(5)]
    assert msgs(lc, "b.log") == ["b%d" % i for i in range(5)]


def writer(path, n, rotate_every, mode):
    """Writes N lines to PATH, rotating it every ROTATE_EVERY lines: MODE rename (to .1,
    the older .1 removed) or copytruncate."""
    f = open(path, "a", buffering=1)
    for i in range(n):
        if i > 0 and i % rotate_every == 0:
            if mode == "rename":
                f.close()
                if os.path.exists(path + ".1"):
                    os.unlink(path + ".1")
                os.rename(path, path + ".1")
                f = open(path, "a", buffering=1)
            else:
                f.flush()
                subprocess.run(["cp", path, path + ".1"], check=True)
                f.truncate(0)
                f.seek(0)
        f.write("line %d\n" % i)
        if i % 200 == 0:
            time.sleep(0.005)
    f.close()


def test_rename_rotation_under_load(files_lc):
    lc = files_lc(read_from="beginning").start()
    path = os.path.join(lc.src, "app.log")
    n = 20000
    writer(path, n, 2500, "rename")
    wait_msgs(lc, "app.log", n, timeout=60)
    h.check_exactly_once(msgs(lc, "app.log"), ["line %d" % i for i in range(n)], "app.log")
    input_stats(lc, lambda i: i["files"]["rotations"] == n // 2500 - 1,
                "%d rotations in /stats" % (n // 2500 - 1))
    assert "app.log.1" not in " ".join(h.output_names(lc.logs_dir))


def test_copytruncate(files_lc):
    lc = files_lc(read_from="beginning").start()
    path = os.path.join(lc.src, "app.log")
    append(path, ["before %d" % i for i in range(100)])
    wait_msgs(lc, "app.log", 100)
    with open(path, "r+") as f:
        f.truncate(0)
    append(path, ["after %d" % i for i in range(100)])
    wait_msgs(lc, "app.log", 200)
    h.check_exactly_once(msgs(lc, "app.log"), ["before %d" % i for i in range(100)] +
                         ["after %d" % i for i in range(100)], "app.log")
    assert "was truncated (copytruncate)" in lc.stderr_text()


def test_rotated_while_stopped(files_lc):
    lc = files_lc(read_from="beginning").start()
    path = os.path.join(lc.src, "app.log")
    append(path, ["one %d" % i for i in range(100)])
    wait_msgs(lc, "app.log", 100)
    lc.stop()
    append(path, ["two %d" % i for i in range(100)])  # into the file about to rotate
    os.rename(path, path + ".1")
    append(path, ["three %d" % i for i in range(100)])
    lc.start()
    wait_msgs(lc, "app.log", 300)
    expected = ["%s %d" % (w, i) for w in ("one", "two", "three") for i in range(100)]
    assert msgs(lc, "app.log") == expected
    assert "its unread lines are lost" not in lc.stderr_text()


def test_deleted_while_read_and_replaced(files_lc):
    """A writer deletes its file and goes on writing through its open descriptor: every
    line is read. Then a new file at the path (the kernel may give it the old inode
    number): it is a new file, read from its start, across a restart too."""
    lc = files_lc(read_from="beginning").start()
    path = os.path.join(lc.src, "app.log")
    f = open(path, "a", buffering=1)
    f.write("x0\n")
    lc.wait_for(lambda: "following" in lc.stderr_text(), 10, "the file followed")
    os.unlink(path)
    for i in range(1, 50):
        f.write("x%d\n" % i)
    f.close()
    wait_msgs(lc, "app.log", 50)
    lc.wait_for(lambda: "no longer followed" in lc.stderr_text(), 10, "the deleted file dropped")
    lc.stop()
    append(path, ["y%d" % i for i in range(20)])
    lc.start()
    wait_msgs(lc, "app.log", 70)
    h.check_exactly_once(msgs(lc, "app.log"),
                         ["x%d" % i for i in range(50)] + ["y%d" % i for i in range(20)],
                         "app.log")


def test_line_longer_than_max_line_bytes(files_lc):
    lc = files_lc(read_from="beginning", max_line_bytes="1KiB").start()
    path = os.path.join(lc.src, "app.log")
    long = "L" * 5000
    exact = "E" * 1024
    append(path, ["short", long, exact, "after"])
    # a long line written in pieces, as a slow writer does: its first 3000 bytes are cut to
    # a record (seen in the output) before the rest of it is written, and dropped
    with open(path, "a") as f:
        f.write("P" * 3000)
        f.flush()
        lc.wait_for(lambda: (lambda r: r if len(r) >= 5 else None)(
            h.read_records(lc.logs_dir, "app.log")), 20, "the cut piece as a record")
        f.write("Q" * 3000 + "\nlast\n")
    recs = lc.wait_for(lambda: (lambda r: r if len(r) >= 6 else None)(
        h.read_records(lc.logs_dir, "app.log")), 20, "6 records")
    assert [r["message"] for r in recs] == ["short", "L" * 1024, exact, "after", "P" * 1024,
                                            "last"]
    assert [bool(r.get("truncated")) for r in recs] == [False, True, False, False, True, False]
    input_stats(lc, lambda i: i["files"]["truncated"] == 2, "2 truncated lines in /stats")


def test_sigkill_resumes_without_loss(files_lc):
    lc = files_lc(read_from="beginning").start()
    path = os.path.join(lc.src, "app.log")
    n = 30000
    t = threading.Thread(target=writer, args=(path, n, n + 1, "rename"))
    t.start()
    try:
        for _ in range(3):
            # each life takes new lines before it is killed
            before = len(msgs(lc, "app.log"))
            lc.wait_for(lambda: len(msgs(lc, "app.log")) >= before + 100 or None, 20,
                        "100 new lines")
            lc.stop(kill=True)
            lc.start()
    finally:
        t.join()
    wait_msgs(lc, "app.log", n, timeout=60)
    dups = h.check_exactly_once(msgs(lc, "app.log"), ["line %d" % i for i in range(n)],
                                "app.log", allow_duplicates=True)
    # the input side repeats nothing (lines and positions go into the spool in one
    # transaction); the file output may write again the batch a kill interrupted (its
    # cursor had not moved): at most one batch (2048 records) per kill
    assert dups <= 3 * 2048, "%d lines twice after 3 kills" % dups


def test_config_errors(workdir, prefix):
    lc = h.Logcap(workdir, prefix)
    lc.config.pop("docker")
    lc.config["inputs"] = [{"type": "file", "paths": ["relative/*.log"], "fields": {"ts": "x"}}]
    lc.write_config()
    r = subprocess.run([h.logcap_bin(), "--check-config", "--config", lc.config_path],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert 'inputs[0].paths[0]: "relative/*.log" is not an absolute path' in r.stderr
    assert 'inputs[0].fields.ts: "ts" is a key every file record has already' in r.stderr
