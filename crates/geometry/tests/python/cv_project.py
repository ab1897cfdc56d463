#!/usr/bin/python3
"""Reference projections from OpenCV for random points, rvec/tvec, K and D.

usage: cv_project.py SEED
Prints JSON: a list of cases {model, K (row-major 9), D, rvec, tvec, points (N×3), uv (N×2),
raw_pixels (M×2), rect_pixels (M×2: cv2.undistortPoints with R, P), R (9), P (12)}.
"""
import json
import sys

import cv2
import numpy as np


def main():
    rng = np.random.default_rng(int(sys.argv[1]))
    cases = []
    for model in ['plumb_bob', 'rational_polynomial', 'equidistant'] * 3:
        fx, fy = rng.uniform(400, 1200, 2)
        K = np.array([[fx, 0, rng.uniform(500, 800)], [0, fy, rng.uniform(300, 500)], [0, 0, 1.0]])
        if model == 'plumb_bob':
            D = np.array([rng.uniform(-0.3, 0.1), rng.uniform(-0.05, 0.1), rng.uniform(-2e-3, 2e-3),
                          rng.uniform(-2e-3, 2e-3), rng.uniform(-0.02, 0.02)])
        elif model == 'rational_polynomial':
            D = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.2, 0.2), rng.uniform(-2e-3, 2e-3),
                          rng.uniform(-2e-3, 2e-3), rng.uniform(-0.05, 0.05), rng.uniform(-0.5, 0.5),
                          rng.uniform(-0.2, 0.2), rng.uniform(-0.05, 0.05)])
        else:
            D = rng.uniform(-0.05, 0.05, 4)
        rvec = rng.uniform(-0.3, 0.3, 3)
        tvec = rng.uniform(-1.0, 1.0, 3)
        # Points ahead of the camera after the transform, within about ±45° of the axis.
        R, _ = cv2.Rodrigues(rvec)
        cam = np.column_stack([rng.uniform(-0.8, 0.8, 400), rng.uniform(-0.6, 0.6, 400), np.ones(400)])
        cam *= rng.uniform(1.0, 60.0, (400, 1))
        world = (cam - tvec) @ R  # R^T (cam - t)
        if model == 'equidistant':
            uv, _ = cv2.fisheye.projectPoints(world.reshape(-1, 1, 3), rvec, tvec, K, D)
        else:
            uv, _ = cv2.projectPoints(world, rvec, tvec, K, D)
        uv = uv.reshape(-1, 2)
        # Rectification: a small rotation R and a new P.
        Rr, _ = cv2.Rodrigues(rng.uniform(-0.02, 0.02, 3))
        P = np.array([[fx * 0.9, 0, K[0, 2] + 5, 0], [0, fx * 0.9, K[1, 2] - 3, 0], [0, 0, 1.0, 0]])
        # Raw pixels to rectify: projections of rays within ±0.4 (normalized) of the axis, where every model
        # here is monotonic, so undistortion has one answer.
        rays = np.column_stack([rng.uniform(-0.4, 0.4, 100), rng.uniform(-0.4, 0.4, 100), np.ones(100)])
        if model == 'equidistant':
            raw, _ = cv2.fisheye.projectPoints(rays.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, D)
        else:
            raw, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), K, D)
        raw = raw.reshape(-1, 2)
        if model == 'equidistant':
            rect = cv2.fisheye.undistortPoints(raw.reshape(-1, 1, 2), K, D, R=Rr, P=P[:, :3])
        else:
            rect = cv2.undistortPointsIter(raw.reshape(-1, 1, 2), K, D, Rr, P,
                                           (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 500, 1e-15))
        cases.append({
            'model': model, 'K': K.ravel().tolist(), 'D': D.tolist(), 'rvec': rvec.tolist(),
            'tvec': tvec.tolist(), 'points': world.tolist(), 'uv': uv.tolist(),
            'raw_pixels': raw.tolist(), 'rect_pixels': rect.reshape(-1, 2).tolist(),
            'R': Rr.ravel().tolist(), 'P': P.ravel().tolist(),
        })
    print(json.dumps(cases))


if __name__ == '__main__':
    main()
