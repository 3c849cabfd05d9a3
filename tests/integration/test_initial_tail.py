"""(p) Where reading starts: containers started while logcap runs are read from their
first line; docker.initial_tail applies only to containers present at logcap's very
first start (no positions in data_dir yet); later ones are read in full."""

import lchelpers as h

PRE = 'seq 1 20 | sed s/^/%s-/'


def test_initial_tail_n(containers, logcap):
    exited = containers.run("pre", PRE % "pre")
    running = containers.run("prerun", 'trap "exit 0" TERM; seq 1 20 | sed s/^/run-/; '
                             'while true; do sleep 0.1; done')
    containers.wait_exited(exited)
    h.wait_for(lambda: len(containers.logs(running)) == 20, 30, "20 lines of %s" % running)

    lc = logcap({"docker": {"initial_tail": 5}}).start()
    # Once these are in, logcap has made its first list of containers: a container started
    # now is new to it.
    lc.wait_messages(exited, 5)
    lc.wait_messages(running, 5)
    during = containers.run("during", PRE % "during")
    lc.wait_messages(during, 20)
    lc.stop()
    assert h.messages(lc.records(during, complete=True)) == \
        ["during-%d" % i for i in range(1, 21)]
    assert h.messages(lc.records(exited, complete=True)) == \
        ["pre-%d" % i for i in range(16, 21)]
    assert h.messages(lc.records(running, complete=True)) == \
        ["run-%d" % i for i in range(16, 21)]

    # Created while logcap was stopped, after its first start: read in full; the others
    # are not read again.
    later = containers.run("later", PRE % "later")
    containers.wait_exited(later)
    lc.start()
    lc.wait_messages(later, 20)
    after = containers.run("after", PRE % "after")
    lc.wait_messages(after, 20)
    lc.stop()
    assert h.messages(lc.records(later, complete=True)) == \
        ["later-%d" % i for i in range(1, 21)]
    assert h.messages(lc.records(exited, complete=True)) == \
        ["pre-%d" % i for i in range(16, 21)]
    assert h.messages(lc.records(running, complete=True)) == \
        ["run-%d" % i for i in range(16, 21)]
    assert h.messages(lc.records(during, complete=True)) == \
        ["during-%d" % i for i in range(1, 21)]


def test_initial_tail_all(containers, logcap):
    exited = containers.run("pre", PRE % "pre")
    containers.wait_exited(exited)
    lc = logcap({"docker": {"initial_tail": "all"}}).start()
    lc.wait_messages(exited, 20)
    during = containers.run("during", PRE % "during")
    lc.wait_messages(during, 20)
    lc.stop()
    assert h.messages(lc.records(exited, complete=True)) == \
        ["pre-%d" % i for i in range(1, 21)]
    assert h.messages(lc.records(during, complete=True)) == \
        ["during-%d" % i for i in range(1, 21)]


def test_initial_tail_zero(containers, logcap):
    """initial_tail 0: nothing of what a container printed before logcap's first start;
    what it prints afterwards, and new containers, in full."""
    running = containers.run("prerun", 'trap "exit 0" TERM; seq 1 20 | sed s/^/run-/; '
                             'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.1; done')
    h.wait_for(lambda: len(containers.logs(running)) >= 21, 30, "20 lines of %s" % running)
    lc = logcap({"docker": {"initial_tail": 0}}).start()
    lc.wait_messages(running, 1)
    during = containers.run("during", PRE % "during")
    lc.wait_messages(during, 20)
    containers.stop(running)
    lines = lc.wait_caught_up(containers, running)
    lc.stop()
    assert h.messages(lc.records(during, complete=True)) == \
        ["during-%d" % i for i in range(1, 21)]
    msgs = h.messages(lc.records(running, complete=True))
    assert msgs and all(m.startswith("tick ") for m in msgs), msgs[:5]
    ticks = [int(m.split()[1]) for m in msgs]
    # A contiguous run of ticks up to the last one docker holds.
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), ticks
    assert "tick %d" % ticks[-1] == lines[-1][2]
