"""Peer projection for sensorium-sim tests: reads a calibration folder written by the simulator
(extrinsics.yaml + camera_info YAML, calibration/README.md), composes T(lidar -> camera optical) from the
transform entries (rpy / rotation / matrix), projects LiDAR points with OpenCV's projectPoints (plumb_bob)
and writes the pixel coordinates and optical depth.

usage: project_calib.py CALIB_DIR POINTS.npy OUT.npy   (POINTS: N x >=3 float32, lidar frame)
OUT: N x 3 float64 (u, v, z_optical)."""
import os
import sys

import cv2
import numpy as np
import yaml


def rot_rpy(r, p, y):
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


def rot_quat(q):
    x, y, z, w = q["x"], q["y"], q["z"], q["w"]
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def entry_matrix(e):
    if "matrix" in e:
        return np.array(e["matrix"], dtype=np.float64).reshape(4, 4)
    t = np.eye(4)
    if "rpy" in e:
        t[:3, :3] = rot_rpy(*e["rpy"])
    elif "rotation" in e:
        t[:3, :3] = rot_quat(e["rotation"])
    t[:3, 3] = e.get("translation", [0, 0, 0])
    return t


def main():
    calib, pts_path, out_path = sys.argv[1:4]
    ext = yaml.safe_load(open(os.path.join(calib, "extrinsics.yaml")))
    parent = {e["frame_id"]: (e["parent"], entry_matrix(e)) for e in ext["transforms"]}

    def to_root(frame):
        t = np.eye(4)
        while frame in parent:
            p, m = parent[frame]
            t = m @ t
            frame = p
        return t

    cam = ext["cameras"][0]
    info = yaml.safe_load(open(os.path.join(calib, cam["camera_info"])))
    k = np.array(info["camera_matrix"]["data"], dtype=np.float64).reshape(3, 3)
    d = np.array(info["distortion_coefficients"]["data"], dtype=np.float64)
    t_opt_lidar = np.linalg.inv(to_root(cam["frame_id"])) @ to_root(ext["lidar_frame"])
    pts = np.load(pts_path)[:, :3].astype(np.float64)
    p_opt = pts @ t_opt_lidar[:3, :3].T + t_opt_lidar[:3, 3]
    uv, _ = cv2.projectPoints(pts.reshape(-1, 1, 3), cv2.Rodrigues(t_opt_lidar[:3, :3])[0], t_opt_lidar[:3, 3], k, d)
    out = np.concatenate([uv.reshape(-1, 2), p_opt[:, 2:3]], axis=1)
    np.save(out_path, out)


if __name__ == "__main__":
    main()
