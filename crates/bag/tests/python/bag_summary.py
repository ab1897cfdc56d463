"""Summarise a bag with Debian's python `rosbag`, as JSON on stdout (peer for sensorium-bag's tests).

usage: bag_summary.py BAG [--reindex]

Prints {"messages": N, "start_ns", "end_ns" (min/max record time), "connections": [...],
"records": [[topic, time_ns, md5(payload)], ...] in python's read order, "lz4_fallbacks": chunks that roslz4
could not decode and the reference `lz4` tool did}.
With --reindex the bag is first copied and rebuilt like `rosbag reindex` (for bags without an index).
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile

import subprocess

import rosbag
import rosbag.bag

_ROSLZ4_DECOMPRESS = rosbag.bag.roslz4.decompress
LZ4_FALLBACKS = 0


def _decompress_lz4(data):
    """roslz4 only decodes independent-block frames; frames with linked blocks (python-lz4's default, used by
    some bag writers) go to the reference `lz4` tool instead."""
    global LZ4_FALLBACKS
    try:
        return _ROSLZ4_DECOMPRESS(data)
    except OSError:
        LZ4_FALLBACKS += 1
        return subprocess.run(["lz4", "-d", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout


rosbag.bag.roslz4.decompress = _decompress_lz4


def main():
    path = sys.argv[1]
    reindex = "--reindex" in sys.argv[2:]
    tmpdir = None
    if reindex:
        tmpdir = tempfile.mkdtemp()
        copy = os.path.join(tmpdir, "copy.bag")
        shutil.copyfile(path, copy)
        os.chmod(copy, 0o644)
        with rosbag.Bag(copy, "a", allow_unindexed=True) as b:
            for _ in b.reindex():
                pass
        path = copy
    try:
        with rosbag.Bag(path, "r") as b:
            records = []
            for topic, raw, t in b.read_messages(raw=True):
                records.append([topic, t.to_nsec(), hashlib.md5(raw[1]).hexdigest()])
            conns = [
                {"id": c.id, "topic": c.topic, "datatype": c.datatype, "md5sum": c.md5sum}
                for c in b._connections.values()
            ]
            times = [r[1] for r in records]
            out = {
                "messages": b.get_message_count(),
                "start_ns": min(times) if times else None,
                "end_ns": max(times) if times else None,
                "connections": conns,
                "records": records,
                "lz4_fallbacks": LZ4_FALLBACKS,
            }
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
