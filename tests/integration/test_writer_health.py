"""A spool writer that cannot write, or that stops, is visible (issue 8, item 12): the
inputs pause when the writer fails, so /health must say why (unhealthy, with the errno),
/metrics must expose it, and the writer's task must show its state, although the task has
no restart operation.

- A real write failure: logcap's data_dir on a 4 MiB tmpfs, filled up while a container
  logs, so the spool writer hits ENOSPC; then the space is freed and logcap recovers
  without losing a line (compared with `docker logs`). Needs root (mount).
- A silent writer: the test hook POST /debug/wedge?task=spool_writer makes the supervisor
  ignore the writer's beats, as it would see a writer hung in the kernel on a dead disk
  (such a disk cannot be made here). Needs a test build (-DLOGCAP_TEST_HOOKS=ON)."""

import errno
import os
import subprocess
import time

import pytest

import lchelpers as h

TMPFS_SIZE = "4m"
ENOSPC_REASON = "spool writer: cannot write to the spool: No space left on device"
STALLED_REASON = ("the spool writer is stalled (no heartbeat for longer than task_timeout): "
                  "nothing new reaches the spool")

SUPERVISED = {
    "docker": {"idle_timeout": "2s", "request_timeout": "1s"},
    "supervisor": {"check_interval": "1s", "task_timeout": "6s"},
}


@pytest.fixture
def small_disk(workdir):
    """A tmpfs of TMPFS_SIZE at WORKDIR/data, the data_dir of the test's first logcap.
    Unmounted at teardown (after logcap is stopped), also when the test failed; lazily if
    something still holds it, so that nothing stays mounted."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path = os.path.join(workdir, "data")
    os.makedirs(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % TMPFS_SIZE,
                    "lct-tmpfs", path], check=True, capture_output=True)
    yield path
    if subprocess.run(["umount", path], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", path], capture_output=True)
    assert not os.path.ismount(path), "could not unmount %s" % path


def fill(path):
    """Writes PATH until the filesystem says ENOSPC; returns the bytes written."""
    n = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                return n


def spool_task(api):
    return api.tasks().get("spool_writer")


def test_spool_writer_out_of_space(small_disk, containers, logcap, record_property):
    """The data_dir fills up under a logging container: within seconds /health is
    unhealthy (503) with reason 'spool writer: cannot write to the spool: No space left on
    device', /health's spool says writer_failing, logcap_spool_writer_failing is 1 and
    logcap_spool_writer_errors_total counts, and the spool_writer task is failed with the
    errno; it stays so while the container writes 400 more lines, the writer retrying
    about once a second. Once the space is freed logcap is healthy again and every line
    the container wrote is in the output exactly once."""
    lc = logcap({"spool": {"segment_bytes": "256KiB", "max_bytes": "64MiB"}})
    assert lc.data_dir == small_disk
    lc.start()
    api = lc.wait_api()
    name = containers.run("enospc", h.counter_script(interval="0.005"))
    lc.wait_messages(name, 100)
    lc.wait_for(lambda: api.health()[1].get("status") == "healthy", 20, "healthy at first",
                detail=lambda: api.health()[1])

    filler = os.path.join(small_disk, "filler")
    record_property("filler_bytes", fill(filler))
    seen = {}

    def unhealthy():
        seen["st"], seen["body"] = api.health()
        return seen["st"] == 503 and seen["body"].get("reason") == ENOSPC_REASON
    lc.wait_for(unhealthy, 20, "/health to say %r" % ENOSPC_REASON,
                detail=lambda: (seen.get("st"), (seen.get("body") or {}).get("reason"),
                                (seen.get("body") or {}).get("spool")))
    body = seen["body"]
    assert body["status"] == "unhealthy", body
    assert body["spool"]["writer_failing"] is True, body["spool"]
    assert body["spool"]["writer_error"] == ENOSPC_REASON, body["spool"]
    m = api.metrics()
    assert m.value("logcap_spool_writer_failing") == 1, m.series("logcap_spool_writer_failing")
    assert m.value("logcap_spool_writer_errors_total") >= 1
    t = spool_task(api)
    assert t["state"] == "failed" and "No space left on device" in (t["last_error"] or ""), t
    stats = api.stats()["spool"]
    assert stats["writer_failing"] is True and stats["writer_errors"] >= 1, stats

    # The container goes on logging while the disk stays full (400 more lines, 2 s): the
    # lines wait in the writer's queue or in dockerd's log file, /health stays unhealthy,
    # and the writer retries about once a second, not at every commit.
    n_docker = len(containers.logs(name))
    t0, errors0 = time.monotonic(), m.value("logcap_spool_writer_errors_total")
    lc.wait_for(lambda: len(containers.logs(name)) >= n_docker + 400, 30,
                "400 more lines from the container while the disk is full")
    held = time.monotonic() - t0
    st, body = api.health()
    assert st == 503 and body["reason"] == ENOSPC_REASON, (st, body.get("reason"))
    errors = api.metrics().value("logcap_spool_writer_errors_total") - errors0
    record_property("full_for_s", round(held, 1))
    record_property("write_errors_while_full", errors)
    assert errors <= 2 * held + 3, "%d failed writes in %.1f s: the writer retries a " \
        "full disk at every commit instead of once a second" % (errors, held)
    n_full = len(lc.records(name))
    os.unlink(filler)

    def healthy():
        seen["st"], seen["body"] = api.health()
        return seen["st"] == 200 and seen["body"].get("status") == "healthy"
    lc.wait_for(healthy, 30, "healthy again once the space is freed",
                detail=lambda: (seen.get("st"), (seen.get("body") or {}).get("reason")))
    assert seen["body"]["spool"]["writer_failing"] is False, seen["body"]["spool"]
    assert api.metrics().value("logcap_spool_writer_failing") == 0
    t = spool_task(api)
    assert t["state"] == "running" and t["last_error"] is None, t
    lc.wait_messages(name, n_full + 100)
    h.compare_with_docker(lc, containers, [name])


def test_silent_spool_writer_is_shown_stalled(containers, logcap):
    """A spool writer the supervisor hears nothing from (wedged by the test hook) is shown
    stalled after task_timeout although it cannot be restarted: /tasks says stalled with
    'no heartbeat for N s', /health is unhealthy (nothing new would reach the spool),
    logcap_task_failures_total{type="spool"} counts it and nothing restarts it."""
    lc = logcap(SUPERVISED).start()
    api = lc.wait_api()
    lc.wait_task("spool_writer", lambda t: t.get("state") == "running", 20, "running")
    r = api.wedge("spool_writer")
    assert r.status in (200, 202, 204), "POST /debug/wedge answered %d: %r (a build " \
        "without -DLOGCAP_TEST_HOOKS=ON?)" % (r.status, r.body)
    t = lc.wait_task("spool_writer", lambda t: t.get("state") == "stalled", 6 + 1 + 6,
                     "stalled after task_timeout")
    assert (t["last_error"] or "").startswith("no heartbeat for "), t
    assert "restart" not in t["last_error"], t
    st, body = api.health()
    assert st == 503 and body["reason"] == STALLED_REASON, (st, body.get("reason"))
    m = api.metrics()
    assert m.value("logcap_task_failures_total", type="spool") >= 1
    assert m.value("logcap_task_restarts_total", type="spool") == 0
    assert spool_task(api)["restarts"] == 0
