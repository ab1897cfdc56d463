"""The runtime's data path with onnxruntime: the four ONNX models of a models folder on preprocessed frames."""
from __future__ import annotations

import os

import numpy as np

from . import preprocess as pp
from .data import encode_texts
from .plan import ROLES


def ort_session(path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


class Pipeline:
    """The runtime's data path with onnxruntime sessions (one variant for all four models)."""

    def __init__(self, out, tok, variant_file):
        self.s = {r: ort_session(os.path.join(out, d, variant_file)) for r, d in ROLES.items()}
        self.tok = tok
        self.cache = {}

    def text(self, texts):
        out = []
        for t in texts:
            if t not in self.cache:
                ids, mask = encode_texts(self.tok, [t])
                self.cache[t] = self.s["text"].run(None, {"input_ids": ids, "attention_mask": mask})[0][0]
            out.append(self.cache[t])
        return np.stack(out) if out else np.zeros((0, 64), np.float32)

    def frame(self, fr, keep=None, map_texts=None):
        feats, emb = self.s["image"].run(None, {"image": fr["image"][None]})
        pu = len(fr["pillar_cells"])
        if pu:
            flat_idx = fr["tap_idx"].reshape(-1, 4)
            painted = pp.paint(feats[0], flat_idx, fr["tap_w"].reshape(-1, 4), fr["tap_flag"].reshape(-1))
            painted = painted.reshape(pu, 16, 33).transpose(2, 0, 1)
            pillars, mask = pp.build_pillars(fr["geo"], fr["mask"], painted)
            pf = self.s["point"].run(None, {"pillars": pillars, "mask": mask})[0]
            bev = pp.scatter(pf, fr["pillar_cells"])
        else:
            pillars = mask = None
            bev = np.zeros((1, 64, pp.ROWS, pp.COLS), np.float32)
        temb = self.text(fr["map_texts"] if map_texts is None else map_texts)
        text = np.zeros((1, pp.MAX_TEXTS, 64), np.float32)
        tmask = np.zeros((1, pp.MAX_TEXTS), np.float32)
        text[0, : len(temb)] = temb
        tmask[0, : len(temb)] = 1
        feeds = {"bev": bev, "image_features": feats, "text": text, "text_mask": tmask}
        outs = self.s["fusion"].run(None, feeds)
        if keep is not None:
            keep.update({"image": {"image": fr["image"][None]}, "point": {"pillars": pillars, "mask": mask},
                         "fusion": feeds})
        return dict(zip(["scene_embedding", "bev_features", "occupancy", "class_logits"], outs))

