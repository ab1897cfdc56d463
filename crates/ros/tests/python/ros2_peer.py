"""ROS 2 peers of `sensorium node --ros2`: rclpy (Jazzy, rcl + Fast DDS, from PyPI) and Cyclone DDS (PyPI).

    ros2_peer.py drive BAG [--passes N] [--rate R] [--big-cloud BYTES] [--garbage N] [--painted] [--params NODE]
                           [--wait-node S] [--linger S]

In one process:
- rclpy publishes the ROS 1 recording BAG (converted to CDR by rosbags) at its own rate: images,
  camera_info, clouds and map text, each on its topic with its ROS 2 type (published as serialized bytes);
- Cyclone DDS publishes `/tf_static` (tf2_msgs has no PyPI wheel for rclpy: Cyclone carries it, reliable and
  transient local, with an IDL type generated from the message definition);
- rclpy subscribes to `/sensorium/occupancy` (nav_msgs/OccupancyGrid), `/sensorium/markers`
  (visualization_msgs/MarkerArray) and `/diagnostics` (diagnostic_msgs/DiagnosticArray) with their generated
  Python types;
- Cyclone DDS subscribes to `/sensorium/scene` with `sensorium_msgs/msg/Scene` generated from
  crates/msgs/sensorium_msgs/msg/Scene.msg (types from the ROS 2 typestore of rosbags).

`--big-cloud BYTES`: after the passes, 20 PointCloud2 messages of at least BYTES at 10 Hz, each the bag's
first cloud tiled and stamped on from the recording's end (with camera frames beside them), so every frame
set carries a large cloud.

Prints one JSON object: what was published, the scenes (stamp, mask, classes, objects, the grid size),
the occupancy grids, the markers, the diagnostics seen, and per-input the number of rclpy subscribers
the node had matched.
"""

import argparse
import json
import os
import sys
import threading
import time
import types as pytypes
from dataclasses import dataclass

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosbags.rosbag1 import Reader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

import cyclonedds.idl as idl
import cyclonedds.idl.annotations as annotate
import cyclonedds.idl.types as T
from cyclonedds.core import Policy, Qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2
from std_msgs.msg import String
from nav_msgs.msg import OccupancyGrid
from visualization_msgs.msg import MarkerArray
from diagnostic_msgs.msg import DiagnosticArray

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
SCENE_MSG = os.path.join(REPO, "crates", "msgs", "sensorium_msgs", "msg", "Scene.msg")

RCLPY_TYPES = {
    "sensor_msgs/msg/Image": Image,
    "sensor_msgs/msg/CompressedImage": CompressedImage,
    "sensor_msgs/msg/CameraInfo": CameraInfo,
    "sensor_msgs/msg/PointCloud2": PointCloud2,
    "std_msgs/msg/String": String,
}

BASE = {
    "bool": bool, "byte": T.uint8, "char": T.uint8, "int8": T.int8, "uint8": T.uint8,
    "int16": T.int16, "uint16": T.uint16, "int32": T.int32, "uint32": T.uint32,
    "int64": T.int64, "uint64": T.uint64, "float32": T.float32, "float64": T.float64, "string": str,
}


class IdlTypes:
    """Cyclone DDS IDL structs generated from a rosbags typestore (ROS 2 naming: pkg::msg::dds_::T_)."""

    def __init__(self, store):
        self.store = store
        self.made = {}

    def field_type(self, desc):
        kind, detail = desc
        name = kind.name
        if name == "BASE":
            return BASE[detail[0]]
        if name == "NAME":
            return self.struct(detail)
        if name == "ARRAY":
            return T.array[self.field_type(detail[0]), detail[1]]
        if name == "SEQUENCE":
            return T.sequence[self.field_type(detail[0])]
        raise ValueError(f"unsupported field {desc}")

    def struct(self, msgtype):
        if msgtype in self.made:
            return self.made[msgtype]
        _, fields = self.store.fielddefs[msgtype]
        pkg, _, short = msgtype.split("/")
        ann = {f: self.field_type(d) for f, d in fields} or {"structure_needs_at_least_one_member": T.uint8}
        # typename: the DDS name ROS 2 gives the type
        cls = pytypes.new_class(
            short, (idl.IdlStruct,), {"typename": f"{pkg}::msg::dds_::{short}_"},
            lambda ns: ns.update({"__annotations__": ann}))
        cls = dataclass(annotate.final(cls))
        self.made[msgtype] = cls
        return cls


def instance(store, types, msgtype, value):
    """A Cyclone instance of `msgtype` from a rosbags message object."""
    cls = types.struct(msgtype)
    _, fields = store.fielddefs[msgtype]
    kw = {}
    for f, (kind, detail) in fields:
        v = getattr(value, f)
        if kind.name == "NAME":
            v = instance(store, types, detail, v)
        elif kind.name in ("ARRAY", "SEQUENCE") and detail[0][0].name == "NAME":
            v = [instance(store, types, detail[0][1], x) for x in v]
        elif kind.name in ("ARRAY", "SEQUENCE"):
            v = [x.item() if hasattr(x, "item") else x for x in v]
        kw[f] = v
    return cls(**kw)


def parameters(node, target):
    """`ros2 param list/get/set` through rclpy's parameter client (the rcl_interfaces services)."""
    from rclpy.parameter import Parameter
    from rclpy.parameter_client import AsyncParameterClient

    def wait(f, what):
        end = time.time() + 10
        while not f.done() and time.time() < end:
            time.sleep(0.02)
        if not f.done():
            raise SystemExit(f"parameter {what}: no answer from {target}")
        return f.result()

    c = AsyncParameterClient(node, target)
    if not c.wait_for_services(timeout_sec=20.0):
        raise SystemExit(f"{target}: no parameter services")
    names = list(wait(c.list_parameters(), "list").result.names)
    got = wait(c.get_parameters(["engine.deadline_ms", "scene.queries", "ros.version"]), "get").values
    res = wait(c.set_parameters([Parameter("engine.deadline_ms", value=50.0)]), "set").results[0]
    return {
        "names": names,
        "engine.deadline_ms": got[0].double_value,
        "scene.queries": list(got[1].string_array_value),
        "ros.version": got[2].integer_value,
        "set_successful": bool(res.successful),
        "set_reason": res.reason,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["drive"])
    ap.add_argument("bag")
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--rate", type=float, default=1.0)
    ap.add_argument("--big-cloud", type=int, default=0)
    ap.add_argument("--wait-node", type=float, default=60.0)
    ap.add_argument("--linger", type=float, default=3.0)
    ap.add_argument("--garbage", type=int, default=0, help="malformed clouds sent before the drive")
    ap.add_argument("--painted", action="store_true", help="also subscribe to /sensorium/painted_points")
    ap.add_argument("--params", default="", help="node whose parameters to list, get and try to set")
    a = ap.parse_args()

    store = get_typestore(Stores.ROS2_JAZZY)
    with open(SCENE_MSG) as f:
        store.register(get_types_from_msg(f.read(), "sensorium_msgs/msg/Scene"))
    types = IdlTypes(store)

    rclpy.init()
    node = rclpy.create_node("sensorium_test_peer")
    sensor_qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)

    # the recording, grouped by topic
    msgs = []
    with Reader(a.bag) as r:
        for c, t, raw in r.messages():
            msgs.append((t, c.topic, c.msgtype, raw))
    pubs = {}
    for _, topic, msgtype, _ in msgs:
        if msgtype in RCLPY_TYPES and topic not in pubs and not topic.startswith("/sensorium/"):
            pubs[topic] = node.create_publisher(RCLPY_TYPES[msgtype], topic, sensor_qos)

    # Cyclone: /tf_static out, /sensorium/scene in
    dp = DomainParticipant(int(os.environ.get("ROS_DOMAIN_ID", "0")))
    xcdr1 = Policy.DataRepresentation(use_cdrv0_representation=True)
    tf_cls = types.struct("tf2_msgs/msg/TFMessage")
    tf_topic = Topic(dp, "rt/tf_static", tf_cls)
    tf_writer = DataWriter(dp, tf_topic, Qos(
        Policy.Reliability.Reliable(duration(seconds=1)), Policy.Durability.TransientLocal,
        Policy.History.KeepLast(1), xcdr1))
    scene_cls = types.struct("sensorium_msgs/msg/Scene")
    scene_topic = Topic(dp, "rt/sensorium/scene", scene_cls)
    scene_reader = DataReader(dp, scene_topic, Qos(
        Policy.Reliability.Reliable(duration(seconds=1)), Policy.History.KeepLast(50), xcdr1))

    out = {"scenes": [], "occupancy": [], "markers": [], "diagnostics": [], "published": {}}
    lock = threading.Lock()

    def on_grid(m):
        with lock:
            out["occupancy"].append({
                "stamp": m.header.stamp.sec + m.header.stamp.nanosec * 1e-9,
                "frame_id": m.header.frame_id, "width": m.info.width, "height": m.info.height,
                "resolution": m.info.resolution, "occupied": sum(1 for v in m.data if v > 50),
            })

    def on_markers(m):
        with lock:
            out["markers"].append({"n": len(m.markers), "ns": sorted({x.ns for x in m.markers})})

    def on_diag(m):
        with lock:
            for s in m.status:
                out["diagnostics"].append({
                    "name": s.name, "level": int.from_bytes(s.level, "little") if isinstance(s.level, bytes) else int(s.level),
                    "message": s.message, "hardware_id": s.hardware_id,
                    "values": {kv.key: kv.value for kv in s.values},
                })

    node.create_subscription(OccupancyGrid, "/sensorium/occupancy", on_grid, reliable)
    node.create_subscription(MarkerArray, "/sensorium/markers", on_markers, reliable)
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, reliable)
    out["painted"] = []
    if a.painted:
        def on_painted(m):
            with lock:
                out["painted"].append({
                    "stamp": m.header.stamp.sec + m.header.stamp.nanosec * 1e-9,
                    "points": m.width * m.height, "bytes": len(m.data),
                    "fields": [f.name for f in m.fields],
                })
        node.create_subscription(PointCloud2, "/sensorium/painted_points", on_painted, reliable)
    spin = threading.Thread(target=rclpy.spin, args=(node,), daemon=True)
    spin.start()

    def take_scenes():
        for s in scene_reader.take(N=100):
            if not isinstance(s, scene_cls):
                continue
            with lock:
                out["scenes"].append({
                    "stamp": s.header.stamp.sec + s.header.stamp.nanosec * 1e-9,
                    "frame_id": s.header.frame_id, "mask": s.modality_mask,
                    "lidar_stamp": s.lidar_stamp.sec + s.lidar_stamp.nanosec * 1e-9,
                    "width": s.width, "height": s.height, "cells": len(s.occupancy),
                    "embedding": len(s.embedding), "queries": list(s.query_texts),
                    "objects": list(s.object_classes), "end_to_end_ms": s.end_to_end_ms,
                })

    # wait until the node subscribes to every input (DDS discovery)
    t0 = time.time()
    while time.time() - t0 < a.wait_node:
        if all(p.get_subscription_count() > 0 for p in pubs.values()):
            break
        time.sleep(0.1)
    out["matched"] = {t: p.get_subscription_count() for t, p in pubs.items()}
    if not all(out["matched"].values()):
        print(json.dumps(out), flush=True)
        sys.exit("the node did not subscribe in time")
    time.sleep(1.0)
    if a.params:
        out["params"] = parameters(node, a.params)

    def ros1(raw, msgtype):
        # a ROS 1 body (Header with seq) read as its ROS 2 type
        return store.deserialize_cdr(store.ros1_to_cdr(raw, msgtype), msgtype)

    def publish(topic, msgtype, raw):
        if topic == "/tf_static":
            tf_writer.write(instance(store, types, msgtype, ros1(raw, msgtype)))
        elif topic in pubs:
            pubs[topic].publish(bytes(store.ros1_to_cdr(raw, msgtype)))
        else:
            return
        out["published"][topic] = out["published"].get(topic, 0) + 1

    if a.big_cloud > 0:
        # prepared before the drive, sent right after it: the LiDAR stream goes on without a gap
        import numpy as np
        cloud = next(ros1(raw, m) for _, tp, m, raw in msgs if tp == "/lidar/points")
        images = [(tp, m, raw) for _, tp, m, raw in msgs if tp.startswith("/camera/image")]
        info = next((tp, m, raw) for _, tp, m, raw in msgs if tp == "/camera/camera_info")
        reps = max(1, -(-a.big_cloud // len(cloud.data)))
        data = np.tile(cloud.data, reps)
        n = len(data) // cloud.point_step
        out["big_cloud_bytes"] = int(len(data))
        Time = store.types["builtin_interfaces/msg/Time"]

    # malformed CDR on the LiDAR topic: the node counts and drops it, and goes on
    for k in range(a.garbage):
        pubs["/lidar/points"].publish(bytes([0, 1, 0, 0]) + bytes((37 * i + k) % 251 for i in range(64)))
        out["published"]["garbage"] = out["published"].get("garbage", 0) + 1
        time.sleep(0.05)

    # tf_static first (latched in ROS 1, transient local here), then the drive at its own rate
    for t, topic, msgtype, raw in msgs:
        if topic == "/tf_static":
            publish(topic, msgtype, raw)
    start = msgs[0][0]
    for p in range(a.passes):
        wall0 = time.time()
        for t, topic, msgtype, raw in msgs:
            if topic == "/tf_static":
                continue
            wait = (t - start) * 1e-9 / a.rate - (time.time() - wall0)
            if wait > 0:
                time.sleep(wait)
            publish(topic, msgtype, raw)
            take_scenes()
        if p + 1 < a.passes or not a.big_cloud:
            time.sleep(0.2)

    if a.big_cloud > 0:
        # stamped on from the recording's last message, at 10 Hz
        t_end = msgs[-1][0] * 1e-9 + 0.1
        out["big_cloud_from"] = t_end
        for k in range(20):
            now = time.time()
            st = t_end + 0.1 * k
            stamp = Time(sec=int(st), nanosec=int(round((st % 1) * 1e9)) % 1_000_000_000)
            hdr = store.types["std_msgs/msg/Header"](stamp=stamp, frame_id=cloud.header.frame_id)
            big = store.types["sensor_msgs/msg/PointCloud2"](
                header=hdr, height=1, width=n, fields=cloud.fields, is_bigendian=False,
                point_step=cloud.point_step, row_step=cloud.point_step * n, data=data, is_dense=cloud.is_dense)
            for tp, m, raw in (images[k % len(images)], info):
                msg = ros1(raw, m)
                msg.header.stamp = stamp
                pubs[tp].publish(bytes(store.serialize_cdr(msg, m)))
            pubs["/lidar/points"].publish(bytes(store.serialize_cdr(big, "sensor_msgs/msg/PointCloud2")))
            out["published"]["big_cloud"] = out["published"].get("big_cloud", 0) + 1
            take_scenes()
            time.sleep(max(0.0, 0.1 - (time.time() - now)))

    end = time.time() + a.linger
    while time.time() < end:
        take_scenes()
        time.sleep(0.05)
    take_scenes()
    with lock:
        print(json.dumps(out), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
