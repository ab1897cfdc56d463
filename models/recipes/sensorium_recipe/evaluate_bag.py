"""The recipe's offline evaluation (scorer.score: occupancy IoU, per-class recall, query top-1) of the
packaged models on a recorded bag, in Python: Debian's rosbag and OpenCV for reading, the recipe's numpy
preprocessing (preprocess: crop, projection, painting, pillars, scatter) and onnxruntime for the four ONNX
models (pipeline.Pipeline), the recipe's own tokenizer (`tokenizers`), the class list of the models'
fusion manifest.

This is the reference `sensorium replay` is held to: on the same bag its summary's `metrics` must be
within 2 points of what this prints (crates/cli/tests/python_parity.rs).

  python -m sensorium_recipe.evaluate_bag BAG [--models DIR] [--variant int8|fp32] [--slop S] [--stamps FILE]

Frames: one per LiDAR sweep that has ground truth (`/sensorium/ground_truth`, stamp within 1 ms),
with the camera image nearest in header stamp (within --slop seconds, as ApproximateTime pairs
them) and the latest map text received before the next sweep (the runtime completes a frame set
only when later messages arrive, so the text published just after a sweep is fused with it). The calibration is the bag's: the static
tf tree (LiDAR and camera frames to the root, `base_link`) and the first CameraInfo. With --stamps
(a file of LiDAR header stamps in seconds, one per line) only those sweeps are scored: the frames a
replay fused (a synchronizer leaves the last sweep of a recording unmatched).
Prints one JSON object: frames, occupancy_iou, recall {class: value}, objects {class: count},
query_top1 (null when fewer than 10 distinct captions, as the runtime does not score it then).

Run it with the project's .venv (scripts/setup-venv.sh): `.venv/bin/python -m sensorium_recipe.evaluate_bag`.
"""
from __future__ import annotations

import argparse
import json
import math
import os

import numpy as np
import rosbag

from . import classes as model_classes
from . import preprocess as pp
from . import rosbag_frames as rf
from .paths import MODELS_DIR
from .pipeline import Pipeline
from .scorer import score

GT_TOPIC = "/sensorium/ground_truth"


def frames_of(bag_path, slop, only=None):
    bag = rosbag.Bag(bag_path)
    parent_of, K, D, camera_frame = rf.calibration(bag)
    if K is None:
        raise SystemExit(f"{bag_path}: no sensor_msgs/CameraInfo")
    clouds = rf.topics_of_type(bag, "sensor_msgs/PointCloud2")
    compressed = rf.topics_of_type(bag, "sensor_msgs/CompressedImage")
    cameras = compressed or rf.topics_of_type(bag, "sensor_msgs/Image")
    texts = [t for t in rf.topics_of_type(bag, "std_msgs/String") if t != GT_TOPIC]
    if not clouds or not cameras:
        raise SystemExit(f"{bag_path}: needs a PointCloud2 and an image topic")
    images, sweeps, truth = [], [], {}
    latest_text, pending = [], None
    for topic, m, _t in bag.read_messages(topics=clouds[:1] + cameras[:1] + texts + [GT_TOPIC]):
        if topic == GT_TOPIC:
            g = rf.ground_truth(m)
            truth[round(g["stamp"] * 1000)] = g
        elif topic in texts:
            latest_text = rf.map_texts(m)
            if pending is not None:
                pending[1] = list(latest_text)
        elif topic == cameras[0]:
            images.append((m.header.stamp.to_sec(), m))
        else:
            pending = [m, list(latest_text)]
            sweeps.append(pending)
    bag.close()
    stamps = np.array([s for s, _ in images])
    t_root_cam, _ = rf.to_root(camera_frame, parent_of)
    out = []
    for cloud, mt in sweeps:
        s = cloud.header.stamp.to_sec()
        if only is not None and not np.any(np.abs(only - s) < 1e-4):
            continue
        g = next((truth[k] for k in (round(s * 1000) + d for d in (0, -1, 1)) if k in truth
                  and abs(truth[k]["stamp"] - s) < 1e-3), None)
        if g is None or not len(stamps):
            continue
        i = int(np.argmin(np.abs(stamps - s)))
        if abs(stamps[i] - s) > slop:
            continue
        t_base_lidar, _root = rf.to_root(cloud.header.frame_id, parent_of)
        t_optical_lidar = np.linalg.inv(t_root_cam) @ t_base_lidar
        rgb = rf.image_rgb(images[i][1])
        pts = rf.pointcloud_xyzi(cloud)
        out.append(pp.make_frame(rgb, pts, t_base_lidar, t_optical_lidar, K, D, occupancy=g["occupancy"],
                                 cls=None, boxes=g["boxes"], caption=g["caption"], map_texts=mt))
    return out


def main():
    ap = argparse.ArgumentParser(prog="python -m sensorium_recipe.evaluate_bag", description=__doc__.split("\n\n")[0])
    ap.add_argument("bag")
    ap.add_argument("--models", default=MODELS_DIR, help="models folder (default: the repository's models/)")
    ap.add_argument("--variant", default="int8", choices=["int8", "fp32"])
    ap.add_argument("--slop", type=float, default=0.03)
    ap.add_argument("--stamps", help="file of LiDAR header stamps (s), one per line: score only these sweeps")
    a = ap.parse_args()
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(a.models, "text_encoder", "tokenizer.json"))
    only = None
    if a.stamps:
        with open(a.stamps, encoding="utf-8") as f:
            only = np.array([float(x) for x in f.read().split()], np.float64)
    frames = frames_of(a.bag, a.slop, only)
    if not frames:
        raise SystemExit(f"{a.bag}: no sweep with ground truth and a camera image")
    variant_file = "model.onnx" if a.variant == "fp32" else f"model.{a.variant}.onnx"
    classes = model_classes.load(a.models)
    m = score(Pipeline(a.models, tok, variant_file), frames, classes=classes)
    distinct = len(set(f["caption"] for f in frames))
    clean = lambda v: None if isinstance(v, float) and math.isnan(v) else v  # noqa: E731
    print(json.dumps({
        "frames": m["frames"],
        "occupancy_iou": m["occupancy_iou"],
        "query_top1": m["query_top1"] if distinct >= 10 else None,
        "recall": {c: clean(m[f"recall_{c}"]) for c in classes[1:] if m[f"objects_{c}"]},
        "objects": {c: m[f"objects_{c}"] for c in classes[1:] if m[f"objects_{c}"]},
        "variant": a.variant,
    }))


if __name__ == "__main__":
    main()
