#!/usr/bin/env python3
"""Minimal reproduction (for upstream sonos/tract) of Softmax folded into a QDQ lookup table.

Usage: repro_tract_qdq_softmax.py [OUT_DIR]   (needs onnx, onnxruntime, numpy)

Writes OUT_DIR/qdq_softmax.onnx and OUT_DIR/input.npy / expected.npy:

    x[1,4,16] -> QuantizeLinear(0.05, 128 u8) -> DequantizeLinear
              -> Softmax(axis=-1)
              -> QuantizeLinear(1/256, 0 u8) -> DequantizeLinear -> y

then prints onnxruntime's output. Run tract on the same model, e.g.
    tract OUT_DIR/qdq_softmax.onnx --input-from-npz ... run   (or any tract-onnx program)
and compare: tract 0.23 rewrites DQ -> Softmax -> Q into a 256-entry lookup table as if
Softmax were element-wise (it normalises over the axis), so each output depends only on
its own input: rows no longer sum to 1 and the relative L2 error is > 0.1.
sensorium's test `qdq_softmax_is_refused_and_the_tract_bug_is_real` runs exactly this
model through tract-onnx 0.23 and measures the error.
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    init = lambda n, v: numpy_helper.from_array(np.asarray(v), n)  # noqa: E731
    g = helper.make_graph(
        [
            helper.make_node("QuantizeLinear", ["x", "s_in", "z_in"], ["xq"]),
            helper.make_node("DequantizeLinear", ["xq", "s_in", "z_in"], ["xd"]),
            helper.make_node("Softmax", ["xd"], ["p"], axis=-1),
            helper.make_node("QuantizeLinear", ["p", "s_out", "z_out"], ["pq"]),
            helper.make_node("DequantizeLinear", ["pq", "s_out", "z_out"], ["y"]),
        ],
        "qdq_softmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 16])],
        [
            init("s_in", np.array(0.05, np.float32)),
            init("z_in", np.array(128, np.uint8)),
            init("s_out", np.array(1 / 256, np.float32)),
            init("z_out", np.array(0, np.uint8)),
        ],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    path = os.path.join(out, "qdq_softmax.onnx")
    onnx.save(m, path)
    x = np.random.default_rng(0).standard_normal((1, 4, 16)).astype(np.float32)
    y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.save(os.path.join(out, "input.npy"), x)
    np.save(os.path.join(out, "expected.npy"), y)
    print(f"wrote {path}; onnxruntime row sums (expect ~1): {y.sum(-1).round(3).tolist()}")


if __name__ == "__main__":
    main()
