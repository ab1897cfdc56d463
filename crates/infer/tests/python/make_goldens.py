#!/usr/bin/env python3
"""Make golden input/output pairs for a sensorium model folder with onnxruntime.

Usage:
  make_goldens.py MODEL_DIR [MODEL_DIR ...] [--seed N] [--dim NAME=VALUE ...]
                  [--int-high N] [--inputs-from DIR] [--threads N] [--no-ort-opt]

MODEL_DIR holds manifest.toml and model.onnx (plus the variant files the manifest
lists under [[variants]]). The script writes

  MODEL_DIR/golden/inputs/<input name>.npy         one array per manifest input
  MODEL_DIR/golden/outputs/<output name>.npy       onnxruntime outputs of model.onnx
  MODEL_DIR/golden/outputs.<variant>/<name>.npy    outputs of each variant on the same inputs

Inputs follow the manifest's [[inputs]] (shape, dtype). Symbolic dims take --dim
values (default 1). f32 inputs are standard normal; u8 inputs uniform 0..255; i64
inputs named like "*mask*" are 1 for a random prefix and 0 after it, other i64 inputs
are uniform in [0, --int-high) (default: the vocabulary size of the manifest's
tokenizer when there is one, else 16) and zero where the mask is zero.
--inputs-from DIR takes <input name>.npy from DIR instead (real preprocessed data).
Outputs are stored as float32 (any float type is cast), inputs keep their dtype.
Needs numpy and onnxruntime (the PyPI wheel); Python >= 3.11 for tomllib.
"""
import argparse
import json
import os
import sys
import tomllib

import numpy as np
import onnxruntime as ort

DTYPES = {"f32": np.float32, "i64": np.int64, "u8": np.uint8}


def concrete_shape(shape, dims):
    out = []
    for d in shape:
        if isinstance(d, int):
            out.append(d)
        else:
            out.append(int(dims.get(d, 1)))
    return out


def vocab_size(model_dir, manifest):
    text = manifest.get("preprocess", {}).get("text")
    if not text:
        return None
    path = os.path.join(model_dir, text["tokenizer"])
    with open(path, encoding="utf-8") as f:
        tok = json.load(f)
    vocab = tok.get("model", {}).get("vocab", {})
    return len(vocab) if isinstance(vocab, (dict, list)) and len(vocab) else None


def make_inputs(model_dir, manifest, args, rng):
    feeds = {}
    high = args.int_high or vocab_size(model_dir, manifest) or 16
    masks = {}
    for spec in manifest["inputs"]:
        name, dtype = spec["name"], spec["dtype"]
        if dtype not in DTYPES:
            raise SystemExit(f"{model_dir}/manifest.toml: input {name}: unknown dtype {dtype}")
        shape = concrete_shape(spec["shape"], args.dims)
        if args.inputs_from:
            arr = np.load(os.path.join(args.inputs_from, f"{name}.npy")).astype(DTYPES[dtype])
            if list(arr.shape) != shape:
                raise SystemExit(f"{args.inputs_from}/{name}.npy: shape {list(arr.shape)} != manifest {shape}")
        elif dtype == "f32":
            arr = rng.standard_normal(shape).astype(np.float32)
        elif dtype == "u8":
            arr = rng.integers(0, 256, shape, dtype=np.uint8)
        elif "mask" in name:
            arr = np.zeros(shape, dtype=np.int64)
            flat = arr.reshape(-1, shape[-1])
            for row in flat:
                row[: rng.integers(1, shape[-1] + 1)] = 1
            masks[tuple(shape)] = arr
        else:
            arr = rng.integers(0, high, shape, dtype=np.int64)
        feeds[name] = arr
    # ids beyond the mask are padding (0), as the tokenizer writes them
    for spec in manifest["inputs"]:
        name = spec["name"]
        arr = feeds[name]
        if not args.inputs_from and arr.dtype == np.int64 and "mask" not in name:
            mask = masks.get(tuple(arr.shape))
            if mask is not None:
                feeds[name] = arr * mask
    return feeds


def run(path, feeds, output_names, threads, ort_opt=True):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    if not ort_opt:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return dict(zip(output_names, sess.run(output_names, feeds)))


def save_all(folder, arrays):
    os.makedirs(folder, exist_ok=True)
    for name, arr in arrays.items():
        np.save(os.path.join(folder, f"{name}.npy"), arr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dirs", nargs="+")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dim", action="append", default=[], help="NAME=VALUE for a symbolic dim")
    p.add_argument("--int-high", type=int, default=None)
    p.add_argument("--inputs-from", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-ort-opt", dest="ort_opt", action="store_false",
                   help="run onnxruntime with graph optimizations off (default: on, as deployed)")
    args = p.parse_args()
    args.dims = {}
    for d in args.dim:
        k, _, v = d.partition("=")
        args.dims[k] = int(v)
    for model_dir in args.model_dirs:
        with open(os.path.join(model_dir, "manifest.toml"), "rb") as f:
            manifest = tomllib.load(f)
        rng = np.random.default_rng(args.seed)
        feeds = make_inputs(model_dir, manifest, args, rng)
        outputs = [o["name"] for o in manifest["outputs"]]
        golden = os.path.join(model_dir, "golden")
        save_all(os.path.join(golden, "inputs"), feeds)
        res = run(os.path.join(model_dir, manifest.get("file", "model.onnx")), feeds, outputs, args.threads, args.ort_opt)
        save_all(os.path.join(golden, "outputs"), {k: v.astype(np.float32) for k, v in res.items()})
        for var in manifest.get("variants", []):
            res = run(os.path.join(model_dir, var["file"]), feeds, outputs, args.threads, args.ort_opt)
            save_all(os.path.join(golden, f"outputs.{var['name']}"),
                     {k: v.astype(np.float32) for k, v in res.items()})
        print(f"{model_dir}: goldens for {len(feeds)} inputs, {len(outputs)} outputs, "
              f"{len(manifest.get('variants', []))} variants")
    return 0


if __name__ == "__main__":
    sys.exit(main())
