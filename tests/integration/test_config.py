"""(n) Command line and configuration errors. A bad config prints one line per problem,
`config error: FILE:LINE: KEY.PATH: what is wrong`, and exits 2 before starting anything
(no data_dir, no output directory). These need no Docker."""

import os
import re
import subprocess

import pytest

import lchelpers as h

# case -> (config text with {d} for a directory in the test's workdir,
#          list of problems; each problem is a list of acceptable (line, key path))
CASES = {
    "unknown-key": (
        "data_dir: {d}\n"
        "bogus: 1\n",
        [[(2, "bogus")]]),
    "unknown-nested-key": (
        "data_dir: {d}\n"
        "docker:\n"
        "  socket: /run/logcap-test/docker.sock\n"
        "  include_name: [\"a\"]\n",
        [[(4, "docker.include_name")]]),
    "unknown-output-key": (
        "data_dir: {d}\n"
        "outputs:\n"
        "  - type: file\n"
        "    path: {d}/logs\n"
        "    rotate: 1MiB\n",
        [[(5, "outputs[0].rotate")]]),
    "duplicate-key": (
        "data_dir: {d}\n"
        "hostname: a\n"
        "hostname: b\n",
        [[(3, "hostname")]]),
    "wrong-type-bool": (
        "data_dir: {d}\n"
        "docker:\n"
        "  enabled: maybe\n",
        [[(3, "docker.enabled")]]),
    "wrong-type-list": (
        "data_dir: {d}\n"
        "docker:\n"
        "  include_names: \"web-*\"\n",
        [[(3, "docker.include_names")]]),
    "wrong-type-labels": (
        "data_dir: {d}\n"
        "docker:\n"
        "  include_labels: [\"app=web\"]\n",
        [[(3, "docker.include_labels")]]),
    "wrong-type-outputs": (
        "data_dir: {d}\n"
        "outputs: {{type: file}}\n",
        [[(2, "outputs")]]),
    "wrong-type-section": (
        "data_dir: {d}\n"
        "docker: yes\n",
        [[(2, "docker")]]),
    "bad-log-level": (
        "data_dir: {d}\n"
        "log_level: verbose\n",
        [[(2, "log_level")]]),
    "bad-format": (
        "data_dir: {d}\n"
        "outputs:\n"
        "  - type: file\n"
        "    path: {d}/logs\n"
        "    format: xml\n",
        [[(5, "outputs[0].format")]]),
    "bad-initial-tail": (
        "data_dir: {d}\n"
        "docker:\n"
        "  initial_tail: some\n",
        [[(3, "docker.initial_tail")]]),
    "bad-listen": (
        "data_dir: {d}\n"
        "api:\n"
        "  listen: nowhere\n",
        [[(3, "api.listen")]]),
    "bad-durations": (
        "data_dir: {d}\n"
        "docker:\n"
        "  idle_timeout: 10 parsecs\n"
        "  reconcile_interval: 5x\n"
        "  request_timeout: -1s\n",
        [[(3, "docker.idle_timeout")], [(4, "docker.reconcile_interval")],
         [(5, "docker.request_timeout")]]),
    "bad-sizes": (
        "data_dir: {d}\n"
        "docker:\n"
        "  max_line_bytes: lots\n"
        "outputs:\n"
        "  - type: file\n"
        "    path: {d}/logs\n"
        "    rotate_bytes: 10QiB\n",
        [[(3, "docker.max_line_bytes")], [(7, "outputs[0].rotate_bytes")]]),
    "max-files-zero": (
        "data_dir: {d}\n"
        "outputs:\n"
        "  - type: file\n"
        "    path: {d}/logs\n"
        "    max_files: 0\n",
        [[(5, "outputs[0].max_files")]]),
    "idle-timeout-zero": (
        "data_dir: {d}\n"
        "docker:\n"
        "  idle_timeout: 0s\n",
        [[(3, "docker.idle_timeout")]]),
    "backoff-max-below-min": (
        "data_dir: {d}\n"
        "docker:\n"
        "  reconnect_backoff_min: 5s\n"
        "  reconnect_backoff_max: 1s\n",
        [[(4, "docker.reconnect_backoff_max"), (3, "docker.reconnect_backoff_min")]]),
    "unknown-output-type": (
        "data_dir: {d}\n"
        "outputs:\n"
        "  - type: carrier-pigeon\n",
        [[(3, "outputs[0].type")]]),
    "duplicate-output-name": (
        "data_dir: {d}\n"
        "outputs:\n"
        "  - type: file\n"
        "    name: a\n"
        "    path: {d}/a\n"
        "  - type: file\n"
        "    name: a\n"
        "    path: {d}/b\n",
        [[(7, "outputs[1].name")]]),
    "empty-outputs": (
        "data_dir: {d}\n"
        "outputs: []\n",
        [[(2, "outputs")]]),
    "yaml-tab": (
        "data_dir: {d}\n"
        "docker:\n"
        "\tsocket: /x\n",
        [[(3, "syntax")]]),
    "yaml-mapping-in-scalar": (
        "data_dir: {d}\n"
        "hostname: a: b\n",
        [[(2, "syntax")]]),
    "yaml-unclosed-flow": (
        "data_dir: {d}\n"
        "docker:\n"
        "  include_names: [\"a\", \"b\"\n"
        "  socket: /x\n",
        [[(4, "syntax"), (5, "syntax")]]),
    # The inputs: list: the Docker input's own table checks its keys there too.
    "input-unknown-key": (
        "data_dir: {d}\n"
        "inputs:\n"
        "  - type: docker\n"
        "    sockt: /x\n",
        [[(4, "inputs[0].sockt")]]),
    "input-wrong-size": (
        "data_dir: {d}\n"
        "inputs:\n"
        "  - type: docker\n"
        "    name: web\n"
        "    max_line_bytes: 10\n",
        [[(5, "inputs[0].max_line_bytes")]]),
    "input-unknown-type": (
        "data_dir: {d}\n"
        "inputs:\n"
        "  - type: journald\n",
        [[(3, "inputs[0].type")]]),
    # docker: is the input named docker: an inputs: entry of that name is the name twice.
    "input-name-also-docker-section": (
        "data_dir: {d}\n"
        "docker:\n"
        "  socket: /x\n"
        "inputs:\n"
        "  - type: docker\n"
        "    name: docker\n",
        [[(6, "inputs[0].name")]]),
}

LINE_RE = re.compile(r"^config error: (?P<file>.+?):(?P<line>\d+): (?P<key>[^:]+): (?P<what>.+)$")


def run_logcap(args, timeout=10):
    try:
        return subprocess.run([h.logcap_bin()] + args, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("logcap %s still running after %d s (did it start?)" % (
            " ".join(args), timeout))


def write(workdir, text):
    path = os.path.join(workdir, "logcap.yaml")
    with open(path, "w") as f:
        f.write(text.format(d=os.path.join(workdir, "data")))
    return path


def check_errors(stderr, path, problems):
    lines = [ln for ln in stderr.splitlines() if ln.startswith("config error:")]
    parsed = []
    for ln in lines:
        m = LINE_RE.match(ln)
        assert m, "not `config error: FILE:LINE: KEY.PATH: what`: %r" % ln
        assert m.group("file") == path, ln
        parsed.append((int(m.group("line")), m.group("key")))
    for options in problems:
        assert any(p in parsed for p in options), \
            "no error line for %s in:\n%s" % (" or ".join("%s:%d %s" % (path, ln, k)
                                                          for ln, k in options), stderr)
    assert len(lines) == len(problems), "expected %d error lines, got:\n%s" % (
        len(problems), stderr)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config(case, workdir):
    text, problems = CASES[case]
    path = write(workdir, text)
    p = run_logcap(["--config", path])
    assert p.returncode == 2, "exit %d, stderr:\n%s" % (p.returncode, p.stderr)
    check_errors(p.stderr, path, problems)
    # Nothing was started or created.
    assert not os.path.exists(os.path.join(workdir, "data")), "data_dir was created"
    # --check-config says the same.
    q = run_logcap(["--check-config", "--config", path])
    assert q.returncode == 2, "--check-config exit %d, stderr:\n%s" % (q.returncode, q.stderr)
    check_errors(q.stderr, path, problems)


def test_inputs_list_captures_a_container(containers, logcap):
    """The inputs: form of the Docker input (no top-level docker: section) captures a
    container's lines, every line once, as the docker: form does."""
    lc = logcap()
    docker = lc.config.pop("docker")
    lc.config["inputs"] = [dict(docker, type="docker", name="web")]
    lc.write_config()
    with open(lc.config_path) as f:
        text = f.read()
    assert "inputs:" in text and not re.search(r"^docker:", text, re.M), text
    lc.start()
    n = 40
    name = containers.run("inputs", 'for i in $(seq 1 %d); do echo "out $i"; '
                          'echo "err $i" >&2; done' % n)
    containers.wait_exited(name)
    lc.wait_messages(name, 2 * n)
    lc.wait_caught_up(containers, name)
    lc.stop()
    recs = lc.records(name, complete=True)
    expected = [("stdout", "out %d" % i) for i in range(1, n + 1)] + \
               [("stderr", "err %d" % i) for i in range(1, n + 1)]
    h.check_exactly_once([(r.get("stream"), r.get("message")) for r in recs], expected, name)
    assert all(r.get("container_name") == name for r in recs)
    # The instance is the one the list names, not a built-in "docker" beside it.
    assert "[input:docker]" not in lc.stderr_text()


def test_config_reference():
    """logcap config-reference prints every key of the core and of every plugin, with no
    config and without starting anything."""
    p = run_logcap(["config-reference"])
    assert p.returncode == 0, p.stderr
    for section in ("[top level]", "[inputs]", "[inputs: docker]", "[outputs]",
                    "[outputs: file]"):
        assert section in p.stdout, p.stdout
    for key in ("data_dir", "socket", "max_line_bytes", "batch.max_records", "rotate_bytes",
                "compress"):
        assert re.search(r"^  %s " % re.escape(key), p.stdout, re.M), key


def test_missing_config_file(workdir):
    path = os.path.join(workdir, "nope.yaml")
    p = run_logcap(["--config", path])
    assert p.returncode == 2, "exit %d, stderr:\n%s" % (p.returncode, p.stderr)
    assert re.search(r"^config error: %s: " % re.escape(path), p.stderr, re.M), p.stderr


def test_check_config_valid(workdir):
    lc = h.Logcap(workdir, "lct-000000-")
    p = run_logcap(["--check-config", "--config", lc.config_path])
    assert p.returncode == 0, "exit %d, stderr:\n%s" % (p.returncode, p.stderr)
    assert not os.path.exists(lc.data_dir), "--check-config created data_dir"
    assert not os.path.exists(lc.logs_dir), "--check-config created the output directory"


def test_version():
    p = run_logcap(["--version"])
    assert p.returncode == 0, p.stderr
    assert re.search(r"\d+\.\d+\.\d+", p.stdout), p.stdout


def test_help():
    p = run_logcap(["--help"])
    assert p.returncode == 0, p.stderr
    assert "--config" in p.stdout and "--check-config" in p.stdout, p.stdout


@pytest.mark.parametrize("args", [["--bogus"], ["--config"], ["extra-argument"]])
def test_bad_arguments(args):
    p = run_logcap(args)
    assert p.returncode == 2, "exit %d for %s, stderr:\n%s" % (p.returncode, args, p.stderr)
    assert p.stderr.strip(), "no message on stderr"
