"""The harness itself: private dockerd, test image, container cleanup, output reader.
These do not need logcap, so they tell a broken environment from a broken binary."""

import gzip
import os

import pytest

import lchelpers as h


def test_private_dockerd_is_not_the_hosts():
    assert h.SOCKET != "/var/run/docker.sock"
    info = h.docker("info", "--format", "{{.DockerRootDir}} {{.LoggingDriver}}").stdout.split()
    assert info == ["/var/lib/logcap-test/docker", "json-file"]


def test_image_has_the_applets(containers):
    applets = "sh echo printf cat seq sleep head tr sed awk yes dd true date wc sort"
    name = containers.run("applets", 'for a in %s; do command -v $a >/dev/null || '
                          'echo "missing $a"; done; echo done; echo err >&2' % applets)
    containers.wait_exited(name)
    lines = containers.logs(name)
    assert [(s, m) for _, s, m in lines] == [("stdout", "done"), ("stderr", "err")]
    for ts, _, _ in lines:
        assert h.TS_RE.match(ts), ts


def test_containers_have_no_network(containers):
    name = containers.run("net", "cat /proc/net/dev")
    containers.wait_exited(name)
    ifaces = [m.split(":")[0].strip() for _, _, m in containers.logs(name) if ":" in m]
    assert ifaces == ["lo"]


def test_cleanup_removes_every_container_of_the_test(prefix):
    c = h.Containers(prefix)
    c.run("a", "sleep 30")
    c.run("b", "true")
    assert sorted(c.all_names()) == [prefix + "a", prefix + "b"]
    assert sorted(c.cleanup()) == [prefix + "a", prefix + "b"]
    assert c.all_names() == []


def test_output_reader(workdir):
    logs = os.path.join(workdir, "logs")
    os.makedirs(logs)
    with gzip.open(os.path.join(logs, "c.log.2.gz"), "wb") as f:
        f.write(b'{"message": "1"}\n')
    with gzip.open(os.path.join(logs, "c.log.1.gz"), "wb") as f:
        f.write(b'{"message": "2"}\n')
    with open(os.path.join(logs, "c.log"), "wb") as f:
        f.write(b'{"message": "3"}\n{"message": "4"')
    assert h.messages(h.read_records(logs, "c")) == ["1", "2", "3"]
    with pytest.raises(AssertionError, match="no newline"):
        h.read_records(logs, "c", complete=True)
    with open(os.path.join(logs, "d.log"), "wb") as f:
        f.write(b'{"message": "ok"}\nnot json\n')
    with pytest.raises(AssertionError, match="not valid JSON"):
        h.read_records(logs, "d")
    with open(os.path.join(logs, "e.log"), "wb") as f:
        f.write(b'{"message": "\xff"}\n')
    with pytest.raises(AssertionError, match="not valid UTF-8"):
        h.read_records(logs, "e")
    assert h.output_names(logs) == {"c", "d", "e"}


def test_wait_for_fails_with_a_clear_message():
    with pytest.raises(AssertionError, match="timed out after 0.2 s waiting for the moon"):
        h.wait_for(lambda: False, 0.2, "the moon", detail=lambda: "still none")


def test_check_exactly_once():
    h.check_exactly_once([1, 2, 3], [3, 2, 1], "same")
    with pytest.raises(AssertionError, match="1 missing"):
        h.check_exactly_once([1, 2], [1, 2, 3], "missing")
    with pytest.raises(AssertionError, match="1 duplicated"):
        h.check_exactly_once([1, 2, 2, 3], [1, 2, 3], "dup")
    assert h.check_exactly_once([1, 2, 2, 3], [1, 2, 3], "dup", allow_duplicates=True) == 1


def test_yaml_writer():
    y = h.to_yaml({"a": 1, "b": {"c": ["x", "y"], "d": True}, "e": [{"f": "g", "h": 2}],
                   "i": []})
    assert y == ('a: 1\nb:\n  c:\n    - "x"\n    - "y"\n  d: true\ne:\n  - f: "g"\n'
                 '    h: 2\ni: []')
