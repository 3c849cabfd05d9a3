"""(m) Rotation and gzip compression of the file output."""

import gzip
import os

import lchelpers as h

ROTATE = 64 * 1024


def test_rotation_and_gzip(containers, logcap):
    """rotate_bytes 64KiB, max_files 3, compress: a container writes ~1 MiB of numbered
    lines; .1.gz .2.gz .3.gz exist and no .4.gz, each gunzips, the kept lines are a
    contiguous tail ending with the last line, no line twice."""
    lc = logcap(output={"rotate_bytes": "64KiB", "max_files": 3, "compress": True}).start()
    n = 10000
    # 100-byte lines: "rot 000001 " + 88 x + newline.
    script = "seq 1 %d | awk '{printf \"rot %%06d %%s\\n\", $1, \"%s\"}'" % (n, "x" * 88)
    name = containers.run("rot", script)
    containers.wait_exited(name)
    last = "rot %06d %s" % (n, "x" * 88)
    lc.wait_for(lambda: last in h.messages(lc.records(name)), 60, "the last line of %s" % name)
    lc.stop()

    rotated = h.rotated_files(lc.logs_dir, name)
    got_names = sorted(os.path.basename(p) for _, p in rotated)
    assert got_names == sorted("%s.log.%d.gz" % (name, i) for i in (1, 2, 3)), got_names
    assert not os.path.exists(os.path.join(lc.logs_dir, name + ".log.4.gz"))
    for _, path in rotated:
        with gzip.open(path, "rb") as f:
            data = f.read()
        assert data.endswith(b"\n"), path
        assert 0 < len(data) <= ROTATE, "%s holds %d bytes uncompressed (rotate_bytes %d)" % (
            path, len(data), ROTATE)
        # It was compressed, not just renamed.
        assert os.path.getsize(path) < len(data), path
    current = os.path.join(lc.logs_dir, name + ".log")
    assert os.path.getsize(current) <= ROTATE

    recs = lc.records(name, complete=True)
    nums = [int(m.split()[1]) for m in h.messages(recs)]
    assert len(nums) == len(set(nums)), "a line appears twice"
    assert nums[-1] == n, "the kept lines do not end with the last line (%d)" % nums[-1]
    assert nums == list(range(nums[0], n + 1)), "the kept lines are not a contiguous tail"
    # 3 rotated files of about 64 KiB each plus the current file.
    assert len(nums) > 3 * ROTATE // 400, "only %d lines kept" % len(nums)
    for r in recs:
        assert r["message"].endswith("x" * 88) and r["stream"] == "stdout"
