"""Several input instances (issue 9): inputs are addressed by name everywhere, and the
positions of two inputs never collide, even when both follow the same container.

Two Docker inputs on the same dockerd, configured in the `inputs:` list (`docker:` off):
/health, /stats, /tasks and /metrics name each; every line is taken once per input that
follows its container, across a restart of logcap, because each input resumes from its
own positions."""

import collections

import lchelpers as h

# Prints 5 lines that no other run of the same container prints.
UNIQUE_RUN = ('u=$(cat /proc/sys/kernel/random/uuid); '
              'for i in 1 2 3 4 5; do echo "$u $i"; done')


def two_inputs(prefix, a_names, b_names):
    base = {"type": "docker", "socket": h.SOCKET, "initial_tail": "all"}
    return {
        "docker": {"enabled": False},
        "inputs": [dict(base, name="front", include_names=a_names),
                   dict(base, name="back", include_names=b_names)],
    }


def counts(lc, name):
    return collections.Counter(r["message"] for r in lc.records(name))


def test_two_inputs_by_name(prefix, containers, logcap):
    """Each container is followed by the input whose filter matches it, and every API
    answer says which."""
    web = containers.run("web-1", UNIQUE_RUN)
    db = containers.run("db-1", UNIQUE_RUN)
    for n in (web, db):
        containers.wait_exited(n)
    lc = logcap(two_inputs(prefix, [prefix + "web-*"], [prefix + "db-*"])).start()
    api = lc.wait_api()
    lc.wait_messages(web, 5)
    lc.wait_messages(db, 5)
    wid, did = containers.inspect(web)["Id"], containers.inspect(db)["Id"]

    # The snapshot the API reads is at most a second old: wait for one taken after both
    # inputs connected.
    b = lc.wait_for(lambda: (lambda b: b if all(i["connected"] for i in b["inputs"]) else None)(
        api.health()[1]), 10, "both inputs connected in /health")
    assert [(i["name"], i["type"]) for i in b["inputs"]] == \
        [("front", "docker"), ("back", "docker")], b["inputs"]
    assert b["docker"]["enabled"] is True, b["docker"]  # the first Docker input
    tasks = {t["id"]: t for t in b["tasks"]}
    for owner, cid in (("front", wid), ("back", did)):
        tid = "%s/container_%s" % (owner, cid[:12])
        assert tid in tasks and tasks[tid]["owner"] == owner, sorted(tasks)
        assert "%s/docker_events" % owner in tasks, sorted(tasks)

    s = api.stats()
    assert h.container_entry(s, web, wid)["input"] == "front", s["containers"]
    assert h.container_entry(s, db, did)["input"] == "back", s["containers"]
    assert {i["name"]: i["sources"] for i in s["inputs"]} == {"front": 1, "back": 1}, \
        s["inputs"]

    m = api.metrics_text()
    log = lc.stderr_text()
    for owner in ("front", "back"):  # each input's log lines carry its name
        assert "[docker/%s] connected to" % owner in log, log
    assert 'logcap_docker_connected{input="front"} 1' in m, m
    assert 'logcap_docker_connected{input="back"} 1' in m, m
    assert 'logcap_container_lines_total{input="front",container="%s"' % web in m, m
    lc.stop()


def test_two_inputs_on_one_container_keep_their_positions_apart(prefix, containers, logcap):
    """Both inputs follow the same container: each line is taken once by each, and after a
    restart of logcap each resumes from its own position: nothing lost, nothing doubled.
    (With one shared position key, the second input would skip what the first took, or
    take again what it had.)"""
    name = containers.run("both", UNIQUE_RUN)
    containers.wait_exited(name)
    lc = logcap(two_inputs(prefix, [prefix + "*"], [prefix + "*"])).start()
    lc.wait_for(lambda: sum(counts(lc, name).values()) >= 10, 30, "10 records (5 per input)")
    lc.stop()  # delivers everything taken: the count below is final
    first = counts(lc, name)
    assert len(first) == 5 and set(first.values()) == {2}, first

    # Five new lines while logcap is down; then logcap resumes.
    h.docker("start", name)
    containers.wait_exited(name)
    lc.start()
    lc.wait_for(lambda: sum(counts(lc, name).values()) >= 20, 30, "20 records")
    lc.stop()
    got = counts(lc, name)
    assert len(got) == 10 and set(got.values()) == {2}, got
