#!/usr/bin/python3
"""Independent numpy projection of a KITTI velodyne scan through P2 · R0_rect · Tr_velo_to_cam.

usage: kitti_project.py CALIB.txt VELO.bin IMAGE.png RUST_UV.npy
Compares the Rust (u, v, depth) rows with numpy's and prints one JSON object of counts and differences.
"""
import json
import sys

import cv2
import numpy as np


def read_calib(path):
    out = {}
    with open(path) as f:
        for line in f:
            if ':' in line:
                k, v = line.split(':', 1)
                out[k.strip()] = np.array([float(x) for x in v.split()])
    return out


def main():
    calib, velo, image, rust_uv = sys.argv[1:5]
    c = read_calib(calib)
    p2 = c['P2'].reshape(3, 4)
    r0 = np.eye(4)
    r0[:3, :3] = c['R0_rect'].reshape(3, 3)
    tr = np.eye(4)
    tr[:3, :] = c['Tr_velo_to_cam'].reshape(3, 4)
    pts = np.fromfile(velo, dtype=np.float32).reshape(-1, 4)
    xyz1 = np.hstack([pts[:, :3].astype(np.float64), np.ones((len(pts), 1))])
    q = xyz1 @ (p2 @ r0 @ tr).T
    depth = q[:, 2]
    with np.errstate(divide='ignore', invalid='ignore'):
        u = q[:, 0] / depth
        v = q[:, 1] / depth
    pos = depth > 0
    u[~pos] = np.nan
    v[~pos] = np.nan
    h, w = cv2.imread(image).shape[:2]
    inside = pos & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    r = np.load(rust_uv)
    assert r.shape == (len(pts), 3) and r.dtype == np.float64, (r.shape, r.dtype)
    nan_mismatch = int(np.sum(np.isnan(r[:, 0]) != ~pos))
    both = pos & ~np.isnan(r[:, 0])
    du = np.abs(r[both, 0] - u[both])
    dv = np.abs(r[both, 1] - v[both])
    dd = np.abs(r[:, 2] - depth)
    print(json.dumps({
        'width': int(w), 'height': int(h),
        'points_total': int(len(pts)), 'points_positive_depth': int(pos.sum()),
        'points_in_image': int(inside.sum()), 'fraction_in_image': float(inside.sum() / len(pts)),
        'nan_mismatch': nan_mismatch,
        'max_abs_diff_px': float(max(du.max(initial=0.0), dv.max(initial=0.0))),
        'max_abs_diff_depth': float(np.nanmax(dd)),
    }))


if __name__ == '__main__':
    main()
