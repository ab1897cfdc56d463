"""The four encoders: JAX forward passes for training and ONNX graphs built from the same
parameters (onnx.helper) for export. Only plain ops that tract and onnxruntime both run:
Conv, ConvTranspose, MatMul, Add, Mul, Relu, ReduceMean, MaxPool, Squeeze, ReduceSum, Sqrt, Div, Max,
Gather, Cast, Transpose, Reshape, Concat, AveragePool, Softmax.

Shapes are those of docs/MODEL_SPEC.md (v1).
"""
from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax

import onnx
from onnx import TensorProto, helper, numpy_helper

EMB = 64
FEAT_C = 32
PILLAR_F = 42
PILLAR_C = 64
BEV_C = 32
K_CLASSES = 6
TEXT_LEN = 16
MAX_TEXTS = 8
TEXT_HID = 128
OPSET = 17

# fixed per-feature input scaling of the pillar features (folded into the first conv at export)
PILLAR_SCALE = np.array(
    [1 / 48, 1 / 24, 1 / 4, 1 / 100, 2.0, 2.0, 1.0, 2.0, 2.0] + [1.0] * 33, dtype=np.float32
)


# ----------------------------------------------------------------------------- init
def _conv_init(key, cout, cin, k):
    fan = cin * k * k
    return {
        "w": jax.random.normal(key, (cout, cin, k, k), jnp.float32) * np.sqrt(2.0 / fan),
        "b": jnp.zeros((cout,), jnp.float32),
    }


def _lin_init(key, cin, cout, scale=None):
    s = np.sqrt(2.0 / cin) if scale is None else scale
    return {"w": jax.random.normal(key, (cin, cout), jnp.float32) * s, "b": jnp.zeros((cout,), jnp.float32)}


def init_params(key, vocab: int):
    ks = iter(jax.random.split(key, 64))
    img = {
        "c1": _conv_init(next(ks), 16, 3, 3),
        "c2": _conv_init(next(ks), 32, 16, 3),
        "c3": _conv_init(next(ks), 32, 32, 3),
        "c4": _conv_init(next(ks), FEAT_C, 32, 3),
        "emb": _lin_init(next(ks), FEAT_C, EMB),
    }
    pt = {
        "c1": _conv_init(next(ks), 32, PILLAR_F, 1),
        "c2": _conv_init(next(ks), PILLAR_C, 32, 1),
    }
    txt = {
        "tok": jax.random.normal(next(ks), (vocab, EMB), jnp.float32) * 0.3,
        "pos": jax.random.normal(next(ks), (TEXT_LEN, EMB), jnp.float32) * 0.1,
        "l1": _lin_init(next(ks), EMB, TEXT_HID),
        "l2": _lin_init(next(ks), TEXT_HID, EMB),
    }
    fus = {
        "c1": _conv_init(next(ks), BEV_C, PILLAR_C, 1),
        "d1": _conv_init(next(ks), 64, BEV_C, 3),
        "d2": _conv_init(next(ks), 64, 64, 3),
        "up": {
            "w": jax.random.normal(next(ks), (64, BEV_C, 2, 2), jnp.float32) * np.sqrt(2.0 / 64),
            "b": jnp.zeros((BEV_C,), jnp.float32),
        },
        "c2": _conv_init(next(ks), BEV_C, BEV_C, 1),
        "occ": _conv_init(next(ks), 1, BEV_C, 1),
        "cls": _conv_init(next(ks), K_CLASSES, BEV_C, 1),
        "q": _lin_init(next(ks), 64, EMB, 1 / 8),
        "ki": _lin_init(next(ks), FEAT_C, EMB, 1 / np.sqrt(FEAT_C)),
        "vi": _lin_init(next(ks), FEAT_C, EMB, 1 / np.sqrt(FEAT_C)),
        "kt": _lin_init(next(ks), EMB, EMB, 1 / 8),
        "vt": _lin_init(next(ks), EMB, EMB, 1 / 8),
        "o": _lin_init(next(ks), EMB, 64, 1 / 8),
        "s1": _lin_init(next(ks), 64 + EMB, EMB),
        "s2": _lin_init(next(ks), EMB, EMB, 1 / 8),
    }
    fus["occ"]["b"] = jnp.full((1,), -3.0, jnp.float32)
    return {"image": img, "point": pt, "text": txt, "fusion": fus}


# ----------------------------------------------------------------------------- JAX forward
def conv(x, p, stride=1, pad=None):
    k = p["w"].shape[-1]
    pad = k // 2 if pad is None else pad
    y = lax.conv_general_dilated(
        x, p["w"], (stride, stride), [(pad, pad), (pad, pad)], dimension_numbers=("NCHW", "OIHW", "NCHW")
    )
    return y + p["b"][None, :, None, None]


def conv_t2(x, p):
    """ConvTranspose kernel 2 stride 2, weight [Cin, Cout, 2, 2] (ONNX layout)."""
    b, ci, h, w = x.shape
    co = p["w"].shape[1]
    y = jnp.einsum("bihw,ioyx->bohywx", x, p["w"])  # [b, co, h, 2, w, 2]
    return y.reshape(b, co, 2 * h, 2 * w) + p["b"][None, :, None, None]


def lin(x, p):
    return x @ p["w"] + p["b"]


def l2n(x, eps=1e-6):
    return x / jnp.sqrt(jnp.sum(x * x, axis=-1, keepdims=True) + eps)


def image_forward(p, img):
    """img [B, 3, 192, 320] -> features [B, 32, 24, 40], embedding [B, 64]."""
    x = jax.nn.relu(conv(img, p["c1"], 2))
    x = jax.nn.relu(conv(x, p["c2"], 2))
    x = jax.nn.relu(conv(x, p["c3"], 2))
    f = conv(x, p["c4"], 1)
    e = lin(jnp.mean(jax.nn.relu(f), axis=(2, 3)), p["emb"])
    return f, e


def point_forward(p, pillars, mask):
    """pillars [B, 42, P, 16], mask [B, 1, P, 16] -> [B, 64, P]."""
    s = jnp.asarray(PILLAR_SCALE)[None, :, None, None]
    x = jax.nn.relu(conv(pillars * s, p["c1"], 1, 0))
    x = jax.nn.relu(conv(x, p["c2"], 1, 0))
    return jnp.max(x * mask, axis=3)


def text_forward(p, ids, mask):
    """ids [B, 16] int, mask [B, 16] (0/1) -> [B, 64] L2-normalised."""
    m = mask.astype(jnp.float32)
    h = p["tok"][ids] + p["pos"][None]
    h = jax.nn.relu(lin(h, p["l1"]))
    pooled = jnp.sum(h * m[..., None], axis=1) / jnp.maximum(jnp.sum(m, axis=1, keepdims=True), 1.0)
    return l2n(lin(pooled, p["l2"]))


def fusion_forward(p, bev, image_features, text, text_mask):
    """-> scene_embedding [B,64], bev_features [B,32,96,96], occupancy [B,1,96,96], class_logits [B,6,96,96]."""
    c1 = jax.nn.relu(conv(bev, p["c1"], 1, 0))
    d1 = jax.nn.relu(conv(c1, p["d1"], 2))
    d2 = jax.nn.relu(conv(d1, p["d2"]))
    u = conv_t2(d2, p["up"])
    f = jax.nn.relu(conv(jax.nn.relu(c1 + u), p["c2"], 1, 0))
    occ = conv(f, p["occ"], 1, 0)
    cls = conv(f, p["cls"], 1, 0)
    b = bev.shape[0]
    tok = d2.reshape(b, 64, 12, 4, 12, 4).mean(axis=(3, 5)).reshape(b, 64, 144).transpose(0, 2, 1)
    q = lin(tok, p["q"])  # [b, 144, 64]
    img_tok = image_features.reshape(b, FEAT_C, -1).transpose(0, 2, 1)  # [b, 960, 32]
    k = jnp.concatenate([lin(img_tok, p["ki"]), lin(text, p["kt"])], axis=1)
    v = jnp.concatenate([lin(img_tok, p["vi"]), lin(text, p["vt"])], axis=1)
    bias = jnp.concatenate([jnp.zeros((b, img_tok.shape[1]), jnp.float32), (text_mask - 1.0) * 1e4], axis=1)
    logits = q @ k.transpose(0, 2, 1) + bias[:, None, :]
    att = jax.nn.softmax(logits, axis=-1)
    tok2 = tok + lin(att @ v, p["o"])
    pooled = jnp.mean(jax.nn.relu(tok2), axis=1)  # [b, 64]
    tsum = jnp.sum(text * text_mask[..., None], axis=1) / jnp.maximum(jnp.sum(text_mask, axis=1, keepdims=True), 1.0)
    h = jax.nn.relu(lin(jnp.concatenate([pooled, tsum], axis=1), p["s1"]))
    scene = l2n(lin(h, p["s2"]))
    return scene, f, occ, cls


# ----------------------------------------------------------------------------- ONNX export
class G:
    """A tiny graph builder."""

    def __init__(self, name):
        self.name = name
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, arr, name=None):
        self.n += 1
        name = name or f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def op(self, op_type, inputs, out=None, **attrs):
        self.n += 1
        out = out or f"t{self.n}_{op_type.lower()}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=f"n{self.n}_{op_type}", **attrs))
        return out

    def conv(self, x, p, stride=1, pad=None, out=None, relu=False, w_scale=None):
        w = np.asarray(p["w"], np.float32)
        if w_scale is not None:
            w = w * w_scale[None, :, None, None]
        k = w.shape[-1]
        pad = k // 2 if pad is None else pad
        y = self.op(
            "Conv", [x, self.const(w), self.const(np.asarray(p["b"], np.float32))],
            None if relu else out, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4,
        )
        return self.op("Relu", [y], out) if relu else y

    def lin(self, x, p, out=None):
        y = self.op("MatMul", [x, self.const(np.asarray(p["w"], np.float32))])
        return self.op("Add", [y, self.const(np.asarray(p["b"], np.float32))], out)

    def l2n(self, x, out):
        sq = self.op("Mul", [x, x])
        s = self.op("ReduceSum", [sq, self.const(np.array([-1], np.int64))], keepdims=1)
        s = self.op("Add", [s, self.const(np.array(1e-6, np.float32))])
        return self.op("Div", [x, self.op("Sqrt", [s])], out)

    def model(self, inputs, outputs):
        g = helper.make_graph(self.nodes, self.name, inputs, outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="sensorium-recipe")
        m.ir_version = 8
        onnx.checker.check_model(m, full_check=True)
        return m


def _vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def image_onnx(p):
    g = G("image_encoder")
    x = g.conv("image", p["c1"], 2, relu=True)
    x = g.conv(x, p["c2"], 2, relu=True)
    x = g.conv(x, p["c3"], 2, relu=True)
    f = g.conv(x, p["c4"], 1, out="features")
    r = g.op("Relu", [f])
    m = g.op("ReduceMean", [r], axes=[2, 3], keepdims=0)
    g.lin(m, p["emb"], out="embedding")
    return g.model([_vi("image", [1, 3, 192, 320])], [_vi("features", [1, FEAT_C, 24, 40]), _vi("embedding", [1, EMB])])


def point_onnx(p):
    g = G("point_encoder")
    x = g.conv("pillars", p["c1"], 1, 0, relu=True, w_scale=PILLAR_SCALE)
    x = g.conv(x, p["c2"], 1, 0, relu=True)
    x = g.op("Mul", [x, "mask"])
    # max over the 16 points of each pillar as a 1×16 MaxPool + Squeeze, not ReduceMax(axes=[3]): the same
    # numbers, but tract 0.23's generic Reduce<Max> took 72 % of this model (10 ms of 14 ms per frame on the
    # sample), its MaxPool 1.4 ms (`sensorium models profile`).
    x = g.op("MaxPool", [x], kernel_shape=[1, 16], strides=[1, 16])
    g.op("Squeeze", [x, g.const(np.array([3], np.int64))], "pillar_features")
    return g.model(
        # P (pillars) is symbolic: the runtime passes only the pillars a frame uses (≤ 6000)
        [_vi("pillars", [1, PILLAR_F, "P", 16]), _vi("mask", [1, 1, "P", 16])],
        [_vi("pillar_features", [1, PILLAR_C, "P"])],
    )


def text_onnx(p):
    g = G("text_encoder")
    h = g.op("Gather", [g.const(np.asarray(p["tok"], np.float32)), "input_ids"], axis=0)  # [1,16,64]
    h = g.op("Add", [h, g.const(np.asarray(p["pos"], np.float32)[None])])
    h = g.op("Relu", [g.lin(h, p["l1"])])
    m = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)  # [1,16]
    m3 = g.op("Unsqueeze", [m, g.const(np.array([2], np.int64))])  # [1,16,1]
    s = g.op("ReduceSum", [g.op("Mul", [h, m3]), g.const(np.array([1], np.int64))], keepdims=0)  # [1,128]
    cnt = g.op("ReduceSum", [m, g.const(np.array([1], np.int64))], keepdims=1)  # [1,1]
    cnt = g.op("Max", [cnt, g.const(np.array(1.0, np.float32))])
    pooled = g.op("Div", [s, cnt])
    g.l2n(g.lin(pooled, p["l2"]), "embedding")
    return g.model(
        [_vi("input_ids", [1, TEXT_LEN], TensorProto.INT64), _vi("attention_mask", [1, TEXT_LEN], TensorProto.INT64)],
        [_vi("embedding", [1, EMB])],
    )


def fusion_onnx(p):
    g = G("fusion")
    c1 = g.conv("bev", p["c1"], 1, 0, relu=True)
    d1 = g.conv(c1, p["d1"], 2, relu=True)
    d2 = g.conv(d1, p["d2"], relu=True)
    u = g.op(
        "ConvTranspose",
        [d2, g.const(np.asarray(p["up"]["w"], np.float32)), g.const(np.asarray(p["up"]["b"], np.float32))],
        kernel_shape=[2, 2], strides=[2, 2],
    )
    s = g.op("Relu", [g.op("Add", [c1, u])])
    f = g.conv(s, p["c2"], 1, 0, relu=True, out="bev_features")
    g.conv(f, p["occ"], 1, 0, out="occupancy")
    g.conv(f, p["cls"], 1, 0, out="class_logits")
    tok = g.op("AveragePool", [d2], kernel_shape=[4, 4], strides=[4, 4])  # [1,64,12,12]
    tok = g.op("Reshape", [tok, g.const(np.array([1, 64, 144], np.int64))])
    tok = g.op("Transpose", [tok], perm=[0, 2, 1])  # [1,144,64]
    q = g.lin(tok, p["q"])
    it = g.op("Reshape", ["image_features", g.const(np.array([1, FEAT_C, 960], np.int64))])
    it = g.op("Transpose", [it], perm=[0, 2, 1])  # [1,960,32]
    k = g.op("Concat", [g.lin(it, p["ki"]), g.lin("text", p["kt"])], axis=1)  # [1,968,64]
    v = g.op("Concat", [g.lin(it, p["vi"]), g.lin("text", p["vt"])], axis=1)
    tb = g.op("Mul", [g.op("Sub", ["text_mask", g.const(np.array(1.0, np.float32))]), g.const(np.array(1e4, np.float32))])
    bias = g.op("Concat", [g.const(np.zeros((1, 960), np.float32)), tb], axis=1)  # [1,968]
    bias = g.op("Unsqueeze", [bias, g.const(np.array([1], np.int64))])  # [1,1,968]
    kt = g.op("Transpose", [k], perm=[0, 2, 1])
    logits = g.op("Add", [g.op("MatMul", [q, kt]), bias])
    att = g.op("Softmax", [logits], axis=-1)
    tok2 = g.op("Add", [tok, g.lin(g.op("MatMul", [att, v]), p["o"])])
    pooled = g.op("ReduceMean", [g.op("Relu", [tok2])], axes=[1], keepdims=0)  # [1,64]
    tm3 = g.op("Unsqueeze", ["text_mask", g.const(np.array([2], np.int64))])
    ts = g.op("ReduceSum", [g.op("Mul", ["text", tm3]), g.const(np.array([1], np.int64))], keepdims=0)
    tc = g.op("ReduceSum", ["text_mask", g.const(np.array([1], np.int64))], keepdims=1)
    tc = g.op("Max", [tc, g.const(np.array(1.0, np.float32))])
    tsum = g.op("Div", [ts, tc])
    h = g.op("Relu", [g.lin(g.op("Concat", [pooled, tsum], axis=1), p["s1"])])
    g.l2n(g.lin(h, p["s2"]), "scene_embedding")
    return g.model(
        [
            _vi("bev", [1, PILLAR_C, 96, 96]),
            _vi("image_features", [1, FEAT_C, 24, 40]),
            _vi("text", [1, MAX_TEXTS, EMB]),
            _vi("text_mask", [1, MAX_TEXTS]),
        ],
        [
            _vi("scene_embedding", [1, EMB]),
            _vi("bev_features", [1, BEV_C, 96, 96]),
            _vi("occupancy", [1, 1, 96, 96]),
            _vi("class_logits", [1, K_CLASSES, 96, 96]),
        ],
    )
