"""(m) Rotation and gzip compression of the file output."""

import gzip
import os

import lchelpers as h

ROTATE = 64 * 1024
N = 10000
PAD = "x" * 88


def rotate_scenario(containers, logcap):
    """rotate_bytes 64KiB, max_files 3, compress: a container writes ~1 MiB of numbered
    100-byte lines ("rot 000001 " + 88 x); returns (logcap, container name) once logcap
    has written the last line and stopped."""
    lc = logcap(output={"rotate_bytes": "64KiB", "max_files": 3, "compress": True}).start()
    script = "seq 1 %d | awk '{printf \"rot %%06d %%s\\n\", $1, \"%s\"}'" % (N, PAD)
    name = containers.run("rot", script)
    containers.wait_exited(name)
    last = "rot %06d %s" % (N, PAD)
    lc.wait_for(lambda: last in h.messages(lc.records(name)), 60, "the last line of %s" % name)
    lc.stop()
    return lc, name


def test_rotation_and_gzip(containers, logcap):
    """.1.gz .2.gz .3.gz exist and no .4.gz, each gunzips, the kept lines are a contiguous
    tail ending with the last line, no line twice."""
    lc, name = rotate_scenario(containers, logcap)
    rotated = h.rotated_files(lc.logs_dir, name)
    got_names = sorted(os.path.basename(p) for _, p in rotated)
    assert got_names == sorted("%s.log.%d.gz" % (name, i) for i in (1, 2, 3)), got_names
    assert not os.path.exists(os.path.join(lc.logs_dir, name + ".log.4.gz"))
    for _, path in rotated:
        with gzip.open(path, "rb") as f:
            data = f.read()
        assert data.endswith(b"\n"), path
        # Rotated near the limit (the exact bound is checked by the next test).
        assert ROTATE // 2 <= len(data) <= 2 * ROTATE, \
            "%s holds %d bytes uncompressed (rotate_bytes %d)" % (path, len(data), ROTATE)
        # It was compressed, not just renamed.
        assert os.path.getsize(path) < len(data), path

    recs = lc.records(name, complete=True)
    nums = [int(m.split()[1]) for m in h.messages(recs)]
    assert len(nums) == len(set(nums)), "a line appears twice"
    assert nums[-1] == N, "the kept lines do not end with the last line (%d)" % nums[-1]
    assert nums == list(range(nums[0], N + 1)), "the kept lines are not a contiguous tail"
    # 3 rotated files of about 64 KiB each plus the current file.
    assert len(nums) > 3 * ROTATE // 400, "only %d lines kept" % len(nums)
    for r in recs:
        assert r["message"].endswith(PAD) and r["stream"] == "stdout"


def test_rotated_files_stay_within_rotate_bytes(containers, logcap):
    """outputs/file/file.h: "When a file would pass rotate_bytes it is renamed": no file, current
    or rotated, holds more than rotate_bytes (uncompressed)."""
    lc, name = rotate_scenario(containers, logcap)
    sizes = {}
    for _, path in h.rotated_files(lc.logs_dir, name):
        with gzip.open(path, "rb") as f:
            sizes[os.path.basename(path)] = len(f.read())
    sizes[name + ".log"] = os.path.getsize(os.path.join(lc.logs_dir, name + ".log"))
    over = {k: v for k, v in sizes.items() if v > ROTATE}
    assert not over, "files over rotate_bytes (%d): %s" % (ROTATE, over)
