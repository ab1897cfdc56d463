#!/usr/bin/env python3
"""Reference image preprocessing with OpenCV for sensorium-infer's tests.

Usage: cv2_resize.py IN.rgb SRC_W SRC_H DST_W DST_H linear|area stretch|letterbox|crop OUT_PREFIX

IN.rgb: raw RGB u8 (SRC_H x SRC_W x 3). Writes OUT_PREFIX.f32.bin (cv2.resize of the
image as float32) and OUT_PREFIX.u8.bin (cv2.resize of the u8 image, as float32),
both HWC float32 in pixel units (0..255), after letterbox padding (0) or centre crop
computed as MODEL_SPEC/manifest define them (resize first, then pad/crop).
"""
import sys

import cv2
import numpy as np


def main():
    src, sw, sh, w, h, interp, mode, out = sys.argv[1:9]
    sw, sh, w, h = int(sw), int(sh), int(w), int(h)
    img = np.fromfile(src, dtype=np.uint8).reshape(sh, sw, 3)
    flag = {"linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}[interp]
    if mode == "stretch":
        rw, rh = w, h
    elif mode == "letterbox":
        s = min(w / sw, h / sh)
        rw, rh = min(max(int(np.floor(sw * s + 0.5)), 1), w), min(max(int(np.floor(sh * s + 0.5)), 1), h)
    else:
        s = max(w / sw, h / sh)
        rw, rh = max(int(np.floor(sw * s + 0.5)), w), max(int(np.floor(sh * s + 0.5)), h)
    for kind, data in (("f32", img.astype(np.float32)), ("u8", img)):
        r = cv2.resize(data, (rw, rh), interpolation=flag).astype(np.float32)
        if mode == "letterbox":
            canvas = np.zeros((h, w, 3), np.float32)
            ox, oy = (w - rw) // 2, (h - rh) // 2
            canvas[oy:oy + rh, ox:ox + rw] = r
            r = canvas
        elif mode == "crop":
            cx, cy = (rw - w) // 2, (rh - h) // 2
            r = r[cy:cy + h, cx:cx + w]
        np.ascontiguousarray(r).tofile(f"{out}.{kind}.bin")


if __name__ == "__main__":
    main()
