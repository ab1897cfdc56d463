#!/usr/bin/env python3
"""Train, export, quantize, score and package the four sensorium encoders (MODEL_SPEC v1).

  train.py --data DATA [--quick] [--seed 0] [--out models/] [--sim-cmd TEMPLATE]

DATA holds one `sensorium sim --export-training` folder per simulator seed: DATA/train/seed-<n>/ and
DATA/eval/seed-<n>/ (eval seeds are never used for training). With --sim-cmd, missing folders are
made by running TEMPLATE with {dir}, {frames} and {seed} filled in, e.g.
  --sim-cmd 'sensorium sim --frames {frames} --seed {seed} --export-training {dir}'

Steps: preprocess every frame (preprocess.py), train all four models jointly (JAX, Adam) with
BCE/CE on the BEV heads and symmetric InfoNCE between scene and caption embeddings, export ONNX
(nets.py) and check it against JAX, quantize to int8 QDQ (Conv/MatMul only; Softmax stays float),
score fp32 and int8 end to end with onnxruntime on the held-out seeds, write manifests, goldens
and metrics.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import preprocess as pp  # noqa: E402

ROLES = {"image": "image_encoder", "point": "point_encoder", "text": "text_encoder", "fusion": "fusion"}


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


# ----------------------------------------------------------------------------- data
def plan(quick: bool):
    if quick:
        return {"train_seeds": list(range(1, 5)), "eval_seeds": [9001, 9002], "frames": 24, "stride": 3,
                "steps": 150, "batch": 4}
    return {"train_seeds": list(range(1, 61)), "eval_seeds": [9001, 9002, 9003, 9004], "frames": 40,
            "stride": 4, "steps": 3000, "batch": 8}


def ensure_data(root, split, seeds, frames, sim_cmd):
    dirs = []
    for s in seeds:
        d = os.path.join(root, split, f"seed-{s}")
        if not os.path.exists(os.path.join(d, "meta.json")):
            if not sim_cmd:
                raise SystemExit(f"{d}: no export there and no --sim-cmd to make it")
            os.makedirs(os.path.dirname(d), exist_ok=True)
            cmd = sim_cmd.format(dir=d, frames=frames, seed=s)
            r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"sim export failed ({cmd}): {r.stderr[-2000:]}")
        dirs.append(d)
    return dirs


def load_split(dirs, stride, max_frames):
    frames = []
    for d in dirs:
        meta = pp.Meta(d)
        for fd in pp.frame_dirs(d)[:max_frames:stride]:
            fr = pp.load_frame(fd, meta)
            fr["source"] = fd
            frames.append(fr)
    return frames


# ----------------------------------------------------------------------------- tokenizer
def build_tokenizer(texts, path):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    vocab = {"[PAD]": 0, "[UNK]": 1}
    extra = [str(i) for i in range(0, 201)] + pp.CLASSES + ["cars", "trucks", "pedestrians", "cyclists", "cones"]
    for t in list(texts) + extra:
        for w in pp.words(t):
            if w not in vocab:
                vocab[w] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()])
    tok.enable_truncation(max_length=pp.TEXT_LEN)
    tok.enable_padding(length=pp.TEXT_LEN, pad_id=0, pad_token="[PAD]")
    tok.save(path)
    return Tokenizer.from_file(path), len(vocab)


def encode_texts(tok, texts):
    ids = np.zeros((len(texts), pp.TEXT_LEN), np.int64)
    mask = np.zeros((len(texts), pp.TEXT_LEN), np.int64)
    for i, e in enumerate(tok.encode_batch(list(texts))):
        ids[i] = e.ids[: pp.TEXT_LEN]
        mask[i] = e.attention_mask[: pp.TEXT_LEN]
    return ids, mask


# ----------------------------------------------------------------------------- batching
def pack(frames, tok):
    """Compact per-frame training arrays (f16 where exactness does not matter for training)."""
    out = []
    for fr in frames:
        cap_ids, cap_mask = encode_texts(tok, [fr["caption"]])
        mt = fr["map_texts"][: pp.MAX_TEXTS]
        t_ids = np.zeros((pp.MAX_TEXTS, pp.TEXT_LEN), np.int64)
        t_mask = np.zeros((pp.MAX_TEXTS, pp.TEXT_LEN), np.int64)
        if mt:
            a, b = encode_texts(tok, mt)
            t_ids[: len(mt)], t_mask[: len(mt)] = a, b
        tm = np.zeros(pp.MAX_TEXTS, np.float32)
        tm[: len(mt)] = 1
        out.append({
            "image": fr["image"].astype(np.float16),
            "geo": fr["geo"].astype(np.float16),
            "mask": fr["mask"].astype(np.uint8),
            "cells": fr["pillar_cells"].astype(np.int32),
            "tap_idx": fr["tap_idx"].astype(np.int16),
            "tap_w": fr["tap_w"].astype(np.float16),
            "tap_flag": fr["tap_flag"].astype(np.uint8),
            "occ": fr["occupancy"], "cls": fr["class"],
            "cap_ids": cap_ids[0], "cap_mask": cap_mask[0],
            "t_ids": t_ids, "t_mask": t_mask, "tm": tm,
        })
    return out


def collate(items, P):
    B = len(items)
    g = np.zeros((B, 9, P, 16), np.float32)
    m = np.zeros((B, 1, P, 16), np.float32)
    cells = np.full((B, P), pp.ROWS * pp.COLS, np.int32)
    ti = np.zeros((B, P, 16, 4), np.int32)
    tw = np.zeros((B, P, 16, 4), np.float32)
    tf = np.zeros((B, 1, P, 16), np.float32)
    for b, it in enumerate(items):
        n = min(len(it["cells"]), P)
        g[b, :, :n] = it["geo"][:, :n]
        m[b, 0, :n] = it["mask"][:n]
        cells[b, :n] = it["cells"][:n]
        ti[b, :n] = it["tap_idx"][:n]
        tw[b, :n] = it["tap_w"][:n]
        tf[b, 0, :n] = it["tap_flag"][:n]
    st = lambda k, dt=None: np.stack([it[k] for it in items]).astype(dt) if dt else np.stack([it[k] for it in items])
    return {
        "image": st("image", np.float32), "geo": g, "mask": m, "cells": cells, "tap_idx": ti, "tap_w": tw,
        "tap_flag": tf, "occ": st("occ", np.float32), "cls": st("cls", np.int32),
        "cap_ids": st("cap_ids", np.int32), "cap_mask": st("cap_mask", np.int32),
        "t_ids": st("t_ids", np.int32), "t_mask": st("t_mask", np.int32), "tm": st("tm", np.float32),
    }


# ----------------------------------------------------------------------------- training
def make_step(nets, optimizer):
    import jax
    import jax.numpy as jnp
    import optax

    cls_w = jnp.array([0.2, 1.0, 1.0, 4.0, 4.0, 4.0], jnp.float32)

    def forward(params, b):
        B = b["image"].shape[0]
        feats, img_emb = nets.image_forward(params["image"], b["image"])
        fm = feats.reshape(B, nets.FEAT_C, -1)
        painted = jax.vmap(lambda f, i: f[:, i])(fm, b["tap_idx"])  # [B,32,P,16,4]
        painted = jnp.sum(painted * b["tap_w"][:, None], axis=-1) * b["tap_flag"]
        pillars = jnp.concatenate([b["geo"], painted, b["tap_flag"]], axis=1) * b["mask"]
        pf = nets.point_forward(params["point"], pillars, b["mask"])  # [B,64,P]
        bev = jnp.zeros((B, nets.PILLAR_C, pp.ROWS * pp.COLS + 1), jnp.float32)
        bev = jax.vmap(lambda z, c, v: z.at[:, c].set(v))(bev, b["cells"], pf)
        bev = bev[:, :, :-1].reshape(B, nets.PILLAR_C, pp.ROWS, pp.COLS)
        T = b["t_ids"].shape[1]
        temb = nets.text_forward(params["text"], b["t_ids"].reshape(B * T, -1), b["t_mask"].reshape(B * T, -1))
        temb = temb.reshape(B, T, -1) * b["tm"][..., None]
        scene, _, occ, cls = nets.fusion_forward(params["fusion"], bev, feats, temb, b["tm"])
        cap = nets.text_forward(params["text"], b["cap_ids"], b["cap_mask"])
        return scene, img_emb, occ, cls, cap

    def infonce(a, c, scale):
        logits = scale * a @ c.T
        lbl = jnp.arange(a.shape[0])
        la = optax.softmax_cross_entropy_with_integer_labels(logits, lbl).mean()
        lc = optax.softmax_cross_entropy_with_integer_labels(logits.T, lbl).mean()
        return 0.5 * (la + lc)

    def loss_fn(params, b):
        scene, img_emb, occ, cls, cap = forward(params, b)
        B = occ.shape[0]
        occ = occ.reshape(B, -1)
        y = b["occ"]
        l_occ = jnp.mean(optax.sigmoid_binary_cross_entropy(occ, y) * (1.0 + 2.0 * y))
        cl = cls.reshape(B, nets.K_CLASSES, -1).transpose(0, 2, 1)
        ce = optax.softmax_cross_entropy_with_integer_labels(cl, b["cls"])
        l_cls = jnp.mean(ce * cls_w[b["cls"]])
        l_nce = infonce(scene, cap, 15.0)
        l_img = infonce(nets.l2n(img_emb), cap, 10.0)
        total = l_occ * 4.0 + l_cls + 0.5 * l_nce + 0.1 * l_img
        return total, (l_occ, l_cls, l_nce, l_img)

    @jax.jit
    def step(params, opt_state, b):
        (l, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, b)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, l, aux

    return step


def train(packed, vocab, cfg, seed, time_budget):
    import jax
    import optax
    import nets

    P = int(min(pp.P_MAX, max(len(it["cells"]) for it in packed)))
    P = int(np.ceil(P / 64) * 64)
    params = nets.init_params(jax.random.PRNGKey(seed), vocab)
    warm = min(100, cfg["steps"] // 5)
    sched = optax.warmup_cosine_decay_schedule(0.0, 3e-3, warm, cfg["steps"], 5e-5)
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(sched, weight_decay=1e-4))
    opt_state = optimizer.init(params)
    step = make_step(nets, optimizer)
    rng = np.random.default_rng(seed)
    B = min(cfg["batch"], len(packed))
    t0 = time.time()
    order = []
    for i in range(cfg["steps"]):
        if len(order) < B:
            order = list(rng.permutation(len(packed))) + order
        idx, order = order[:B], order[B:]
        b = collate([packed[j] for j in idx], P)
        params, opt_state, l, aux = step(params, opt_state, b)
        l.block_until_ready()
        if i % 50 == 0 or i == cfg["steps"] - 1:
            aux = [float(a) for a in aux]
            log(f"step {i:5d} loss {float(l):.4f} occ {aux[0]:.4f} cls {aux[1]:.4f} nce {aux[2]:.3f} "
                f"img {aux[3]:.3f} ({time.time() - t0:.0f} s)")
        if time_budget and time.time() - t0 > time_budget:
            log(f"time budget reached at step {i}")
            break
    return jax.tree_util.tree_map(np.asarray, params), P


# ----------------------------------------------------------------------------- ONNX + ORT
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

    def text(self, texts):
        ids, mask = encode_texts(self.tok, texts)
        return np.concatenate([self.s["text"].run(None, {"input_ids": ids[i:i + 1], "attention_mask": mask[i:i + 1]})[0]
                               for i in range(len(texts))]) if texts else np.zeros((0, 64), np.float32)

    def frame(self, fr, keep=None):
        feats, emb = self.s["image"].run(None, {"image": fr["image"][None]})
        pu = len(fr["pillar_cells"])
        flat_idx = fr["tap_idx"].reshape(-1, 4)
        painted = pp.paint(feats[0], flat_idx, fr["tap_w"].reshape(-1, 4), fr["tap_flag"].reshape(-1))
        painted = painted.reshape(pu, 16, 33).transpose(2, 0, 1)
        pillars, mask = pp.build_pillars(fr["geo"], fr["mask"], painted)
        pf = self.s["point"].run(None, {"pillars": pillars, "mask": mask})[0]
        bev = pp.scatter(pf, fr["pillar_cells"])
        temb = self.text(fr["map_texts"])
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


def score(pipe, frames):
    within = pp.within_mask()
    inter = union = 0
    rec = {c: [0, 0] for c in pp.CLASSES[1:]}
    scenes, caps = [], []
    for fr in frames:
        o = pipe.frame(fr)
        prob = 1 / (1 + np.exp(-o["occupancy"].reshape(-1)))
        pred = prob > 0.5
        cls = o["class_logits"].reshape(6, -1).argmax(axis=0)
        gt = fr["occupancy"] > 0
        inter += int((pred & gt & within).sum())
        union += int(((pred | gt) & within).sum())
        for b in fr["boxes"]:
            if b["class"] not in pp.CLASSES[1:]:
                continue
            ci = pp.CLASSES.index(b["class"])
            x, y = b["center"][0], b["center"][1]
            if np.hypot(x, y) > pp.METRIC_RADIUS or not (pp.X_MIN <= x < pp.X_MAX and pp.Y_MIN <= y < pp.Y_MAX):
                continue
            cells = pp.box_footprint(b)
            rec[b["class"]][1] += 1
            rec[b["class"]][0] += int(bool(np.any((cls[cells] == ci) & pred[cells])))
        scenes.append(o["scene_embedding"][0])
        caps.append(fr["caption"])
    # query_top1: own caption vs the next 9 distinct captions in order (cyclic)
    uniq = list(dict.fromkeys(caps))
    cap_emb = dict(zip(uniq, pipe.text(uniq)))
    hits = 0
    for i, c in enumerate(caps):
        cands = []
        for j in list(range(i + 1, len(caps))) + list(range(0, i)):
            if caps[j] != c and caps[j] not in cands:
                cands.append(caps[j])
            if len(cands) == 9:
                break
        sims = [float(scenes[i] @ cap_emb[x]) for x in [c] + cands]
        hits += int(all(sims[0] > s for s in sims[1:]))
    m = {"frames": len(frames), "occupancy_iou": inter / max(union, 1), "query_top1": hits / max(len(frames), 1)}
    for c, (h, t) in rec.items():
        m[f"recall_{c}"] = h / t if t else float("nan")
        m[f"objects_{c}"] = t
    return m


def quantize(out, calib_feeds):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self, feeds):
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    for role, d in ROLES.items():
        src = os.path.join(out, d, "model.onnx")
        dst = os.path.join(out, d, "model.int8.onnx")
        quantize_static(
            src, dst, Reader(calib_feeds[role]), quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["Conv", "MatMul"], per_channel=False,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )


# ----------------------------------------------------------------------------- manifests
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
        "inputs": [("input_ids", [1, 16], "i64", "NL"), ("attention_mask", [1, 16], "i64", "NL")],
        "outputs": [("embedding", [1, 64], "text embedding in the scene space", True, None)],
    },
    "fusion": {
        "inputs": [("bev", [1, 64, 96, 96], "f32", "NCHW"), ("image_features", [1, 32, 24, 40], "f32", "NCHW"),
                   ("text", [1, 8, 64], "f32", "NTC"), ("text_mask", [1, 8], "f32", "NT")],
        "outputs": [("scene_embedding", [1, 64], "scene embedding, text-aligned", True, None),
                    ("bev_features", [1, 32, 96, 96], "BEV feature map (rows = x, cols = y)", False, None),
                    ("occupancy", [1, 1, 96, 96], "occupancy logits (sigmoid > 0.5 = occupied)", False, None),
                    ("class_logits", [1, 6, 96, 96], "class logits: background car truck pedestrian cyclist cone",
                     False, None)],
    },
}


def write_manifest(out, role, metrics, seed, data_desc, calib_desc):
    d = ROLES[role]
    s = SPECS[role]
    L = [f'name = "{d}"', f'role = "{role}"', 'file = "model.onnx"', ""]
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
        L += ["[preprocess.text]", 'tokenizer = "tokenizer.json"', "max_len = 16", "pad_id = 0", ""]
    if role == "point":
        L += ["[preprocess.point]", "x_range = [0.0, 48.0]", "y_range = [-24.0, 24.0]", "z_range = [-3.0, 4.0]",
              "resolution = 0.5", "max_pillars = 6000", "max_points_per_pillar = 16", "features = 42", ""]
    L += ["[quantization]", 'format = "fp32"', ""]
    L += ["[provenance]", 'recipe = "models/recipes/train.py"', f"data = {toml_value(data_desc)}", f"seed = {seed}"]
    keys = sorted(metrics)
    L.append("metrics = { " + ", ".join(f"{k} = {toml_value(float(metrics[k]))}" for k in keys) + " }")
    L += ["", "[[variants]]", 'name = "int8"', 'file = "model.int8.onnx"', 'format = "int8-qdq"',
          f"calibration = {toml_value(calib_desc)}", ""]
    with open(os.path.join(out, d, "manifest.toml"), "w", encoding="utf-8") as f:
        f.write("\n".join(L))


def write_goldens(out, keep, tok, repo_root):
    script = os.path.join(repo_root, "crates", "infer", "tests", "python", "make_goldens.py")
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
        gdir = os.path.join(out, d, "golden")
        shutil.rmtree(gdir, ignore_errors=True)
        if os.path.exists(script):
            dims = ["--dim", "P=512"] if role == "point" else []
            subprocess.run([sys.executable, script, os.path.join(out, d), "--inputs-from", idir, *dims], check=True)
        else:
            raise SystemExit(f"{script} missing: cannot write goldens")
    shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default=None,
                    help="model folder root (default: models/; with --quick: models/recipes/out-quick, so a smoke "
                         "run never overwrites the shipped models)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sim-cmd", default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--time-budget", type=float, default=None, help="stop training after this many seconds")
    args = ap.parse_args()
    t_start = time.time()
    if args.out is None:
        args.out = os.path.join(HERE, "out-quick") if args.quick else os.path.normpath(os.path.join(HERE, ".."))
    cfg = plan(args.quick)
    if args.steps:
        cfg["steps"] = args.steps
    repo_root = os.path.normpath(os.path.join(HERE, "..", ".."))
    import jax

    jax.config.update("jax_default_matmul_precision", "highest")
    import nets

    tr_dirs = ensure_data(args.data, "train", cfg["train_seeds"], cfg["frames"], args.sim_cmd)
    ev_dirs = ensure_data(args.data, "eval", cfg["eval_seeds"], cfg["frames"], args.sim_cmd)
    log(f"preprocessing {len(tr_dirs)} train and {len(ev_dirs)} eval seeds")
    train_frames = load_split(tr_dirs, cfg["stride"], cfg["frames"])
    eval_frames = load_split(ev_dirs, cfg["stride"], cfg["frames"])
    log(f"{len(train_frames)} train frames, {len(eval_frames)} eval frames ({time.time() - t_start:.0f} s)")

    os.makedirs(os.path.join(args.out, ROLES["text"]), exist_ok=True)
    texts = [f["caption"] for f in train_frames] + [t for f in train_frames for t in f["map_texts"]]
    tok, vocab = build_tokenizer(texts, os.path.join(args.out, ROLES["text"], "tokenizer.json"))
    log(f"vocabulary {vocab} words")
    packed = pack(train_frames, tok)
    budget = args.time_budget if args.time_budget else (170 if args.quick else 2400)
    params, P = train(packed, vocab, cfg, args.seed, budget)
    log(f"trained (P_train={P}) in {time.time() - t_start:.0f} s total")

    builders = {"image": nets.image_onnx, "point": nets.point_onnx, "text": nets.text_onnx, "fusion": nets.fusion_onnx}
    import onnx

    for role, d in ROLES.items():
        os.makedirs(os.path.join(args.out, d), exist_ok=True)
        onnx.save(builders[role](params[role]), os.path.join(args.out, d, "model.onnx"))

    # parity: ONNX (onnxruntime) vs JAX on one held-out frame
    fp32 = Pipeline(args.out, tok, "model.onnx")
    keep = {}
    o = fp32.frame(eval_frames[0], keep)
    import jax.numpy as jnp

    f_j, e_j = nets.image_forward(params["image"], jnp.asarray(keep["image"]["image"]))
    f_o, e_o = fp32.s["image"].run(None, keep["image"])
    pf_j = nets.point_forward(params["point"], jnp.asarray(keep["point"]["pillars"]), jnp.asarray(keep["point"]["mask"]))
    pf_o = fp32.s["point"].run(None, keep["point"])[0]
    fj = nets.fusion_forward(params["fusion"], *[jnp.asarray(keep["fusion"][k]) for k in
                                                 ["bev", "image_features", "text", "text_mask"]])
    ids, am = encode_texts(tok, [eval_frames[0]["caption"]])
    tj = nets.text_forward(params["text"], jnp.asarray(ids), jnp.asarray(am))
    to = fp32.s["text"].run(None, {"input_ids": ids, "attention_mask": am})[0]
    rel = lambda a, b: float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / max(np.linalg.norm(np.asarray(b)), 1e-12))
    parity = {"image.features": rel(f_o, f_j), "image.embedding": rel(e_o, e_j), "point": rel(pf_o, pf_j),
              "text": rel(to, tj), "fusion.scene": rel(o["scene_embedding"], fj[0]),
              "fusion.occupancy": rel(o["occupancy"], fj[2]), "fusion.class": rel(o["class_logits"], fj[3])}
    log("ONNX vs JAX relative L2: " + ", ".join(f"{k} {v:.2e}" for k, v in parity.items()))
    if max(parity.values()) > 1e-4:
        raise SystemExit(f"ONNX export disagrees with JAX: {parity}")

    # calibration feeds from training frames through the fp32 pipeline
    n_cal = 8 if args.quick else 32
    cal = {r: [] for r in ROLES}
    rng = np.random.default_rng(args.seed + 1)
    for i in rng.choice(len(train_frames), size=min(n_cal, len(train_frames)), replace=False):
        k = {}
        fp32.frame(train_frames[i], k)
        for r in ["image", "point", "fusion"]:
            cal[r].append(k[r])
        ids, am = encode_texts(tok, [train_frames[i]["caption"]] + train_frames[i]["map_texts"])
        cal["text"] += [{"input_ids": ids[j:j + 1], "attention_mask": am[j:j + 1]} for j in range(len(ids))]
    quantize(args.out, cal)
    log("quantized")

    m32 = score(fp32, eval_frames)
    m8 = score(Pipeline(args.out, tok, "model.int8.onnx"), eval_frames)
    for name, m in [("fp32", m32), ("int8", m8)]:
        log(f"{name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in m.items()))

    metrics = {}
    for name, m in [("fp32", m32), ("int8", m8)]:
        for k in ["occupancy_iou", "query_top1", "recall_car", "recall_truck", "recall_pedestrian", "recall_cyclist",
                  "recall_cone"]:
            metrics[f"{k}_{name}"] = m[k]
    metrics["eval_frames"] = m32["frames"]
    data_desc = (f"sensorium-sim export-training, train seeds {cfg['train_seeds'][0]}..{cfg['train_seeds'][-1]} "
                 f"({len(train_frames)} frames), held-out eval seeds {cfg['eval_seeds']} ({len(eval_frames)} frames)"
                 + (" [--quick]" if args.quick else ""))
    calib_desc = f"{n_cal} training frames, onnxruntime static QDQ, Conv/MatMul only, per-tensor, u8 act / s8 weights"
    for role in ROLES:
        write_manifest(args.out, role, metrics, args.seed, data_desc, calib_desc)
    write_goldens(args.out, keep, tok, repo_root)
    with open(os.path.join(HERE, "metrics.json" if not args.quick else "metrics.quick.json"), "w") as f:
        json.dump({"fp32": m32, "int8": m8, "onnx_vs_jax_rel_l2": parity, "seed": args.seed, "quick": args.quick,
                   "train_frames": len(train_frames), "P_train": P, "seconds": time.time() - t_start}, f, indent=1)
    log(f"done in {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
