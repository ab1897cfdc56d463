"""ONNX export of trained parameters, its check against JAX, and int8 quantization."""
from __future__ import annotations

import os

import numpy as np

from .data import encode_texts
from .plan import ROLES


def export(params, out):
    import onnx
    from . import nets

    builders = {"image": nets.image_onnx, "point": nets.point_onnx, "text": nets.text_onnx, "fusion": nets.fusion_onnx}
    for role, d in ROLES.items():
        os.makedirs(os.path.join(out, d), exist_ok=True)
        onnx.save(builders[role](params[role]), os.path.join(out, d, "model.onnx"))


def parity(params, pipe, fr, tok):
    """Relative L2 between the exported graphs (onnxruntime) and the JAX forward on one frame."""
    import jax.numpy as jnp
    from . import nets

    keep = {}
    o = pipe.frame(fr, keep)
    nhwc = lambda a: jnp.asarray(np.ascontiguousarray(np.moveaxis(a, 1, -1)))  # noqa: E731
    f_j, e_j = nets.image_forward(params["image"], nhwc(keep["image"]["image"]))
    f_o, e_o = pipe.s["image"].run(None, keep["image"])
    pil = keep["point"]["pillars"]
    pf_j = nets.point_forward(params["point"], jnp.asarray(pil[0].transpose(1, 2, 0)[None]),
                              jnp.asarray(keep["point"]["mask"][:, 0]))
    pf_o = pipe.s["point"].run(None, keep["point"])[0]
    fz = keep["fusion"]
    fj = nets.fusion_forward(params["fusion"], nhwc(fz["bev"]), nhwc(fz["image_features"]), jnp.asarray(fz["text"]),
                             jnp.asarray(fz["text_mask"]))
    ids, am = encode_texts(tok, [fr["caption"]])
    tj = nets.text_forward(params["text"], jnp.asarray(ids), jnp.asarray(am))
    to = pipe.s["text"].run(None, {"input_ids": ids, "attention_mask": am})[0]
    rel = lambda a, b: float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / max(np.linalg.norm(np.asarray(b)), 1e-12))  # noqa: E731
    chw = lambda a: np.moveaxis(np.asarray(a), -1, 1)  # noqa: E731
    return keep, {"image.features": rel(f_o, chw(f_j)), "image.embedding": rel(e_o, e_j),
                  "point": rel(pf_o, np.asarray(pf_j).transpose(0, 2, 1)), "text": rel(to, tj),
                  "fusion.scene": rel(o["scene_embedding"], fj[0]), "fusion.occupancy": rel(o["occupancy"], chw(fj[2])),
                  "fusion.class": rel(o["class_logits"], chw(fj[3]))}



def float_nodes(role, model):
    """Nodes left in float by the quantizer: the point encoder's first layer (its input mixes metres,
    intensity and 0.25-m offsets in one tensor: one per-tensor u8 scale would erase the offsets), the
    fusion's 1x1 occupancy/class heads (2 MMAC, and the metrics read their logits directly), and every
    MatMul of two activations (attention's Q.K^T and softmax.V: no weights to store in int8, and u8
    attention probabilities cost the text encoder 2.2 points of held-out scene -> caption top-1 against
    fp32, none with them float; 1.0 of its 5.2 MMAC at 64 tokens)."""
    weights = {i.name for i in model.graph.initializer}
    keep = []
    for n in model.graph.node:
        if n.op_type == "MatMul" and not weights & set(n.input):
            keep.append(n.name)
        if role == "point" and n.op_type == "Conv" and "pillars" in n.input:
            keep.append(n.name)
        if role == "fusion" and n.op_type == "Conv" and set(n.output) & {"occupancy", "class_logits"}:
            keep.append(n.name)
    return keep


# The fusion's MatMuls (BEV-token attention over image and map-text tokens, the scene head) stay float: a
# same-seed rerun lost 6.3 points of retrieval top-1 to their u8 activations (per-channel weight scales did
# not help); Conv-only fusion was within 1.4 points of fp32 on every metric. They are a
# small share of the fusion's MACs.
QUANTIZED_OPS = {"fusion": ["Conv"]}
# Activation ranges: min/max over the calibration frames, except where a few outliers stretch the u8 scale. A
# fusion model measured this way lost 3.7 points of top-1 to int8 with min/max ranges (the other models alone:
# <= 2.5) and none with the 0.001..99.999 percentile of each activation. Values: onnxruntime's CalibrationMethod names.
CALIBRATION = {"fusion": "Percentile"}


def quantize(out, calib_feeds):
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

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
            calibrate_method=getattr(CalibrationMethod, CALIBRATION.get(role, "MinMax")),
            op_types_to_quantize=QUANTIZED_OPS.get(role, ["Conv", "MatMul"]), per_channel=False, reduce_range=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            nodes_to_exclude=float_nodes(role, onnx.load(src)),
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
        # the point role only: on the image and fusion files onnxruntime's optimized int8 run of the rewritten
        # graph moves (fusion logits by up to 4.2) although its unoptimized run does not
        if role == "point":
            relu_before_fake_quant(dst)


def relu_before_fake_quant(path):
    """Conv -> Q -> DQ -> Relu becomes Conv -> Relu -> Q -> DQ: the same function (0 quantizes exactly to
    the zero point, so a Relu commutes with the fake quantization; on the point encoder onnxruntime's
    outputs are bit-identical, optimized or not), and
    tract fuses a Relu that follows a Conv into its matmul instead of running it as a separate Max (the
    point encoder's int8 file: 10.3 -> 6.2 ms on the 512-pillar golden, `sensorium models profile`)."""
    import onnx

    m = onnx.load(path)
    nodes = list(m.graph.node)
    by_out = {o: n for n in nodes for o in n.output}
    graph_outputs = {o.name for o in m.graph.output}

    def sole_use(name):  # consumed by one node input and not a graph output
        return name not in graph_outputs and sum(list(n.input).count(name) for n in nodes) == 1

    for r in [n for n in nodes if n.op_type == "Relu"]:
        dq = by_out.get(r.input[0])
        q = by_out.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
        conv = by_out.get(q.input[0]) if q is not None and q.op_type == "QuantizeLinear" else None
        if conv is None or conv.op_type != "Conv":
            continue
        if not (sole_use(conv.output[0]) and sole_use(q.output[0]) and sole_use(dq.output[0])):
            continue
        relu_out = r.output[0]
        r.input[0], r.output[0] = conv.output[0], conv.output[0] + "_relu"
        q.input[0] = r.output[0]
        dq.output[0] = relu_out
        nodes.remove(r)
        nodes.insert(nodes.index(q), r)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)

