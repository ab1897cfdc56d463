#!/usr/bin/python3
"""ROS peer for the sensorium-ros tests (Debian's genmsg/genpy/rospy).

  ros_peer.py md5 MSG_DIR                 -> JSON {md5, text, full_text} of sensorium_msgs/Scene (genmsg)
  ros_peer.py genpy MSG_DIR OUT_DIR       -> generates the Python class sensorium_msgs.msg.Scene under OUT_DIR
  ros_peer.py decode FILE                 -> JSON of a Scene body deserialized by the genpy class
  ros_peer.py play BAG LOOPS OFF_LOOP      -> publishes BAG LOOPS times with rospy, camera silent in loop OFF_LOOP
  ros_peer.py flood BAG SECONDS FACTOR BYTES -> publishes BAG FACTOR x faster for SECONDS, one BYTES-sized
                                            camera message at half time
  ros_peer.py listen SECONDS NODE [KILL_AT] -> subscribes to NODE/scene (generated class), NODE/occupancy,
                                            NODE/markers, NODE/painted_points and /diagnostics; prints a
                                            JSON summary per phase
"""
import json
import sys
import time

SEARCH_STD = {
    "std_msgs": ["/usr/share/std_msgs/msg"],
    "geometry_msgs": ["/usr/share/geometry_msgs/msg"],
}


def md5(msg_dir):
    import genmsg
    import genmsg.gentools as gt
    import genmsg.msg_loader as ml

    ctx = genmsg.MsgContext.create_default()
    search = dict(SEARCH_STD, sensorium_msgs=[msg_dir])
    spec = ml.load_msg_by_type(ctx, "sensorium_msgs/Scene", search)
    ml.load_depends(ctx, spec, search)
    print(json.dumps({
        "md5": gt.compute_md5(ctx, spec),
        "text": gt.compute_md5_text(ctx, spec),
        "full_text": gt.compute_full_text(ctx, spec),
    }))


def gen(msg_dir, out_dir):
    import os
    from genpy.generator import MsgGenerator

    search = dict(SEARCH_STD, sensorium_msgs=[msg_dir])
    out = os.path.join(out_dir, "sensorium_msgs", "msg")
    os.makedirs(out, exist_ok=True)
    rc = MsgGenerator().generate_messages("sensorium_msgs", [os.path.join(msg_dir, "Scene.msg")], out, search)
    if rc:
        sys.exit(rc)
    with open(os.path.join(out, "__init__.py"), "w") as f:
        f.write("from ._Scene import *\n")
    with open(os.path.join(out_dir, "sensorium_msgs", "__init__.py"), "w") as f:
        f.write("")


def listen(seconds, node, kill_at=None):
    """Phases split at KILL_AT seconds after the first scene (the test stops the camera then)."""
    import rospy
    from diagnostic_msgs.msg import DiagnosticArray
    from nav_msgs.msg import OccupancyGrid
    from sensor_msgs.msg import PointCloud2
    from sensorium_msgs.msg import Scene
    from visualization_msgs.msg import MarkerArray

    rospy.init_node("sensorium_test_listener", anonymous=True, disable_signals=True)
    scenes, grids, diags, markers, painted = [], [], [], [], []

    def on_scene(m):
        scenes.append({
            "t": time.time(),
            "mask": m.modality_mask,
            "stamp": m.header.stamp.to_sec(),
            "frame_id": m.header.frame_id,
            "camera_stamp": m.camera_stamp.to_sec(),
            "lidar_stamp": m.lidar_stamp.to_sec(),
            "embedding_norm": sum(x * x for x in m.embedding) ** 0.5,
            "embedding_len": len(m.embedding),
            "cells": len(m.occupancy),
            "width": m.width,
            "height": m.height,
            "classes": len(m.classes),
            "occ_min": min(m.occupancy) if m.occupancy else None,
            "occ_max": max(m.occupancy) if m.occupancy else None,
            "stages": list(m.stage_names),
            "stage_ms": len(m.stage_ms),
            "queries": list(m.query_texts),
            "objects": list(m.object_classes),
            "object_arrays_agree": len(m.object_scores) == len(m.object_classes) == len(m.object_points)
            and len(m.object_boxes) == 7 * len(m.object_classes),
            "features": len(m.features),
            "end_to_end_ms": m.end_to_end_ms,
        })

    def on_grid(m):
        grids.append({
            "t": time.time(),
            "width": m.info.width,
            "height": m.info.height,
            "resolution": m.info.resolution,
            "n": len(m.data),
            "min": min(m.data) if m.data else None,
            "max": max(m.data) if m.data else None,
        })

    def on_markers(m):
        markers.append({
            "t": time.time(),
            "frame_ids": sorted({k.header.frame_id for k in m.markers}),
            "namespaces": sorted({k.ns for k in m.markers}),
            "status": [k.text for k in m.markers if k.ns == "sensorium/status"],
            "queries": [k.text for k in m.markers if k.ns == "sensorium/queries" and k.action == 0],
            "extent_points": [len(k.points) for k in m.markers if k.ns == "sensorium/extent"],
            "objects": [k.text for k in m.markers if k.ns == "sensorium/object_labels" and k.action == 0],
            "object_boxes": sum(1 for k in m.markers if k.ns == "sensorium/objects" and k.action == 0 and k.type == 1),
        })

    def on_painted(m):
        import numpy as np

        names = [f.name for f in m.fields]
        floats = all(f.datatype == 7 and f.count == 1 for f in m.fields)  # FLOAT32
        row = {"t": time.time(), "frame_id": m.header.frame_id, "n": m.width * m.height, "fields": names,
               "floats": floats, "point_step": m.point_step}
        if floats and m.width and m.point_step == 4 * len(names):
            a = np.frombuffer(m.data, dtype="<f4").reshape(-1, len(names))
            col = {n: a[:, k] for k, n in enumerate(names)}
            seen = col["seen"] > 0.5
            row["seen"] = int(seen.sum())
            row["flag_values"] = sorted({float(v) for v in np.unique(col["seen"])})
            # painted features are nonzero only where the point is seen
            feats = a[:, names.index("f0"):] if "f0" in names else a[:, :0]
            row["unseen_feature_max"] = float(np.abs(feats[~seen]).max()) if (~seen).any() and feats.size else 0.0
            row["seen_feature_mean_abs"] = float(np.abs(feats[seen]).mean()) if seen.any() and feats.size else 0.0
            row["finite"] = bool(np.isfinite(a).all())
        painted.append(row)

    def on_diag(m):
        for s in m.status:
            if s.name.startswith("sensorium"):
                diags.append({
                    "t": time.time(),
                    "name": s.name,
                    "level": ord(s.level) if isinstance(s.level, bytes) else int(s.level),
                    "message": s.message,
                    "values": {kv.key: kv.value for kv in s.values},
                })

    rospy.Subscriber(node + "/scene", Scene, on_scene, queue_size=100)
    rospy.Subscriber(node + "/occupancy", OccupancyGrid, on_grid, queue_size=100)
    rospy.Subscriber(node + "/markers", MarkerArray, on_markers, queue_size=100)
    import os

    if os.environ.get("SENSORIUM_LISTEN_PAINTED", "1") != "0":
        rospy.Subscriber(node + "/painted_points", PointCloud2, on_painted, queue_size=100)
    rospy.Subscriber("/diagnostics", DiagnosticArray, on_diag, queue_size=100)
    print(json.dumps({"ready": True}), flush=True)
    end = time.time() + seconds
    while time.time() < end and not rospy.is_shutdown():
        time.sleep(0.05)
    print(json.dumps({"scenes": scenes, "grids": grids, "diagnostics": diags, "markers": markers,
                      "painted": painted}), flush=True)
    import os

    os._exit(0)  # the summary is out; skip rospy's shutdown (the test may interrupt it)


def play(bag_path, loops, off_loop):
    """Publishes the recording LOOPS times back to back (stamps shifted so time runs on), paced on the
    bag clock, like a live vehicle. During loop OFF_LOOP the camera publishers send nothing (the camera
    "dies") and come back afterwards. Prints JSON events with wall times."""
    import rosbag
    import rospy

    rospy.init_node("sensorium_test_player", anonymous=True, disable_signals=True)
    bag = rosbag.Bag(bag_path)
    msgs = list(bag.read_messages())
    bag.close()
    if not msgs:
        sys.exit("empty recording")
    t_first = msgs[0][2].to_sec()
    t_last = msgs[-1][2].to_sec()
    span = (t_last - t_first) + 0.1
    orig = [m.header.stamp if hasattr(m, "header") else None for _, m, _ in msgs]
    pubs = {}
    for topic, msg, _ in msgs:
        if topic not in pubs:
            pubs[topic] = rospy.Publisher(topic, type(msg), queue_size=50, latch=(topic == "/tf_static"))
    time.sleep(1.5)  # let subscribers connect
    camera_topics = {"/camera/image_raw", "/camera/image_raw/compressed", "/camera/camera_info"}
    wall0 = time.time()
    for loop in range(loops):
        shift = rospy.Duration.from_sec(loop * span)
        if loop == off_loop:
            print(json.dumps({"event": "camera_off", "t": time.time()}), flush=True)
        if loop == off_loop + 1:
            print(json.dumps({"event": "camera_on", "t": time.time()}), flush=True)
        for (topic, msg, t), stamp in zip(msgs, orig):
            if topic == "/tf_static" and loop > 0:
                continue
            if loop == off_loop and topic in camera_topics:
                continue
            due = wall0 + loop * span + (t.to_sec() - t_first)
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            if stamp is not None:
                msg.header.stamp = stamp + shift
            pubs[topic].publish(msg)
    print(json.dumps({"event": "done", "t": time.time()}), flush=True)
    time.sleep(0.5)
    rospy.signal_shutdown("done")


def flood(bag_path, seconds, factor, oversize_bytes):
    """Publishes the recording FACTOR times faster than recorded, looping, for SECONDS (stamps shifted so
    time runs on). At half time one CompressedImage of OVERSIZE_BYTES goes out on the camera topic, on the
    same connection as the others. Prints JSON events with wall times and counts."""
    import rosbag
    import rospy
    from sensor_msgs.msg import CompressedImage

    rospy.init_node("sensorium_test_flooder", anonymous=True, disable_signals=True)
    bag = rosbag.Bag(bag_path)
    msgs = list(bag.read_messages())
    bag.close()
    t_first = msgs[0][2].to_sec()
    span = (msgs[-1][2].to_sec() - t_first) + 0.1
    orig = [m.header.stamp if hasattr(m, "header") else None for _, m, _ in msgs]
    pubs = {}
    for topic, msg, _ in msgs:
        if topic not in pubs:
            pubs[topic] = rospy.Publisher(topic, type(msg), queue_size=1000, latch=(topic == "/tf_static"))
    time.sleep(1.5)  # let the node connect
    camera = "/camera/image_raw/compressed"
    sent = {}
    wall0 = time.time()
    print(json.dumps({"event": "start", "t": wall0}), flush=True)
    oversized_sent = False
    loop = 0
    while time.time() - wall0 < seconds:
        shift = rospy.Duration.from_sec(loop * span)
        for (topic, msg, t), stamp in zip(msgs, orig):
            if topic == "/tf_static" and loop > 0:
                continue
            due = wall0 + (loop * span + (t.to_sec() - t_first)) / factor
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            if time.time() - wall0 >= seconds:
                break
            if stamp is not None:
                msg.header.stamp = stamp + shift
            pubs[topic].publish(msg)
            sent[topic] = sent.get(topic, 0) + 1
            if not oversized_sent and topic == camera and time.time() - wall0 >= seconds / 2:
                big = CompressedImage()
                big.header = msg.header
                big.format = "jpeg"
                big.data = bytes(oversize_bytes)
                pubs[camera].publish(big)
                oversized_sent = True
                print(json.dumps({"event": "oversized", "t": time.time(), "bytes": oversize_bytes}), flush=True)
        loop += 1
    print(json.dumps({"event": "done", "t": time.time(), "sent": sent}), flush=True)
    time.sleep(0.5)
    rospy.signal_shutdown("done")


def decode(path):
    """Deserializes a sensorium_msgs/Scene body with the genpy class (PYTHONPATH must hold it)."""
    from sensorium_msgs.msg import Scene

    m = Scene()
    with open(path, "rb") as f:
        m.deserialize(f.read())
    print(json.dumps({
        "seq": m.header.seq,
        "stamp": [m.header.stamp.secs, m.header.stamp.nsecs],
        "frame_id": m.header.frame_id,
        "mask": m.modality_mask,
        "camera_stamp": [m.camera_stamp.secs, m.camera_stamp.nsecs],
        "lidar_stamp": [m.lidar_stamp.secs, m.lidar_stamp.nsecs],
        "map_text_stamp": [m.map_text_stamp.secs, m.map_text_stamp.nsecs],
        "embedding": list(m.embedding),
        "resolution": m.resolution,
        "width": m.width,
        "height": m.height,
        "origin": [m.origin.position.x, m.origin.position.y, m.origin.position.z,
                   m.origin.orientation.x, m.origin.orientation.y, m.origin.orientation.z, m.origin.orientation.w],
        "channels": m.channels,
        "features": list(m.features),
        "occupancy": list(m.occupancy),
        "classes": list(bytearray(m.classes)),
        "map_text": list(bytearray(m.map_text)),
        "query_texts": list(m.query_texts),
        "query_scores": list(m.query_scores),
        "query_maps": list(m.query_maps),
        "object_classes": list(m.object_classes),
        "object_scores": list(m.object_scores),
        "object_boxes": list(m.object_boxes),
        "object_points": list(m.object_points),
        "stage_names": list(m.stage_names),
        "stage_ms": list(m.stage_ms),
        "end_to_end_ms": m.end_to_end_ms,
    }))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "md5":
        md5(sys.argv[2])
    elif cmd == "genpy":
        gen(sys.argv[2], sys.argv[3])
    elif cmd == "decode":
        decode(sys.argv[2])
    elif cmd == "play":
        play(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "flood":
        flood(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "listen":
        listen(float(sys.argv[2]), sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)
