"""Independent reading of dataset labels, for the `sensorium eval` tests.

    python labels_numpy.py kitti DIR [LIDAR_HEIGHT]   # KITTI object directory
    python labels_numpy.py av2 LOGDIR                 # Argoverse 2 log (pyarrow)

Prints one JSON object: frame name -> list of labels in the scene frame
({type, x, y, z, yaw, length, width, height, points}). KITTI: the label's bottom centre raised by h/2 in
rectified camera 0 coordinates, through inv(R0_rect) and inv(Tr_velo_to_cam), then lifted by the
Velodyne's mount height; heading (cos ry, 0, -sin ry) turned the same way; `points` counted with numpy
from velodyne/*.bin. Argoverse 2: the cuboid pose as given, yaw from the quaternion, `points` its
num_interior_pts.
"""

import json
import os
import sys

import numpy as np


def kitti_calib(path):
    vals = {}
    for line in open(path):
        if ":" not in line:
            continue
        k, v = line.split(":", 1)
        vals[k.strip()] = np.array([float(x) for x in v.split()])
    r0 = vals["R0_rect"].reshape(3, 3)
    tr = np.eye(4)
    tr[:3, :4] = vals["Tr_velo_to_cam"].reshape(3, 4)
    return r0, tr


def kitti(root, height):
    out = {}
    for f in sorted(os.listdir(os.path.join(root, "label_2"))):
        name = f[:-4]
        r0, tr = kitti_calib(os.path.join(root, "calib", name + ".txt"))
        velo_cam = np.linalg.inv(tr)
        pts = np.fromfile(os.path.join(root, "velodyne", name + ".bin"), dtype=np.float32).reshape(-1, 4)
        labels = []
        for line in open(os.path.join(root, "label_2", f)):
            t = line.split()
            if not t or t[0] in ("DontCare", "Misc"):
                continue
            h, w, l = map(float, t[8:11])
            x, y, z, ry = map(float, t[11:15])
            c = velo_cam @ np.append(np.linalg.inv(r0) @ np.array([x, y - h / 2, z]), 1.0)
            d = velo_cam[:3, :3] @ (np.linalg.inv(r0) @ np.array([np.cos(ry), 0.0, -np.sin(ry)]))
            yaw = float(np.arctan2(d[1], d[0]))
            rel = pts[:, :3].astype(np.float64) - c[:3]
            lx = np.cos(yaw) * rel[:, 0] + np.sin(yaw) * rel[:, 1]
            ly = -np.sin(yaw) * rel[:, 0] + np.cos(yaw) * rel[:, 1]
            inside = (np.abs(lx) <= l / 2) & (np.abs(ly) <= w / 2) & (np.abs(rel[:, 2]) <= h / 2)
            labels.append(dict(type=t[0], x=c[0], y=c[1], z=c[2] + height, yaw=yaw,
                               length=l, width=w, height=h, points=int(inside.sum())))
        out[name] = labels
    return out


def av2(log):
    import pyarrow.feather as feather

    t = feather.read_table(os.path.join(log, "annotations.feather")).to_pydict()
    sweeps = sorted(f[:-8] for f in os.listdir(os.path.join(log, "sensors", "lidar")) if f.endswith(".feather"))
    out = {s: [] for s in sweeps}
    for i, ts in enumerate(t["timestamp_ns"]):
        if str(ts) not in out:
            continue
        qw, qx, qy, qz = (t[k][i] for k in ("qw", "qx", "qy", "qz"))
        yaw = float(np.arctan2(2 * (qw * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz)))
        out[str(ts)].append(dict(type=t["category"][i], x=t["tx_m"][i], y=t["ty_m"][i], z=t["tz_m"][i],
                                 yaw=yaw, length=t["length_m"][i], width=t["width_m"][i],
                                 height=t["height_m"][i], points=int(t["num_interior_pts"][i])))
    return out


if __name__ == "__main__":
    kind, root = sys.argv[1], sys.argv[2]
    res = kitti(root, float(sys.argv[3]) if len(sys.argv) > 3 else 1.73) if kind == "kitti" else av2(root)
    json.dump(res, sys.stdout, default=float)
