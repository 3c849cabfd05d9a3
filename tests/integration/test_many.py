"""(f) Many short-lived containers started at once."""

import lchelpers as h


def test_hundred_short_lived_containers(containers, logcap):
    """100 containers that each print 10 lines and exit at once, started 8 at a time:
    all 1,000 lines captured exactly once."""
    lc = logcap().start()
    n_containers, n_lines = 100, 10
    specs = [("s%03d" % k, 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "s%03d line $i"; done' % k)
             for k in range(n_containers)]
    names = containers.run_many(specs, workers=8)
    assert len(names) == n_containers
    state = {"have": 0, "short": {}}

    def all_in():
        total, short = 0, {}
        for name in names:
            k = len(lc.records(name))
            total += k
            if k < n_lines:
                short[name] = k
        state["have"], state["short"] = total, short
        return not short
    lc.wait_for(all_in, 90, "%d lines from %d containers" % (n_containers * n_lines,
                                                              n_containers),
                detail=lambda: "have %d lines; %d containers short (name: lines in logcap's "
                "output / in docker logs): %s" % (
                    state["have"], len(state["short"]),
                    {n: "%d/%d" % (k, len(containers.logs(n)))
                     for n, k in list(state["short"].items())[:10]}))
    lc.stop()
    for k, name in enumerate(names):
        got = [(r["stream"], r["message"]) for r in lc.records(name, complete=True)]
        h.check_exactly_once(got, [("stdout", "s%03d line %d" % (k, i))
                                   for i in range(1, n_lines + 1)], name)
        assert lc.records(name)[0]["container_name"] == name
    assert lc.files() == set(names)
