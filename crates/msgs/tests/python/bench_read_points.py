#!/usr/bin/python3
"""Times Debian's sensor_msgs.point_cloud2.read_points (and a numpy structured-array reader) on the same
120k-point x,y,z,intensity float32 cloud the Rust bench decodes; prints MB/s of message bytes."""
import io
import time

import numpy as np
import rospy
from sensor_msgs import point_cloud2
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import Header

N = 120_000
i = np.arange(N, dtype=np.float32)
a = i * np.float32(0.001)
pts = np.stack([40 * np.cos(a), 40 * np.sin(a), (i % 64) * np.float32(0.05) - 1, i % 255], axis=1).astype("<f4")
pts[::97, 0] = np.nan
fields = [PointField("x", 0, 7, 1), PointField("y", 4, 7, 1), PointField("z", 8, 7, 1),
          PointField("intensity", 12, 7, 1)]
cloud = PointCloud2(header=Header(stamp=rospy.Time(100, 0), frame_id="lidar"), height=1, width=N, fields=fields,
                    is_bigendian=False, point_step=16, row_step=16 * N, data=pts.tobytes(), is_dense=False)
buf = io.BytesIO()
cloud.serialize(buf)
payload = buf.getvalue()


def via_read_points():
    c = PointCloud2()
    c.deserialize(payload)
    return np.array(list(point_cloud2.read_points(c, ("x", "y", "z", "intensity"), skip_nans=True)), np.float32)


def via_numpy():
    c = PointCloud2()
    c.deserialize(payload)
    arr = np.frombuffer(c.data, dtype=np.dtype({"names": ["x", "y", "z", "intensity"], "formats": ["<f4"] * 4,
                                                 "offsets": [0, 4, 8, 12], "itemsize": c.point_step}))
    keep = ~(np.isnan(arr["x"]) | np.isnan(arr["y"]) | np.isnan(arr["z"]))
    return [np.ascontiguousarray(arr[k][keep]) for k in ("x", "y", "z", "intensity")]


for name, f, reps in (("read_points", via_read_points, 3), ("numpy_structured", via_numpy, 50)):
    f()
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    dt = (time.perf_counter() - t0) / reps
    print("%s: %.3f ms per cloud, %.1f MB/s of message bytes (%d bytes)" % (name, dt * 1e3, len(payload) / dt / 1e6,
                                                                           len(payload)))
