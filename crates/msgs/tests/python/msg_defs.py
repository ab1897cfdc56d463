#!/usr/bin/python3
"""Print {datatype: {"md5": .., "definition": ..}} as JSON for the message types sensorium-msgs implements.

Peer for the md5/definition test: generated Python classes (genpy `_md5sum`, `_full_text`) where Debian ships
them, else genmsg computing both from the installed .msg files (tf2_msgs), else the connection header of a
real recording (tf/tfMessage, whose package Debian does not ship).
"""
import importlib
import json
import sys

TYPES = [
    "std_msgs/Header", "std_msgs/String", "sensor_msgs/Image", "sensor_msgs/CompressedImage",
    "sensor_msgs/CameraInfo", "sensor_msgs/RegionOfInterest", "sensor_msgs/PointCloud2",
    "sensor_msgs/PointField", "geometry_msgs/TransformStamped", "tf2_msgs/TFMessage", "tf/tfMessage",
    "nav_msgs/OccupancyGrid", "visualization_msgs/Marker", "visualization_msgs/MarkerArray",
    "diagnostic_msgs/DiagnosticArray",
]


def from_genpy(t):
    pkg, name = t.split("/")
    cls = getattr(importlib.import_module(pkg + ".msg"), name)
    return {"md5": cls._md5sum, "definition": cls._full_text, "source": "genpy"}


def from_genmsg(t):
    import genmsg
    import genmsg.gentools
    import genmsg.msg_loader
    import os
    ctx = genmsg.MsgContext.create_default()
    search = {}
    for pkg in ("std_msgs", "geometry_msgs", "sensor_msgs", "tf2_msgs", "nav_msgs", "actionlib_msgs"):
        d = "/usr/share/%s/msg" % pkg
        if os.path.isdir(d):
            search[pkg] = [d]
    spec = genmsg.msg_loader.load_msg_by_type(ctx, t, search)
    genmsg.msg_loader.load_depends(ctx, spec, search)
    md5 = genmsg.gentools.compute_md5(ctx, spec)
    text = genmsg.gentools.compute_full_text(ctx, spec)
    return {"md5": md5, "definition": text, "source": "genmsg"}


def from_genmsg_tf1(t):
    """tf/tfMessage: Debian ships no tf package; its tfMessage.msg is the one line below (ros/geometry,
    tf/msg/tfMessage.msg), so genmsg computes md5 and full text from it and the installed geometry_msgs."""
    import os
    import tempfile
    if t != "tf/tfMessage":
        raise KeyError(t)
    import genmsg
    import genmsg.gentools
    import genmsg.msg_loader
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "tf", "msg"))
        with open(os.path.join(d, "tf", "msg", "tfMessage.msg"), "w") as f:
            f.write("geometry_msgs/TransformStamped[] transforms\n")
        ctx = genmsg.MsgContext.create_default()
        search = {"tf": [os.path.join(d, "tf", "msg")]}
        for pkg in ("std_msgs", "geometry_msgs"):
            search[pkg] = ["/usr/share/%s/msg" % pkg]
        spec = genmsg.msg_loader.load_msg_by_type(ctx, t, search)
        genmsg.msg_loader.load_depends(ctx, spec, search)
        return {"md5": genmsg.gentools.compute_md5(ctx, spec),
                "definition": genmsg.gentools.compute_full_text(ctx, spec), "source": "genmsg(tf)"}


def from_bag(t, bag_path):
    import rosbag
    with rosbag.Bag(bag_path) as bag:
        for c in bag._connections.values():
            if c.datatype == t:
                return {"md5": c.md5sum, "definition": c.msg_def, "source": "bag:" + bag_path}
    raise KeyError(t)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    bag_path = args[0] if args else None
    out = {}
    for t in TYPES:
        for f in (from_genpy, from_genmsg, from_genmsg_tf1):
            try:
                out[t] = f(t)
                break
            except Exception:
                continue
        if t not in out and bag_path:
            try:
                out[t] = from_bag(t, bag_path)
            except Exception:
                pass
    if "--rust" in sys.argv:
        for t, v in out.items():
            ident = t.replace("/", "_").upper()
            print("pub const %s_MD5: &str = \"%s\";" % (ident, v["md5"]))
            assert '"##' not in v["definition"]
            print("pub const %s_DEF: &str = r##\"%s\"##;" % (ident, v["definition"]))
        return
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
