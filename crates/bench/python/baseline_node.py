"""The Python baseline `sensorium bench` compares its end-to-end figure with: what a robotics team would
hand-roll as a ROS node — rosbag + numpy decoding, the training recipe's numpy preprocessing
(sensorium_recipe.preprocess: crop, projection, painting, pillars, scatter) and onnxruntime for the same
four ONNX models — over the same recording, one frame set per LiDAR sweep (the nearest camera image, the
latest map text), as fast as it goes.

usage: baseline_node.py BAG MODELS_DIR VARIANT(fp32|int8) THREADS [MAX_FRAMES]
Run with the project's .venv python (scripts/setup-venv.sh: the recipe package, OpenCV, onnxruntime; Debian's
rosbag through its system site-packages).
Prints one JSON object: per-frame-set latency median/p99 (decode → fusion outputs), frames, wall seconds,
frames per second and the process's peak RSS.
"""
import json
import os
import resource
import sys
import time

import numpy as np
import onnxruntime as ort
import rosbag
from sensorium_recipe import preprocess as pp
from sensorium_recipe import rosbag_frames as rf

ROLES = {"image": "image_encoder", "point": "point_encoder", "text": "text_encoder", "fusion": "fusion"}


def main():
    bag_path, models, variant, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    max_frames = int(sys.argv[5]) if len(sys.argv) > 5 else None
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    fname = "model.onnx" if variant == "fp32" else f"model.{variant}.onnx"
    sess = {}
    for role, d in ROLES.items():
        p = os.path.join(models, d, fname)
        if not os.path.exists(p):
            p = os.path.join(models, d, "model.onnx")
        sess[role] = ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])
    tok = rf.WordLevelTokenizer(os.path.join(models, "text_encoder", "tokenizer.json"))
    text_cache = {}

    def embed(t):
        if t not in text_cache:
            ids, mask = tok.encode(t)
            text_cache[t] = sess["text"].run(None, {"input_ids": ids, "attention_mask": mask})[0][0]
        return text_cache[t]

    bag = rosbag.Bag(bag_path)
    parent_of, K, D, camera_frame = rf.calibration(bag)
    lidar_frame = None

    # pair each sweep with the camera image nearest in header stamp (what a Python node's
    # ApproximateTimeSynchronizer would hand it) and the latest map text at that point of the bag
    cameras = rf.topics_of_type(bag, "sensor_msgs/CompressedImage") or rf.topics_of_type(bag, "sensor_msgs/Image")
    images = [(m.header.stamp.to_sec(), m) for _, m, _ in bag.read_messages(topics=cameras[:1])]
    if not images:
        raise SystemExit(f"{bag_path}: no camera image")
    stamps = np.array([s for s, _ in images])
    latencies = []
    texts = []
    t_start = time.perf_counter()
    frames = 0
    for topic, m, _ in bag.read_messages(topics=["/lidar/points", "/map/text"]):
        if topic == "/map/text":
            texts = rf.map_texts(m)
            continue
        if max_frames is not None and frames >= max_frames:
            break
        if lidar_frame is None:
            lidar_frame = m.header.frame_id
            t_root_lidar, root = rf.to_root(lidar_frame, parent_of)
            t_root_cam, _ = rf.to_root(camera_frame, parent_of)
            t_base_lidar = t_root_lidar
            t_optical_lidar = np.linalg.inv(t_root_cam) @ t_root_lidar
        s = m.header.stamp.to_sec()
        img_msg = images[int(np.argmin(np.abs(stamps - s)))][1]
        t0 = time.perf_counter()
        rgb = rf.image_rgb(img_msg)
        pts = rf.pointcloud_xyzi(m)
        feats, _emb = sess["image"].run(None, {"image": pp.preprocess_image(rgb)})
        xyz, inten, cell, src = pp.crop_points(pts, t_base_lidar)
        u, v, d = pp.project(pts[src, :3], t_optical_lidar, K, D)
        idx, w, flag = pp.paint_taps(u, v, d, rgb.shape[1], rgb.shape[0])
        pcells, slots = pp.pillar_layout(cell)
        geo, mask = pp.pillar_geometry(xyz, inten, pcells, slots)
        sp = np.maximum(slots, 0)
        painted = pp.paint(feats[0], idx[sp].reshape(-1, 4), w[sp].reshape(-1, 4), (flag[sp] * mask).reshape(-1))
        painted = painted.reshape(len(pcells), pp.N_MAX, pp.FEAT_C + 1).transpose(2, 0, 1)
        pillars, pmask = pp.build_pillars(geo, mask, painted)
        pf = sess["point"].run(None, {"pillars": pillars, "mask": pmask})[0]
        bev = pp.scatter(pf, pcells)
        text = np.zeros((1, pp.MAX_TEXTS, 64), np.float32)
        tmask = np.zeros((1, pp.MAX_TEXTS), np.float32)
        for k, t in enumerate(texts):
            text[0, k] = embed(t)
            tmask[0, k] = 1
        outs = sess["fusion"].run(None, {"bev": bev, "image_features": feats, "text": text, "text_mask": tmask})
        occupancy = 1 / (1 + np.exp(-outs[2]))
        _ = occupancy.sum()
        latencies.append(time.perf_counter() - t0)
        frames += 1
    wall = time.perf_counter() - t_start
    lat = np.sort(np.array(latencies)) * 1e3
    p99 = lat[min(len(lat) - 1, int(np.ceil(0.99 * len(lat))) - 1)] if len(lat) else float("nan")
    print(json.dumps({
        "frames": frames,
        "median_ms": float(np.median(lat)) if len(lat) else float("nan"),
        "p99_ms": float(p99),
        "wall_s": wall,
        "fps": frames / wall if wall > 0 else 0.0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


if __name__ == "__main__":
    main()
