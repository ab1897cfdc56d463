"""What the recipe writes beside the ONNX files: manifest.toml and the goldens."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np

from . import preprocess as pp
from .classes import CLASSES
from .data import encode_texts
from .plan import ROLES


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, float):
        return repr(float(v)) if np.isfinite(v) else "nan"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


SPECS = {
    "image": {
        "inputs": [("image", [1, 3, 192, 320], "f32", "NCHW")],
        "outputs": [("features", [1, 32, 24, 40], "image feature map (painting and fusion tokens)", False, 8),
                    ("embedding", [1, 64], "global image embedding (not normalised)", False, None)],
    },
    "point": {
        # P is symbolic: the runtime feeds only the pillars a frame uses (at most max_pillars = 6000)
        "inputs": [("pillars", [1, 42, "P", 16], "f32", "NFPN"), ("mask", [1, 1, "P", 16], "f32", "N1PN")],
        "outputs": [("pillar_features", [1, 64, "P"], "per-pillar features, scattered to BEV [1,64,96,96]", False, None)],
    },
    "text": {
        "inputs": [("input_ids", [1, pp.TEXT_LEN], "i64", "NL"), ("attention_mask", [1, pp.TEXT_LEN], "i64", "NL")],
        "outputs": [("embedding", [1, 64], "text embedding in the scene space", True, None)],
    },
    "fusion": {
        "inputs": [("bev", [1, 64, 96, 96], "f32", "NCHW"), ("image_features", [1, 32, 24, 40], "f32", "NCHW"),
                   ("text", [1, 8, 64], "f32", "NTC"), ("text_mask", [1, 8], "f32", "NT")],
        "outputs": [("scene_embedding", [1, 64], "scene embedding, text-aligned", True, None),
                    ("bev_features", [1, 32, 96, 96], "BEV feature map (rows = x, cols = y)", False, None),
                    ("occupancy", [1, 1, 96, 96], "occupancy logits (sigmoid > 0.5 = occupied)", False, None),
                    ("class_logits", [1, len(CLASSES), 96, 96], "class logits: " + " ".join(CLASSES), False, None)],
    },
}


def write_manifest(out, role, metrics, seed, data_desc, calib_desc, arch_desc):
    d = ROLES[role]
    s = SPECS[role]
    L = [f'name = "{d}"', f'role = "{role}"', 'file = "model.onnx"']
    if any(o[0] == "class_logits" for o in s["outputs"]):
        L.append(f"classes = {toml_value(CLASSES)}")
    L.append("")
    for n, shape, dt, layout in s["inputs"]:
        L += ["[[inputs]]", f"name = {toml_value(n)}", f"shape = {toml_value(shape)}", f'dtype = "{dt}"',
              f"layout = {toml_value(layout)}", ""]
    for n, shape, meaning, norm, stride in s["outputs"]:
        L += ["[[outputs]]", f"name = {toml_value(n)}", f"shape = {toml_value(shape)}", f"meaning = {toml_value(meaning)}",
              f"normalised = {toml_value(norm)}"]
        if stride:
            L.append(f"stride = {stride}")
        L.append("")
    if role == "image":
        L += ["[preprocess.image]", "width = 320", "height = 192", 'resize = "stretch"', 'interpolation = "bilinear"',
              "mean = [0.485, 0.456, 0.406]", "std = [0.229, 0.224, 0.225]", 'channel_order = "rgb"', 'input = "f32"', ""]
    if role == "text":
        L += ["[preprocess.text]", 'tokenizer = "tokenizer.json"', f"max_len = {pp.TEXT_LEN}", "pad_id = 0", ""]
    if role == "point":
        L += ["[preprocess.point]", "x_range = [0.0, 48.0]", "y_range = [-24.0, 24.0]", "z_range = [-3.0, 4.0]",
              "resolution = 0.5", "max_pillars = 6000", "max_points_per_pillar = 16", "features = 42",
              'padding = "repeat"', ""]
    L += ["[quantization]", 'format = "fp32"', ""]
    L += ["[provenance]", 'recipe = "models/recipes/sensorium_recipe/train.py"', f"data = {toml_value(data_desc)}",
          f"seed = {seed}", f"architecture = {toml_value(arch_desc)}"]
    keys = sorted(metrics)
    L.append("metrics = { " + ", ".join(f"{k} = {toml_value(float(metrics[k]))}" for k in keys) + " }")
    L += ["", "[[variants]]", 'name = "int8"', 'file = "model.int8.onnx"', 'format = "int8-qdq"',
          f"calibration = {toml_value(calib_desc)}", ""]
    with open(os.path.join(out, d, "manifest.toml"), "w", encoding="utf-8") as f:
        f.write("\n".join(L))


def write_goldens(out, keep, tok, repo_root):
    script = os.path.join(repo_root, "crates", "infer", "tests", "python", "make_goldens.py")
    if not os.path.exists(script):
        raise SystemExit(f"{script} missing: cannot write goldens")
    tmp = os.path.join(out, ".golden-inputs")
    ids, mask = encode_texts(tok, ["crosswalk 20 m ahead, two pedestrians crossing"])
    keep = dict(keep)
    keep["text"] = {"input_ids": ids, "attention_mask": mask}
    # the point golden keeps the first 512 pillars of a real frame (P is symbolic) to stay small
    pil = np.ascontiguousarray(keep["point"]["pillars"][:, :, :512])
    msk = np.ascontiguousarray(keep["point"]["mask"][:, :, :512])
    keep["point"] = {"pillars": pil, "mask": msk}
    for role, d in ROLES.items():
        idir = os.path.join(tmp, role)
        os.makedirs(idir, exist_ok=True)
        for k, v in keep[role].items():
            np.save(os.path.join(idir, f"{k}.npy"), v)
        shutil.rmtree(os.path.join(out, d, "golden"), ignore_errors=True)
        dims = ["--dim", "P=512"] if role == "point" else []
        subprocess.run([sys.executable, script, os.path.join(out, d), "--inputs-from", idir, *dims], check=True)
    shutil.rmtree(tmp, ignore_errors=True)

