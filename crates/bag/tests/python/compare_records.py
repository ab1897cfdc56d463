"""Compares a ROS1 bag and an MCAP file of the same messages (what `sensorium replay --record` or
`sensorium sim` wrote in either format):
every message decoded by `rosbags` from both (the bag with its ROS1 definitions, the MCAP with the ROS 2
schemas it carries) and, for the MCAP, also by `mcap-ros2-support`; values must be equal field by field
(a ROS1 header's `seq` aside, which ROS 2 does not have, and the fields ROS 2 added, which must be empty). The two recordings come from two replays of the
same drive, so the fields that time them (`stage_ms`, `end_to_end_ms`, and `timing` in the scene JSON)
are left out. Prints {topic: messages compared} as JSON.

    python compare_records.py RUN.bag RUN.mcap
"""

import dataclasses
import json
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from mcap_ros2.reader import read_ros2_messages
from rosbags.highlevel import AnyReader


def plain(v):
    """A decoded message as plain Python values (rosbags dataclasses, numpy arrays, mcap_ros2 objects)."""
    if isinstance(v, np.ndarray):
        # byte arrays (images, clouds) compared as bytes: one comparison, not millions
        return v.tobytes() if v.dtype == np.uint8 else v.tolist()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, float):
        return v
    if dataclasses.is_dataclass(v):
        # rosbags' messages: the constants are class variables among the fields
        return {
            f.name: plain(getattr(v, f.name))
            for f in dataclasses.fields(v)
            if f.name != "__msgtype__" and "ClassVar" not in str(f.type)
        }
    if isinstance(v, SimpleNamespace):
        # mcap_ros2's messages keep their fields (and constants) in slots
        return {k: plain(getattr(v, k)) for k in v.__slots__ if not k.startswith("_") and not k.isupper()}
    return v


def norm_stamp(d):
    """ROS1 time {sec, nsec} and ROS 2 Time {sec, nanosec} alike; drop a header's seq; lower-case names."""
    if isinstance(d, dict):
        # ROS 2 field names are lower case (CameraInfo's D, K, R, P are d, k, r, p)
        d = {k.lower(): norm_stamp(v) for k, v in d.items() if k != "seq"}
        if set(d) == {"sec", "nsec"}:
            d = {"sec": d["sec"], "nanosec": d["nsec"]}
        return d
    if isinstance(d, list):
        return [norm_stamp(x) for x in d]
    return d


# fields ROS 2 added to a ROS1 message (visualization_msgs/Marker's texture, UV and mesh): the ROS 2 form
# carries them empty
ROS2_ONLY = {"texture_resource", "texture", "uv_coordinates", "mesh_file"}


def empty(v):
    if isinstance(v, dict):
        return all(empty(x) for x in v.values())
    return v in ("", 0, 0.0, b"", [], None)


def drop_ros2_only(x, y, path):
    """`y` without the ROS 2-only fields that `x` lacks, once they are checked empty."""
    extra = set(y) - set(x)
    if not extra or not extra <= ROS2_ONLY:
        return y, None
    bad = sorted(k for k in extra if not empty(y[k]))
    if bad:
        return y, f"{path}: ROS 2 fields {bad} are not empty"
    return {k: v for k, v in y.items() if k not in extra}, None


def same(a, b, path="msg"):
    if isinstance(a, dict) and isinstance(b, dict):
        b, err = drop_ros2_only(a, b, path)
        a, err2 = drop_ros2_only(b, a, path)
        if err or err2:
            return err or err2
        if set(a) != set(b):
            return f"{path}: fields {sorted(set(a) ^ set(b))}"
        for k in a:
            r = same(a[k], b[k], f"{path}.{k}")
            if r:
                return r
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} elements"
        for i, (x, y) in enumerate(zip(a, b)):
            r = same(x, y, f"{path}[{i}]")
            if r:
                return r
        return None
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


TIMED = {"stage_ms", "end_to_end_ms", "timing"}


def untimed(topic, d):
    if topic == "/sensorium/scene_json":
        d = dict(d, data={k: v for k, v in json.loads(d["data"]).items() if k not in TIMED})
    elif topic == "/sensorium/scene":
        d = {k: v for k, v in d.items() if k not in TIMED}
    return d


def read(path):
    out = {}
    with AnyReader([Path(path)]) as r:
        for conn, _, raw in r.messages():
            d = norm_stamp(plain(r.deserialize(raw, conn.msgtype)))
            out.setdefault(conn.topic, []).append(untimed(conn.topic, d))
    return out


ros1, ros2 = read(sys.argv[1]), read(sys.argv[2])
other = {}
with open(sys.argv[2], "rb") as f:
    for m in read_ros2_messages(f):
        other.setdefault(m.channel.topic, []).append(untimed(m.channel.topic, norm_stamp(plain(m.ros_msg))))
assert set(ros1) == set(ros2) == set(other), (sorted(ros1), sorted(ros2), sorted(other))
counts = {}
for topic in ros1:
    assert len(ros1[topic]) == len(ros2[topic]) == len(other[topic]), topic
    for i, (a, b, c) in enumerate(zip(ros1[topic], ros2[topic], other[topic])):
        for what, x in (("rosbags", b), ("mcap-ros2-support", c)):
            diff = same(a, x)
            if diff:
                sys.exit(f"{topic} message {i} ({what}): {diff}")
    counts[topic] = len(ros1[topic])
print(json.dumps(counts))
