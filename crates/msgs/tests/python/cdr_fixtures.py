"""Writes ROS 2 (CDR) serialized messages made by `rosbags` (its Jazzy type store) into a folder, for the
CDR decoding tests of crates/msgs. Run from the repository root with the project venv:

    .venv/bin/python crates/msgs/tests/python/cdr_fixtures.py crates/msgs/tests/fixtures/cdr
"""

import os
import sys

import numpy as np
from rosbags.typesys import Stores, get_typestore

ts = get_typestore(Stores.ROS2_JAZZY)
T = ts.types
out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def header(frame, sec=17, nsec=250_000_000):
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=nsec), frame_id=frame)


def save(name, msg, typename):
    with open(os.path.join(out, name + ".cdr"), "wb") as f:
        f.write(bytes(ts.serialize_cdr(msg, typename)))


save("image", T["sensor_msgs/msg/Image"](
    header=header("cam_front"), height=2, width=3, encoding="rgb8", is_bigendian=0, step=9,
    data=np.arange(18, dtype=np.uint8)), "sensor_msgs/msg/Image")
save("compressed_image", T["sensor_msgs/msg/CompressedImage"](
    header=header("cam"), format="jpeg", data=np.array([255, 216, 255, 217], dtype=np.uint8)),
    "sensor_msgs/msg/CompressedImage")
save("camera_info", T["sensor_msgs/msg/CameraInfo"](
    header=header("cam_optical"), height=720, width=1280, distortion_model="plumb_bob",
    d=np.array([0.1, -0.2, 0.001, 0.002, 0.05]), k=np.array([1000.0, 0, 640, 0, 1000, 360, 0, 0, 1]),
    r=np.eye(3).flatten(), p=np.array([1000.0, 0, 640, 0, 0, 1000, 360, 0, 0, 0, 1, 0]),
    binning_x=1, binning_y=2,
    roi=T["sensor_msgs/msg/RegionOfInterest"](x_offset=1, y_offset=2, height=3, width=4, do_rectify=True)),
    "sensor_msgs/msg/CameraInfo")
fields = [T["sensor_msgs/msg/PointField"](name=n, offset=4 * i, datatype=7, count=1)
          for i, n in enumerate(["x", "y", "z", "intensity"])]
pts = np.array([[1.5, -2.0, 0.25, 0.5], [10.0, 3.0, -1.0, 0.75], [-4.0, 0.5, 2.0, 0.125]], dtype=np.float32)
save("pointcloud2", T["sensor_msgs/msg/PointCloud2"](
    header=header("lidar_top"), height=1, width=3, fields=fields, is_bigendian=False, point_step=16,
    row_step=48, data=np.frombuffer(pts.tobytes(), dtype=np.uint8), is_dense=True),
    "sensor_msgs/msg/PointCloud2")
save("string", T["std_msgs/msg/String"](data="speed limit 30; crosswalk 12 m ahead"), "std_msgs/msg/String")
tf = T["geometry_msgs/msg/TransformStamped"](
    header=header("base_link"), child_frame_id="lidar_top",
    transform=T["geometry_msgs/msg/Transform"](
        translation=T["geometry_msgs/msg/Vector3"](x=0.9, y=0.0, z=1.84),
        rotation=T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.7071067811865476, w=0.7071067811865476)))
save("tf", T["tf2_msgs/msg/TFMessage"](transforms=[tf, tf]), "tf2_msgs/msg/TFMessage")
