"""Reading sensorium's inputs out of a ROS1 bag with Debian's python `rosbag` (and OpenCV for images), for the
recipe's offline evaluation of a recording (evaluate_bag) and the Python baseline node that
`sensorium bench` measures (crates/bench/python/baseline_node.py).

Runs in the project's .venv (scripts/setup-venv.sh): Debian's rosbag through its system site-packages,
OpenCV (opencv-python-headless), numpy, onnxruntime and tokenizers from the venv.
"""
from __future__ import annotations

import json

import numpy as np

from . import preprocess as pp


def quat_matrix(t):
    """geometry_msgs/Transform -> 4x4."""
    q = t.rotation
    x, y, z, w = q.x, q.y, q.z, q.w
    m = np.eye(4)
    m[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    m[:3, 3] = [t.translation.x, t.translation.y, t.translation.z]
    return m


def to_root(frame, parent_of):
    """T_root_frame through the static tree, and the root's name."""
    m = np.eye(4)
    seen = set()
    while frame in parent_of and frame not in seen:
        seen.add(frame)
        parent, t = parent_of[frame]
        m = t @ m
        frame = parent
    return m, frame


def pointcloud_xyzi(msg):
    """sensor_msgs/PointCloud2 -> (N, 4) float32 x, y, z, intensity; non-finite points dropped."""
    names = {f.name: f for f in msg.fields}
    dt = np.dtype({"names": ["x", "y", "z", "intensity"], "formats": ["<f4"] * 4,
                   "offsets": [names[k].offset for k in ("x", "y", "z", "intensity")],
                   "itemsize": msg.point_step})
    arr = np.frombuffer(msg.data, dtype=dt, count=msg.width * msg.height)
    pts = np.stack([arr["x"], arr["y"], arr["z"], arr["intensity"]], axis=1)
    return pts[np.isfinite(pts[:, :3]).all(axis=1)]


def map_texts(msg):
    """std_msgs/String map text (JSON annotations or plain text) -> texts, at most MAX_TEXTS."""
    try:
        j = json.loads(msg.data)
    except ValueError:
        return [msg.data.strip()] if msg.data.strip() else []
    anns = j.get("annotations", []) if isinstance(j, dict) else j
    return [a.get("text", "") for a in anns if isinstance(a, dict) and a.get("text")][: pp.MAX_TEXTS]


def image_rgb(msg):
    """sensor_msgs/CompressedImage or Image (rgb8/bgr8/mono8) -> RGB u8 (H, W, 3)."""
    import cv2

    if msg._type == "sensor_msgs/CompressedImage":
        bgr = cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_COLOR)
        return np.ascontiguousarray(bgr[:, :, ::-1])
    a = np.frombuffer(msg.data, np.uint8)
    if msg.encoding in ("rgb8", "bgr8"):
        a = a.reshape(msg.height, msg.step)[:, : msg.width * 3].reshape(msg.height, msg.width, 3)
        return np.ascontiguousarray(a if msg.encoding == "rgb8" else a[:, :, ::-1])
    if msg.encoding == "mono8":
        a = a.reshape(msg.height, msg.step)[:, : msg.width]
        return np.ascontiguousarray(np.repeat(a[:, :, None], 3, axis=2))
    raise ValueError(f"unsupported image encoding {msg.encoding}")


def ground_truth(msg):
    """/sensorium/ground_truth JSON -> dict(stamp, boxes, occupancy (cells,) u8 or None, caption)."""
    import base64

    g = json.loads(msg.data)
    occ = g.get("occupancy")
    if isinstance(occ, dict):
        occ = occ.get("data")
    if isinstance(occ, str):
        occ = np.frombuffer(base64.b64decode(occ), np.uint8)
    elif occ is not None:
        occ = np.clip(np.asarray(occ, np.float64).reshape(-1), 0, 255).astype(np.uint8)
    return {"stamp": float(g.get("stamp", 0.0)), "boxes": g.get("boxes", []), "occupancy": occ,
            "caption": g.get("caption", "")}


class WordLevelTokenizer:
    """tokenizer.json's WordLevel vocabulary with its lowercase + \\w+|[^\\w\\s] pre-tokenizer (no
    `tokenizers` package needed); `encode_batch` answers like tokenizers.Tokenizer's."""

    class _Enc:
        def __init__(self, ids, mask):
            self.ids, self.attention_mask = ids, mask

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            tj = json.load(f)
        self.vocab = tj["model"]["vocab"]
        self.unk = self.vocab.get(tj["model"].get("unk_token", "[UNK]"), 1)

    def encode(self, text):
        ids = np.zeros((1, pp.TEXT_LEN), np.int64)
        mask = np.zeros((1, pp.TEXT_LEN), np.int64)
        toks = [self.vocab.get(w, self.unk) for w in pp.words(text)][: pp.TEXT_LEN]
        ids[0, : len(toks)] = toks
        mask[0, : len(toks)] = 1
        return ids, mask

    def encode_batch(self, texts):
        out = []
        for t in texts:
            ids, mask = self.encode(t)
            out.append(self._Enc(ids[0].tolist(), mask[0].tolist()))
        return out


def topics_of_type(bag, *types):
    """The topics of `bag` whose message type is one of `types`, sorted."""
    info = bag.get_type_and_topic_info().topics
    return sorted(t for t, i in info.items() if i.msg_type in types)


def calibration(bag):
    """The static tf tree and the first CameraInfo of `bag`: (parent_of, K, D, camera frame)."""
    parent_of, K, D, camera_frame = {}, None, None, None
    topics = topics_of_type(bag, "tf2_msgs/TFMessage", "tf/tfMessage", "sensor_msgs/CameraInfo")
    for _topic, m, _t in bag.read_messages(topics=topics):
        if m._type in ("tf2_msgs/TFMessage", "tf/tfMessage"):
            for tr in m.transforms:
                parent_of.setdefault(tr.child_frame_id, (tr.header.frame_id, quat_matrix(tr.transform)))
        elif K is None:
            K = np.array(m.K, np.float64).reshape(3, 3)
            D = np.array(m.D, np.float64)
            camera_frame = m.header.frame_id
    return parent_of, K, D, camera_frame
