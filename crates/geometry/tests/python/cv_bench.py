#!/usr/bin/python3
"""Time cv2.projectPoints (one thread) on an N×3 float64 .npy of camera-frame points.

usage: cv_bench.py POINTS.npy fx fy cx cy k1 k2 p1 p2 k3 [REPEATS]
Prints JSON {"points": N, "median_ms": ...}.
"""
import json
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)
pts = np.load(sys.argv[1])
fx, fy, cx, cy, *d = [float(x) for x in sys.argv[2:11]]
reps = int(sys.argv[11]) if len(sys.argv) > 11 else 50
K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]])
D = np.array(d)
z = np.zeros(3)
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    cv2.projectPoints(pts, z, z, K, D)
    times.append(time.perf_counter() - t0)
print(json.dumps({'points': int(len(pts)), 'median_ms': float(np.median(times) * 1e3)}))
