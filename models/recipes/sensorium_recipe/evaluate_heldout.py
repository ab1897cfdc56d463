"""Held-out metrics of a models folder on more simulator seeds than the recipe's 8 (the recipe's scorer).

  python -m sensorium_recipe.evaluate_heldout --models models/ --data /tmp/simdata [--seeds 9001-9032]
      [--sim-cmd TEMPLATE] [--json F]

The recipe scores 80 frames (seeds 9001-9008), where one frame is 1.25 points of retrieval top-1, so "int8 within
2 points of fp32" is a one-frame question there. This scores fp32 and int8 on as many held-out seeds as asked
(every 4th of 40 sweeps, map text as a replay fuses it: the recipe's eval plan), exporting missing seeds with
--sim-cmd, and prints every metric of both variants with the int8 - fp32 differences.
Held-out seeds must stay out of the training plan (plan: train seeds 1..480).
"""
from __future__ import annotations

import argparse
import json
import os

from . import classes as model_classes
from .data import ensure_data, load_seed, stale_map_texts
from .pipeline import Pipeline
from .plan import TARGETS, _plan
from .scorer import evaluate


def seed_range(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def main():
    ap = argparse.ArgumentParser(prog="python -m sensorium_recipe.evaluate_heldout", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--seeds", default="9001-9032")
    ap.add_argument("--sim-cmd", default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    from tokenizers import Tokenizer

    cfg = _plan(False)
    seeds = seed_range(a.seeds)
    overlap = sorted(set(seeds) & set(cfg["train_seeds"]))
    if overlap:
        raise SystemExit(f"seeds {overlap[:5]}... are training seeds, not held out")
    dirs = ensure_data(a.data, "eval", seeds, cfg["eval_frames"], a.sim_cmd, a.jobs)
    drives = []
    for d in dirs:
        fs, texts = load_seed(d, cfg["eval_frames"], cfg["eval_stride"])
        drives.append((fs, stale_map_texts(texts, cfg["eval_stride"])))
    tok = Tokenizer.from_file(os.path.join(a.models, "text_encoder", "tokenizer.json"))
    classes = model_classes.load(a.models)
    res = {}
    for name, f in [("fp32", "model.onnx"), ("int8", "model.int8.onnx")]:
        res[name] = evaluate(Pipeline(a.models, tok, f), drives, classes)
    keys = [k for k in res["fp32"] if not k.startswith("objects") and k != "frames"]
    print(f"{res['fp32']['frames']} frames of {len(seeds)} held-out seeds ({a.seeds})")
    for k in keys:
        f32, i8 = res["fp32"][k], res["int8"][k]
        tgt = TARGETS.get(k)
        print(f"{k:22s} int8 {i8:.4f}  fp32 {f32:.4f}  int8-fp32 {i8 - f32:+.4f}"
              + (f"  target >= {tgt}: {'met' if i8 >= tgt else 'NOT met'}" if tgt else ""))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"seeds": seeds, **res}, fh, indent=1)


if __name__ == "__main__":
    main()
