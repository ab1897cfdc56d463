#!/usr/bin/env python3
"""Build tiny ONNX models (with manifest.toml) that exercise sensorium-infer.

Usage: make_test_models.py OUT_DIR

Writes OUT_DIR/good/<name>/ (models that must load and match onnxruntime once
make_goldens.py has run) and OUT_DIR/bad/<name>/ (models that must fail to load
with an error naming the file and the problem). Weights are seeded random numbers;
nothing here is trained. Needs onnx, onnxruntime (for the int8 variant) and numpy.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def save(model, path):
    model = helper.make_model(model, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def to_f16(src, dst, keep_f32=("Gemm",)):
    """fp32 model → f16 weights and activations, f32 at the interface (Cast after each input and
    before each output): what onnxconverter-common's convert_float_to_float16(keep_io_types=True,
    node_block_list=...) does. Gemm stays f32 (Casts around it): tract 0.23.9 fails to type an f16 Gemm
    ("Output mismatch after rewiring expansion: expected F16 got F32")."""
    m = onnx.load(src)
    g = m.graph
    kept = {x for n in g.node if n.op_type in keep_f32 for x in n.input}
    for n in [n for n in g.node if n.op_type in keep_f32]:
        inits = {t.name for t in g.initializer}
        pos = list(g.node).index(n)
        before, after = [], []
        for k, x in enumerate(n.input):
            if x in inits:
                continue
            n.input[k] = x + "_to_f32"
            before.append(helper.make_node("Cast", [x], [x + "_to_f32"], to=TensorProto.FLOAT))
        for k, y in enumerate(n.output):
            n.output[k] = y + "_f32"
            after.append(helper.make_node("Cast", [y + "_f32"], [y], to=TensorProto.FLOAT16))
        nodes = list(g.node)
        nodes = nodes[:pos] + before + [n] + after + nodes[pos + 1:]
        del g.node[:]
        g.node.extend(nodes)
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT and t.name not in kept:
            a = numpy_helper.to_array(t).astype(np.float16)
            g.initializer[i].CopyFrom(numpy_helper.from_array(a, t.name))
    casts_in = []
    for inp in g.input:
        if inp.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        half = inp.name + "_f16"
        for n in g.node:
            for k, x in enumerate(n.input):
                if x == inp.name:
                    n.input[k] = half
        casts_in.append(helper.make_node("Cast", [inp.name], [half], to=TensorProto.FLOAT16))
    casts_out = []
    for out in g.output:
        half = out.name + "_f16"
        for n in g.node:
            for k, x in enumerate(n.output):
                if x == out.name:
                    n.output[k] = half
            for k, x in enumerate(n.input):  # an output also consumed inside the graph
                if x == out.name:
                    n.input[k] = half
        casts_out.append(helper.make_node("Cast", [half], [out.name], to=TensorProto.FLOAT))
    nodes = casts_in + list(g.node) + casts_out
    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]
    onnx.checker.check_model(m)
    onnx.save(m, dst)


def tiny_image(d, rng):
    """Conv/ReLU/pool encoder: features (stride 2) + embedding; plus an int8 QDQ variant."""
    h, w = 24, 40
    w1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, (8,)).astype(np.float32)
    w2 = rng.normal(0, 0.3, (16, 8, 3, 3)).astype(np.float32)
    b2 = rng.normal(0, 0.1, (16,)).astype(np.float32)
    wf = rng.normal(0, 0.3, (16, 12)).astype(np.float32)
    bf = rng.normal(0, 0.1, (12,)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["features"]),
        helper.make_node("GlobalAveragePool", ["features"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "wf", "bf"], ["embedding"]),
    ]
    g = helper.make_graph(
        nodes,
        "tiny_image",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, h, w])],
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 16, h // 2, w // 2]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 12]),
        ],
        [init("w1", w1), init("b1", b1), init("w2", w2), init("b2", b2), init("wf", wf), init("bf", bf)],
    )
    save(g, os.path.join(d, "model.onnx"))
    to_f16(os.path.join(d, "model.onnx"), os.path.join(d, "model.f16.onnx"))

    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(
                [{"image": rng.normal(0, 1, (1, 3, h, w)).astype(np.float32)} for _ in range(8)]
            )

        def get_next(self):
            return next(self.items, None)

    quantize_static(
        os.path.join(d, "model.onnx"),
        os.path.join(d, "model.int8.onnx"),
        Reader(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=False,
    )
    write(
        os.path.join(d, "manifest.toml"),
        f"""name = "tiny_image"
role = "image"

[[inputs]]
name = "image"
shape = [1, 3, {h}, {w}]
dtype = "f32"
layout = "NCHW"

[preprocess.image]
width = {w}
height = {h}
resize = "stretch"
interpolation = "bilinear"
mean = [0.485, 0.456, 0.406]
std = [0.229, 0.224, 0.225]
channel_order = "rgb"
input = "f32"

[[outputs]]
name = "features"
shape = [1, 16, {h // 2}, {w // 2}]
meaning = "feature map"
stride = 2

[[outputs]]
name = "embedding"
shape = [1, 12]
meaning = "global embedding"
normalised = false

[quantization]
format = "fp32"

[[variants]]
name = "int8"
file = "model.int8.onnx"
format = "int8-qdq"
calibration = "8 random normal images, onnxruntime quantize_static, QDQ, u8 activations, s8 weights"

[[variants]]
name = "f16"
file = "model.f16.onnx"
format = "f16"
calibration = "weights and activations cast to float16, float32 inputs and outputs"

[provenance]
recipe = "crates/infer/tests/python/make_test_models.py"
data = "random weights"
seed = 7
metrics = {{ note = 0.0 }}
""",
    )


VOCAB = ["[PAD]", "[UNK]", "a", "car", "truck", "pedestrian", "cyclist", "cone", "ahead", "left", "right",
         "on", "the", "road", "parked", "crossing", ",", ".", "stop", "sign"]


def tokenizer_json():
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": 0, "content": "[PAD]", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True},
            {"id": 1, "content": "[UNK]", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True},
        ],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": {t: i for i, t in enumerate(VOCAB)}, "unk_token": "[UNK]"},
    }


def tiny_text(d, rng):
    """Masked mean of token embeddings -> linear -> L2 normalise; symbolic batch dim."""
    L, E, D = 16, 16, 8
    emb = rng.normal(0, 1, (len(VOCAB), E)).astype(np.float32)
    wp = rng.normal(0, 0.5, (E, D)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["emb", "input_ids"], ["tok"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "axis2"], ["mask3"]),
        helper.make_node("Mul", ["tok", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["maskf", "axis1"], ["count"], keepdims=1),
        helper.make_node("Max", ["count", "one"], ["count1"]),
        helper.make_node("Div", ["summed", "count1"], ["mean"]),
        helper.make_node("MatMul", ["mean", "wp"], ["proj"]),
        helper.make_node("LpNormalization", ["proj"], ["embedding"], axis=-1, p=2),
    ]
    g = helper.make_graph(
        nodes,
        "tiny_text",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", L]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", L]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", D])],
        [
            init("emb", emb),
            init("wp", wp),
            init("axis1", np.array([1], dtype=np.int64)),
            init("axis2", np.array([2], dtype=np.int64)),
            init("one", np.array([1.0], dtype=np.float32)),
        ],
    )
    save(g, os.path.join(d, "model.onnx"))
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(), f)
    write(
        os.path.join(d, "manifest.toml"),
        f"""name = "tiny_text"
role = "text"

[[inputs]]
name = "input_ids"
shape = [1, {L}]
dtype = "i64"

[[inputs]]
name = "attention_mask"
shape = [1, {L}]
dtype = "i64"

[preprocess.text]
tokenizer = "tokenizer.json"
max_len = {L}

[[outputs]]
name = "embedding"
shape = [1, {D}]
meaning = "text embedding"
normalised = true
""",
    )


def matmul_heavy(d, rng):
    """Four 512x512 MatMul+ReLU layers over 256 tokens: where threads pay off."""
    n, k = 256, 512
    nodes, inits, prev = [], [], "x"
    for i in range(4):
        inits.append(init(f"w{i}", (rng.normal(0, 1, (k, k)) / np.sqrt(k)).astype(np.float32)))
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"]))
        out = "y" if i == 3 else f"r{i}"
        nodes.append(helper.make_node("Relu", [f"m{i}"], [out]))
        prev = out
    g = helper.make_graph(
        nodes,
        "matmul_heavy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n, k])],
        inits,
    )
    save(g, os.path.join(d, "model.onnx"))
    write(
        os.path.join(d, "manifest.toml"),
        f"""name = "matmul_heavy"
role = "fusion"

[[inputs]]
name = "x"
shape = [1, {n}, {k}]
dtype = "f32"

[[outputs]]
name = "y"
shape = [1, {n}, {k}]
meaning = "tokens"
""",
    )


def qdq_softmax_graph(in_scale=0.05, out_scale=1.0 / 256.0):
    """x -> Q -> DQ -> Softmax(last axis) -> Q -> DQ -> y: the pattern tract folds into a lookup table."""
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s_in", "z_in"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s_in", "z_in"], ["xd"]),
        helper.make_node("Softmax", ["xd"], ["p"], axis=-1),
        helper.make_node("QuantizeLinear", ["p", "s_out", "z_out"], ["pq"]),
        helper.make_node("DequantizeLinear", ["pq", "s_out", "z_out"], ["y"]),
    ]
    return helper.make_graph(
        nodes,
        "qdq_softmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 16])],
        [
            init("s_in", np.array(in_scale, dtype=np.float32)),
            init("z_in", np.array(128, dtype=np.uint8)),
            init("s_out", np.array(out_scale, dtype=np.float32)),
            init("z_out", np.array(0, dtype=np.uint8)),
        ],
    )


def qdq_softmax(d):
    save(qdq_softmax_graph(), os.path.join(d, "model.onnx"))
    write(
        os.path.join(d, "manifest.toml"),
        """name = "qdq_softmax"
role = "fusion"

[[inputs]]
name = "x"
shape = [1, 4, 16]
dtype = "f32"

[[outputs]]
name = "y"
shape = [1, 4, 16]
meaning = "attention weights"

[quantization]
format = "int8-qdq"
""",
    )


def simple_graph(op="Relu", domain=None, rank=4):
    shape = [1, 3, 8, 8][:rank]
    node = helper.make_node(op, ["x"], ["y"], domain=domain) if domain else helper.make_node(op, ["x"], ["y"])
    return helper.make_graph(
        [node],
        "simple",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )


SIMPLE_MANIFEST = """name = "{name}"
role = "image"

[[inputs]]
name = "x"
shape = {shape}
dtype = "f32"

[[outputs]]
name = "{out}"
meaning = "test"
"""


def bad_models(root):
    def mk(name):
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        return d

    d = mk("wrong_rank")  # manifest rank 3, graph rank 4
    save(simple_graph(), os.path.join(d, "model.onnx"))
    write(os.path.join(d, "manifest.toml"), SIMPLE_MANIFEST.format(name="wrong_rank", shape="[1, 3, 8]", out="y"))

    d = mk("missing_output")  # manifest names an output the graph lacks
    save(simple_graph(), os.path.join(d, "model.onnx"))
    write(os.path.join(d, "manifest.toml"),
          SIMPLE_MANIFEST.format(name="missing_output", shape="[1, 3, 8, 8]", out="logits"))

    d = mk("corrupt")  # not a protobuf
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(b"\x0a\xff\xff\xff\xff\x0fthis is not an onnx model" * 4)
    write(os.path.join(d, "manifest.toml"), SIMPLE_MANIFEST.format(name="corrupt", shape="[1, 3, 8, 8]", out="y"))

    d = mk("unsupported_op")  # an op no runtime knows
    g = simple_graph(op="FrobnicateLinear", domain="com.example.sensorium")
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET),
                                            helper.make_opsetid("com.example.sensorium", 1)])
    m.ir_version = 8
    onnx.save(m, os.path.join(d, "model.onnx"))
    write(os.path.join(d, "manifest.toml"),
          SIMPLE_MANIFEST.format(name="unsupported_op", shape="[1, 3, 8, 8]", out="y"))

    d = mk("missing_file")  # manifest only
    write(os.path.join(d, "manifest.toml"),
          SIMPLE_MANIFEST.format(name="missing_file", shape="[1, 3, 8, 8]", out="y"))

    d = mk("qdq_softmax")
    qdq_softmax(d)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    rng = np.random.default_rng(7)
    for name, fn in [("tiny_image", tiny_image), ("tiny_text", tiny_text), ("matmul_heavy", matmul_heavy)]:
        d = os.path.join(out, "good", name)
        os.makedirs(d, exist_ok=True)
        fn(d, rng)
    bad_models(os.path.join(out, "bad"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
