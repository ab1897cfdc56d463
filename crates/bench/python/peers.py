"""The peers `sensorium bench` measures itself against, each on the same inputs the Rust side wrote.

Run with the project's .venv python (scripts/setup-venv.sh): OpenCV (opencv-python-headless), onnxruntime and
onnx from the venv, Debian's rospy, sensor_msgs and rosbag through its system site-packages.

usage: peers.py COMMAND ARGS...   (each prints one JSON object on its last stdout line)
  versions
  read_points PAYLOAD ITERS              sensor_msgs.point_cloud2.read_points on a serialized PointCloud2
  imdecode JPEG ITERS                    cv2.imdecode (one thread)
  resize RGB.npy W H ITERS               cv2.resize (INTER_LINEAR, float32) + normalise + HWC->CHW, as the recipe
  project POINTS.npy fx fy cx cy k1 k2 p1 p2 k3 ITERS   cv2.projectPoints (one thread)
  ort MODEL INPUT_DIR THREADS ITERS      onnxruntime CPU session, inputs INPUT_DIR/<name>.npy
  macs MODEL INPUT_DIR                   multiply-accumulates of Conv/MatMul/Gemm at the inputs' shapes
  gemm DTYPE N THREADS ITERS             onnxruntime MatMul (f32) / MatMulInteger (u8 x s8) N x N x N
"""
import json
import os
import sys
import time

import numpy as np


def stats(times):
    t = np.sort(np.asarray(times, dtype=np.float64)) * 1e3
    p99 = t[min(len(t) - 1, int(np.ceil(0.99 * len(t))) - 1)]
    return {"median_ms": float(np.median(t)), "p99_ms": float(p99), "iters": len(t)}


def timed(fn, iters, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return stats(times)


def out(obj):
    print(json.dumps(obj))


def cmd_versions():
    v = {"python": sys.version.split()[0], "numpy": np.__version__}
    try:
        import cv2

        v["opencv"] = cv2.__version__
    except Exception as e:  # noqa: BLE001
        v["opencv"] = f"missing: {e}"
    try:
        import onnxruntime as ort

        v["onnxruntime"] = ort.__version__
    except Exception as e:  # noqa: BLE001
        v["onnxruntime"] = f"missing: {e}"
    out(v)


def cmd_read_points(payload_path, iters):
    from sensor_msgs import point_cloud2
    from sensor_msgs.msg import PointCloud2

    payload = open(payload_path, "rb").read()

    def run():
        c = PointCloud2()
        c.deserialize(payload)
        return np.array(list(point_cloud2.read_points(c, ("x", "y", "z", "intensity"), skip_nans=True)),
                        np.float32)

    r = timed(run, int(iters))
    r["bytes"] = len(payload)
    r["points"] = int(len(run()))
    out(r)


def cmd_read_bag(path, iters):
    """Debian's python rosbag reading every message (raw: the serialized bytes, as sensorium hands them)."""
    import rosbag

    counts = {}

    def run():
        n = b = 0
        with rosbag.Bag(path) as bag:
            for _, m, _ in bag.read_messages(raw=True):
                n += 1
                b += len(m[1])
        counts["messages"], counts["bytes"] = n, b

    r = timed(run, int(iters), warmup=0)
    r.update(counts)
    out(r)


def cmd_imdecode(path, iters):
    import cv2

    cv2.setNumThreads(1)
    buf = np.frombuffer(open(path, "rb").read(), np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    r = timed(lambda: cv2.imdecode(buf, cv2.IMREAD_COLOR), int(iters))
    r["shape"] = list(img.shape)
    out(r)


def cmd_resize(path, w, h, iters):
    import cv2

    cv2.setNumThreads(1)
    rgb = np.load(path)
    w, h = int(w), int(h)
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)

    def run():
        x = cv2.resize(rgb.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        x = (x / np.float32(255.0) - mean) / std
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    out(timed(run, int(iters)))


def cmd_project(path, fx, fy, cx, cy, k1, k2, p1, p2, k3, iters):
    import cv2

    cv2.setNumThreads(1)
    pts = np.load(path).astype(np.float64)
    K = np.array([[float(fx), 0, float(cx)], [0, float(fy), float(cy)], [0, 0, 1.0]])
    D = np.array([float(k1), float(k2), float(p1), float(p2), float(k3)])
    z = np.zeros(3)
    r = timed(lambda: cv2.projectPoints(pts, z, z, K, D), int(iters))
    r["points"] = int(len(pts))
    out(r)


def session(model, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def load_inputs(sess, input_dir):
    return {i.name: np.load(os.path.join(input_dir, i.name + ".npy")) for i in sess.get_inputs()}


def cmd_ort(model, input_dir, threads, iters):
    s = session(model, threads)
    feeds = load_inputs(s, input_dir)
    out(timed(lambda: s.run(None, feeds), int(iters), warmup=2))


def cmd_macs(model, input_dir):
    import onnx
    from onnx import numpy_helper, shape_inference

    m = onnx.load(model)
    inits = {i.name: list(i.dims) for i in m.graph.initializer}
    for inp in m.graph.input:
        p = os.path.join(input_dir, inp.name + ".npy")
        if inp.name in inits or not os.path.exists(p):
            continue
        shape = np.load(p, mmap_mode="r").shape
        dims = inp.type.tensor_type.shape.dim
        for d, n in zip(dims, shape):
            d.ClearField("dim_param")
            d.dim_value = int(n)
    m = shape_inference.infer_shapes(m, data_prop=True)
    shapes = dict(inits)
    for vi in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input):
        dims = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    # DequantizeLinear outputs carry their input's shape (QDQ models)
    for n in m.graph.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in shapes and n.output[0] not in shapes:
            shapes[n.output[0]] = shapes[n.input[0]]
    _ = numpy_helper
    total, unknown = 0, []
    for n in m.graph.node:
        try:
            if n.op_type in ("Conv", "ConvInteger", "QLinearConv"):
                wi = 3 if n.op_type == "QLinearConv" else 1
                o, w = shapes[n.output[0]], shapes[n.input[wi]]
                total += int(np.prod(o)) * int(np.prod(w[1:]))
            elif n.op_type in ("MatMul", "MatMulInteger", "QLinearMatMul"):
                ai = 0
                o, a = shapes[n.output[0]], shapes[n.input[ai]]
                total += int(np.prod(o)) * int(a[-1])
            elif n.op_type == "Gemm":
                o, a = shapes[n.output[0]], shapes[n.input[0]]
                trans_a = any(at.name == "transA" and at.i == 1 for at in n.attribute)
                total += int(np.prod(o)) * int(a[0] if trans_a else a[-1])
        except (KeyError, TypeError, ValueError):
            unknown.append(n.name or n.op_type)
    out({"macs": total, "unknown_nodes": unknown})


def cmd_gemm(dtype, n, threads, iters):
    import onnx
    from onnx import TensorProto, helper

    n = int(n)
    rng = np.random.default_rng(0)
    if dtype == "f32":
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        node = helper.make_node("MatMul", ["a", "b"], ["y"])
        ins = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n]),
               helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n])]
        outs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])]
    else:
        a = rng.integers(0, 255, (n, n), dtype=np.uint8)
        b = rng.integers(-127, 127, (n, n), dtype=np.int8)
        node = helper.make_node("MatMulInteger", ["a", "b"], ["y"])
        ins = [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n]),
               helper.make_tensor_value_info("b", TensorProto.INT8, [n, n])]
        outs = [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])]
    g = helper.make_graph([node], "gemm", ins, outs)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"sensorium-gemm-{dtype}-{n}-{os.getpid()}.onnx")
    onnx.save(model, path)
    try:
        s = session(path, threads)
        r = timed(lambda: s.run(None, {"a": a, "b": b}), int(iters), warmup=2)
    finally:
        os.unlink(path)
    r["gmacs_per_s"] = n ** 3 / (r["median_ms"] * 1e-3) / 1e9
    out(r)


COMMANDS = {
    "versions": cmd_versions,
    "read_points": cmd_read_points,
    "read_bag": cmd_read_bag,
    "imdecode": cmd_imdecode,
    "resize": cmd_resize,
    "project": cmd_project,
    "ort": cmd_ort,
    "macs": cmd_macs,
    "gemm": cmd_gemm,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
