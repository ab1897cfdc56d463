"""Peer reader for sensorium-sim bags: Debian's rosbag + sensor_msgs.point_cloud2 + cv2.
Prints one JSON object summarising what the bag holds, as ROS's own Python modules decode it.

usage: read_bag.py BAG"""
import json
import sys

import cv2
import numpy as np
import rosbag
from sensor_msgs import point_cloud2

bag = rosbag.Bag(sys.argv[1])
out = {"topics": {}, "latching": {}, "clouds": [], "images": [], "truth": [], "map_text": [], "tf": []}
for c in bag._get_connections():
    out["latching"][c.topic] = c.header.get("latching", b"0").decode() if isinstance(c.header.get("latching", b"0"), bytes) else c.header.get("latching", "0")
for topic, msg, t in bag.read_messages():
    out["topics"][topic] = out["topics"].get(topic, 0) + 1
    if msg._type == "sensor_msgs/PointCloud2":
        pts = list(point_cloud2.read_points(msg, field_names=("x", "y", "z", "intensity", "ring", "time")))
        a = np.array(pts, dtype=np.float64)
        out["clouds"].append({"n": len(pts), "stamp": msg.header.stamp.to_sec(), "record": t.to_sec(),
                              "frame": msg.header.frame_id, "ring_max": int(a[:, 4].max()),
                              "time_max": float(a[:, 5].max()), "x0": float(a[0, 0])})
    elif msg._type == "sensor_msgs/CompressedImage":
        img = cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_COLOR)
        out["images"].append({"shape": list(img.shape), "stamp": msg.header.stamp.to_sec(), "record": t.to_sec(),
                              "frame": msg.header.frame_id, "mean": float(img.mean())})
    elif msg._type == "sensor_msgs/Image":
        out["images"].append({"shape": [msg.height, msg.width, 3], "stamp": msg.header.stamp.to_sec(),
                              "record": t.to_sec(), "frame": msg.header.frame_id, "encoding": msg.encoding,
                              "mean": float(np.frombuffer(msg.data, np.uint8).mean())})
    elif topic == "/sensorium/ground_truth":
        g = json.loads(msg.data)
        out["truth"].append({"stamp": g["stamp"], "boxes": len(g["boxes"]), "caption": g["caption"]})
    elif topic == "/map/text":
        out["map_text"].append(json.loads(msg.data))
    elif msg._type == "tf2_msgs/TFMessage":
        for tr in msg.transforms:
            r = tr.transform.rotation
            out["tf"].append({"parent": tr.header.frame_id, "child": tr.child_frame_id,
                              "t": [tr.transform.translation.x, tr.transform.translation.y, tr.transform.translation.z],
                              "q": [r.x, r.y, r.z, r.w]})
print(json.dumps(out))
