"""(h) Include and exclude filters, by name glob and by label (a value, or "*" for any
value): logcap writes exactly the expected containers' files and no others.

Every case also keeps include_names [<prefix>*] (or narrower), which is what isolates the
test from others; label filters are combined with it (a container must pass all
filters)."""

import pytest

import lchelpers as h

# Containers present before logcap starts: suffix -> labels.
FLEET = {
    "web-1": {"app": "web", "tier": "front"},
    "web-2": {"app": "web", "debug": "yes"},
    "db-1": {"app": "db", "debug": "no"},
    "cache-1": {},
}

# case id -> (docker config given the prefix P, suffixes expected, sentinel labels)
CASES = {
    "name-glob-and-exclude": (
        lambda p: {"include_names": [p + "web-*", p + "sentinel"],
                   "exclude_names": [p + "web-2"]},
        {"web-1"}, {}),
    "name-exclude-glob": (
        lambda p: {"include_names": [p + "*"], "exclude_names": [p + "*-1"]},
        {"web-2"}, {}),
    "label-value": (
        lambda p: {"include_names": [p + "*"], "include_labels": {"app": "web"}},
        {"web-1", "web-2"}, {"app": "web"}),
    "label-any-value": (
        lambda p: {"include_names": [p + "*"], "include_labels": {"debug": "*"}},
        {"web-2", "db-1"}, {"debug": "sure"}),
    "exclude-label-value": (
        lambda p: {"include_names": [p + "*"], "exclude_labels": {"app": "db"}},
        {"web-1", "web-2", "cache-1"}, {}),
    "exclude-label-any-value": (
        lambda p: {"include_names": [p + "*"], "exclude_labels": {"debug": "*"}},
        {"web-1", "cache-1"}, {}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_filters(case, prefix, containers, logcap):
    make_docker_cfg, expected, sentinel_labels = CASES[case]
    names = {}
    for suffix, labels in FLEET.items():
        names[suffix] = containers.run(suffix, 'echo "%s line"' % suffix, labels=labels)
    for name in names.values():
        containers.wait_exited(name)
    lc = logcap({"docker": make_docker_cfg(prefix)}).start()
    for suffix in expected:
        lc.wait_messages(names[suffix], 1)
    # A container started after logcap read the existing ones: once its line is in,
    # logcap has looked at every container of the fleet.
    sentinel = containers.run("sentinel", "echo sentinel line", labels=sentinel_labels)
    lc.wait_messages(sentinel, 1)
    lc.stop()
    want = {names[s] for s in expected} | {sentinel}
    assert lc.files() == want, "files: %s, expected %s" % (sorted(lc.files()), sorted(want))
    for suffix in expected:
        assert h.messages(lc.records(names[suffix], complete=True)) == ["%s line" % suffix]


def test_rename_into_and_out_of_the_filter(prefix, containers, logcap):
    """A container renamed into include_names is captured from then on, from its first
    line (like any container logcap meets while running); one renamed out of it is no
    longer captured."""
    lc = logcap({"docker": {"include_names": [prefix + "in-*"]}}).start()
    api = lc.wait_api()
    lc.wait_task("docker_events", lambda t: t["state"] == "running", 20, "the event stream")
    out = containers.run("out-1", h.counter_script(interval="0.05"))
    leaving = containers.run("in-2", h.counter_script(interval="0.05"))
    # Started after the others: once its line is in, logcap has handled their starts.
    sentinel = containers.run("in-sentinel", "echo sentinel")
    lc.wait_messages(sentinel, 1)
    lc.wait_messages(leaving, 5)
    assert out not in lc.files()

    new = prefix + "in-1"
    h.docker("rename", out, new)
    lc.wait_messages(new, 5)
    h.docker("rename", leaving, prefix + "out-2")
    task = "container_" + containers.inspect(prefix + "out-2")["Id"][:12]
    lc.wait_for(lambda: task not in api.tasks(), 15, "the capture of the renamed-out container to end")
    containers.stop(new, prefix + "out-2")
    lines = lc.wait_caught_up(containers, new)
    lc.stop()
    recs = lc.records(new, complete=True)
    h.check_exactly_once([(r["stream"], r["message"]) for r in recs],
                         [(s, m) for _, s, m in lines], new)
    assert lc.files() == {new, leaving, sentinel}, sorted(lc.files())
    kept = set(h.messages(lc.records(leaving, complete=True)))
    assert kept <= {m for _, _, m in containers.logs(prefix + "out-2")}
