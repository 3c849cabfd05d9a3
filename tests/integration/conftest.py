"""Fixtures of the integration suite.

- docker_env (session, autouse): makes sure the private dockerd answers and holds the test
  image (runs tests/env/docker-up; stops the daemon at the end only if it started it).
- prefix: a unique container-name prefix for the test, "lct-<6 hex>-".
- containers: a lchelpers.Containers for that prefix; teardown removes every container
  with the prefix (also when the test failed) and fails if one cannot be removed.
- workdir: a temporary directory for the test, removed at teardown (kept when
  LCT_KEEP_TMP=1).
- logcap: a factory; logcap(config_overrides) returns a lchelpers.Logcap bound to the test's
  prefix and workdir (not yet started). Teardown stops every instance still running with
  SIGTERM and asserts exit code 0 within 10 s. When a test fails, each instance's stderr
  is added to the report.
- stallproxy: a started stallproxy.StallProxy in front of the private dockerd, listening on
  WORKDIR/docker.sock (give logcap {"docker": {"socket": stallproxy.path}}). Teardown
  stops it (every connection closed, socket file removed) and fails on a proxy error.
  Request it before `logcap` so that logcap is stopped first.
- lokiserver: a started lokiserver.LokiServer on 127.0.0.1 (an ephemeral port; its URL is
  lokiserver.url), a protocol-checking Loki push endpoint with fault injection (see
  lokiserver.py). Teardown stops it and fails on an exception raised inside the server.
  Request it before `logcap` so that logcap is stopped first.
- kafkamock: a started kafkamock.KafkaMock (librdkafka's mock Kafka cluster, 3 brokers, no
  topic; its bootstrap is kafkamock.bootstrap; see kafkamock.py for the commands). Teardown
  stops it and fails if it does not exit cleanly. Request it before `logcap`. A test that needs
  other brokers, partitions or topics at start uses kafkamock.KafkaMock().start(...) itself.

Markers: nodocker (the test needs no dockerd: when every selected test has it, the session
does not touch the private dockerd; test_lokiserver.py); slow (takes more than 30 s); churn (the 3-minute stall-proxy churn test, run by
tests/run in the ASan pass only); crashloop (the 2-minute SIGKILL loop of test_spool.py,
run by tests/run in the release pass only); spool (every test of test_spool.py: the others
run in the ASan pass only, where a memory error in the spool's recovery or readers shows);
loki_outage (the Loki output's 45 s outage test of test_loki.py: ASan pass only, where a
memory error on the retry paths shows); loki_crashloop (its SIGKILL loop: release pass only,
it is about timing); kafka (test_kafka.py against the mock cluster: release pass only);
clock (test_clock.py, the wall clock steps: ASan pass only).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lchelpers as h  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "nodocker: needs no dockerd (the session skips the "
                            "docker checks when every selected test has it)")
    config.addinivalue_line("markers", "slow: takes more than 30 s")
    config.addinivalue_line("markers", "churn: the long stall-proxy churn test (tests/run "
                            "runs it in one integration pass only)")
    config.addinivalue_line("markers", "crashloop: the SIGKILL crash loop of the spool "
                            "(tests/run runs it in the release pass only)")
    config.addinivalue_line("markers", "spool: the spool's tests (tests/run runs all but the "
                            "crash loop in the ASan pass only)")
    config.addinivalue_line("markers", "loki_outage: the Loki output's 45 s outage test "
                            "(tests/run runs it in the ASan pass only)")
    config.addinivalue_line("markers", "loki_crashloop: the Loki output's SIGKILL loop "
                            "(tests/run runs it in the release pass only)")
    config.addinivalue_line("markers", "clock: the wall clock steps (tests/run: ASan pass only)")
    config.addinivalue_line("markers", "kafka: the Kafka output's tests against the mock "
                            "cluster (tests/run: release pass only)")
    config.addinivalue_line("markers", "files_mode: a test of the Docker input's files mode "
                            "(docker.read files, set by the test): tests/run runs it in the "
                            "ASan pass only, whose docker.read is auto")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for lc in getattr(item, "lc_instances", []):
            rep.sections.append(("logcap stderr (%s, pid %s, exit codes %s)" % (
                lc.label, lc.pid, lc.exit_codes), lc.stderr_tail()))


@pytest.fixture(scope="session", autouse=True)
def docker_env(request):
    if all(item.get_closest_marker("nodocker") for item in request.session.items):
        yield           # e.g. only test_lokiserver.py selected: leave dockerd alone
        return
    started = False
    if not h.docker_answers():
        if os.geteuid() != 0:
            pytest.exit("the private dockerd is not up and starting it needs root: "
                        "run tests/env/docker-up as root first", returncode=3)
        h.env_script("docker-up")
        started = True
    else:
        # Make sure the image exists even when the daemon was started by hand.
        h.env_script("docker-up")
    yield
    left = [n for n in h.docker("ps", "-a", "--filter", "name=^/lct-", "--format", "{{.Names}}",
                                check=False).stdout.split() if h.ours(n)]
    if left:
        h.docker("rm", "-f", *left, check=False)
        print("\nWARNING: removed containers left behind: %s" % left, file=sys.stderr)
    if started:
        h.env_script("docker-down")


@pytest.fixture
def prefix():
    return h.new_prefix()


@pytest.fixture
def containers(prefix):
    if not h.docker_answers():
        # A test that restarts dockerd and failed half-way may have left it down.
        h.env_script("docker-up")
    c = h.Containers(prefix)
    yield c
    c.cleanup()


@pytest.fixture
def workdir():
    path = h.make_workdir()
    yield path
    if os.environ.get("LCT_KEEP_TMP") == "1":
        print("\nkept %s" % path)
    else:
        h.remove_workdir(path)


@pytest.fixture
def logcap(request, prefix, workdir, containers):
    instances = []
    request.node.lc_instances = instances

    def make(config=None, output=None, label=None, subdir=None):
        wd = workdir
        if subdir or instances:
            wd = os.path.join(workdir, subdir or "lc%d" % len(instances))
            os.makedirs(wd, exist_ok=True)
        lc = h.Logcap(wd, prefix, label=label or "logcap%d" % len(instances), config=config,
                     output=output)
        instances.append(lc)
        return lc

    yield make
    errors = []
    for lc in instances:
        if lc.alive():
            try:
                lc.stop()
            except AssertionError as e:
                errors.append(str(e))
            finally:
                lc.kill_quietly()
    assert not errors, "\n".join(errors)


@pytest.fixture
def stallproxy(workdir):
    import stallproxy as sp
    proxy = sp.StallProxy(os.path.join(workdir, "docker.sock"), h.SOCKET).start()
    yield proxy
    errors = list(proxy.errors)
    proxy.stop()
    assert not os.path.exists(proxy.path), "stallproxy left its socket behind"
    assert not errors, "stallproxy errors: %s" % errors


@pytest.fixture
def lokiserver():
    import lokiserver as ls
    srv = ls.LokiServer().start()
    yield srv
    errors = list(srv.errors)
    srv.stop()
    assert not errors, "lokiserver errors: %s" % errors


@pytest.fixture
def kafkamock():
    import kafkamock as km
    mock = km.KafkaMock().start()
    yield mock
    mock.stop()
