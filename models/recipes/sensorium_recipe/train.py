"""Train a teacher, distil it into the students, quantize, score and package the four sensorium
encoders (MODEL_SPEC v2).

  python -m sensorium_recipe.train --data DATA [--quick] [--seed 0] [--out models/] [--sim-cmd TEMPLATE] [--jobs 2]

DATA holds one `sensorium sim --export-training` folder per simulator seed: DATA/train/seed-<n>/ and
DATA/eval/seed-<n>/ (eval seeds are never used for training). With --sim-cmd, missing folders are
made by running TEMPLATE with {dir}, {frames} and {seed} filled in, e.g.
  --sim-cmd 'sensorium sim --frames {frames} --seed {seed} --export-training {dir}'

Steps:
 1. export (sim) and preprocess every frame (preprocess, the numpy twin of the Rust runtime);
 2. pretrain the text encoder alone on every distinct training caption and map annotation: predict the
    caption's structured attributes (captions: road, zone, limit, crosswalk distance, objects by
    class and place, their order and count) through a linear head shared with the scene side;
 3. train the teacher (nets.ARCH["teacher"]): image encoder, pillar PointNet on painted points,
    transformer text encoder and BEV fusion, jointly: weighted BCE + soft-IoU on occupancy, weighted
    CE on classes, symmetric InfoNCE between scene embeddings and captions with the other captions
    of the same drives as hard negatives (the retrieval metric's candidates), the caption attributes
    from both embeddings, the nearest crosswalk's distance from the scene embedding, a weak
    image<->caption InfoNCE. Map text is fused as a replay fuses it (published once a second: up to
    9 sweeps old);
 4. distil the teacher into the students (nets.ARCH["student"], text encoder pretrained as in 2): the
    same losses plus the teacher's soft targets (class distribution at T = 2, occupancy probability,
    lightly its scene-to-caption similarity distribution), the teacher run beside the student (or, with the
    plan's `kd_once`, its outputs computed once on every training frame and caption: training.teacher_targets);
 5. export the students to ONNX and check them against JAX; quantize to int8 (onnxruntime static
    QDQ, Conv/MatMul, per-tensor, s8 weights with reduce_range so that onnxruntime's u8s8 kernels
    cannot saturate on CPUs without VNNI; the point encoder's first layer and the BEV heads stay
    float, and so do MatMuls of two activations (attention), see export.float_nodes);
 6. score teacher, fp32 and int8 students end to end with onnxruntime on the held-out seeds; write
    manifests (with the metrics), goldens and metrics.json.

The full plan trains fixed step counts (teacher 373, student 4,800: 57.7 minutes in all from scratch, simulator
export included, on a 2-core x86 machine under tcmalloc, see use_fast_allocator), so a rerun with the same seed
follows the same schedule anywhere.
With --teacher-seconds / --student-seconds (and in --quick) a time budget is turned into a step count from
a short timing run instead, so the wall time stays about the same on any machine.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np

from . import preprocess as pp
from .classes import CLASSES
from .data import TrainSet, build_tokenizer, encode_texts, ensure_data, load_seed, scan_texts, stale_map_texts
from .export import CALIBRATION, export, parity, quantize
from .manifests import write_goldens, write_manifest
from .paths import MODELS_DIR, RECIPE_DIR, REPO_ROOT
from .pipeline import Pipeline
from .plan import ROLES, TARGETS, log, plan, steps_of
from .scorer import evaluate
from .training import JaxPipeline, train


ALLOC_MARK = "SENSORIUM_RECIPE_ALLOCATOR"


def use_fast_allocator():
    """Re-executes the recipe under tcmalloc (Debian's libtcmalloc-minimal4) when it is installed.

    With glibc's malloc, XLA's large per-step buffers go back to the kernel when freed and are faulted in
    again (zeroed) the next step: a short probe of the full plan (30 teacher, 60 student steps) took 66.9 M
    minor page faults, a quarter of its CPU time in the kernel. tcmalloc with TCMALLOC_RELEASE_RATE=0 keeps
    freed memory for reuse: a student step takes 0.70 s instead of 1.08 s on a 2-core machine, with the same
    losses (the allocator changes no arithmetic). Without tcmalloc, glibc's tunables get part of it (huge
    pages, no trimming: 0.8 s a step). SENSORIUM_RECIPE_ALLOCATOR=system keeps the process as it is."""
    if os.environ.get(ALLOC_MARK):
        return
    import ctypes.util

    env = dict(os.environ)
    lib = ctypes.util.find_library("tcmalloc_minimal") or ctypes.util.find_library("tcmalloc")
    if lib:
        env["LD_PRELOAD"] = " ".join(p for p in [env.get("LD_PRELOAD", ""), lib] if p)
        env.setdefault("TCMALLOC_RELEASE_RATE", "0")
        env.setdefault("TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD", str(1 << 40))
        env[ALLOC_MARK] = lib
    else:
        tunables = ["glibc.malloc.hugetlb=1", "glibc.malloc.mmap_threshold=33554432",
                    "glibc.malloc.trim_threshold=17179869184", "glibc.malloc.top_pad=67108864"]
        env["GLIBC_TUNABLES"] = ":".join(p for p in [env.get("GLIBC_TUNABLES", "")] + tunables if p)
        env[ALLOC_MARK] = "glibc with tunables (install libtcmalloc-minimal4: a student step 0.8 s -> 0.7 s)"
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "sensorium_recipe.train"] + sys.argv[1:], env)


def main():
    ap = argparse.ArgumentParser(prog="python -m sensorium_recipe.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default=None,
                    help="model folder root (default: models/; with --quick: models/recipes/out-quick, so a smoke "
                         "run never overwrites the shipped models)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sim-cmd", default=None)
    ap.add_argument("--jobs", type=int, default=2, help="parallel simulator exports and frame loaders")
    ap.add_argument("--teacher-seconds", type=float, default=None, help="training time of the teacher (a step count planned from a timing run, instead of the plan's)")
    ap.add_argument("--student-seconds", type=float, default=None, help="training time of the students (as --teacher-seconds)")
    ap.add_argument("--teacher-steps", type=int, default=None, help="fixed step count (overrides the time)")
    ap.add_argument("--student-steps", type=int, default=None, help="fixed step count (overrides the time)")
    ap.add_argument("--metrics-out", default=None, help="metrics JSON (default: models/recipes/metrics[.quick].json)")
    ap.add_argument("--no-teacher", action="store_true",
                    help="train the students directly, without distillation (for comparison)")
    ap.add_argument("--eval-every", type=int, default=0, help="held-out metrics (JAX) every N training steps")
    ap.add_argument("--cache", default=None, help="pickle of the preprocessed training set: written if missing, "
                    "read if present (several runs on the same data)")
    ap.add_argument("--prepare-only", action="store_true", help="export and preprocess (with --cache), then stop")
    args = ap.parse_args()
    use_fast_allocator()
    t_start = time.time()
    log(f"allocator: {os.environ.get(ALLOC_MARK, 'system')}")
    if args.out is None:
        args.out = os.path.join(RECIPE_DIR, "out-quick") if args.quick else MODELS_DIR
    cfg = plan(args.quick)
    import jax

    jax.config.update("jax_default_matmul_precision", "highest")
    from . import nets

    tr_dirs = ensure_data(args.data, "train", cfg["train_seeds"], cfg["frames"], args.sim_cmd, args.jobs)
    ev_dirs = ensure_data(args.data, "eval", cfg["eval_seeds"], cfg["eval_frames"], args.sim_cmd, args.jobs)
    log(f"simulator exports ready ({time.time() - t_start:.0f} s); preprocessing")
    os.makedirs(os.path.join(args.out, ROLES["text"]), exist_ok=True)
    tok_path = os.path.join(args.out, ROLES["text"], "tokenizer.json")
    if args.cache and os.path.exists(args.cache):
        import pickle

        with open(args.cache, "rb") as f:
            ts, tok_json = pickle.load(f)
        with open(tok_path, "w", encoding="utf-8") as f:
            f.write(tok_json)
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(tok_path)
        vocab = tok.get_vocab_size()
    else:
        tok, vocab = build_tokenizer(scan_texts(tr_dirs, cfg["frames"]), tok_path)
        ts = TrainSet(tr_dirs, cfg["frames"], tok_path, args.jobs, cfg.get("train_stride", 1))
        if args.cache:
            import pickle

            with open(tok_path, encoding="utf-8") as f:
                tok_json = f.read()
            with open(args.cache + ".tmp", "wb") as f:
                pickle.dump((ts, tok_json), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(args.cache + ".tmp", args.cache)
    n_train = len(ts.items)
    stride = cfg["eval_stride"]
    eval_drives = []
    for d in ev_dirs:
        frames, all_texts = load_seed(d, cfg["eval_frames"], stride)
        eval_drives.append((frames, stale_map_texts(all_texts, stride)))
    log(f"{n_train} train frames in {len(ts.by_seed)} drives, vocabulary {vocab} words, {len(ts.captions)} "
        f"distinct captions (longest {ts.cap_len} tokens), P {ts.P}; {len(ev_dirs)} held-out drives "
        f"({time.time() - t_start:.0f} s)")
    if args.prepare_only:
        return
    eval_fn = lambda prm: evaluate(JaxPipeline(prm, tok), eval_drives)  # noqa: E731

    if args.no_teacher:
        teacher, t_info = None, {"steps": 0, "seconds": 0.0, "history": []}
    else:
        tcfg = dict(cfg, steps=steps_of(args.teacher_steps, args.teacher_seconds, cfg.get("teacher_steps")),
                    text_steps=cfg.get("teacher_text_steps", cfg.get("text_steps", 0)), lr=cfg["teacher_lr"])
        teacher, t_info = train(ts, vocab, nets.ARCH["teacher"], tcfg, args.seed,
                                args.teacher_seconds or cfg["teacher_s"], "teacher", eval_fn=eval_fn,
                                eval_every=args.eval_every)
    s_steps = steps_of(args.student_steps, args.student_seconds, cfg.get("student_steps"))
    student, s_info = train(ts, vocab, nets.ARCH["student"], dict(cfg, steps=s_steps, lr=cfg["student_lr"]),
                            args.seed + 1,
                            args.student_seconds or cfg["student_s"], "student", teacher=teacher, eval_fn=eval_fn,
                            eval_every=args.eval_every)
    log(f"trained in {time.time() - t_start:.0f} s total")

    # the teacher, exported beside (not shipped), scored like the students
    tdir = os.path.join(args.out, ".teacher") if args.quick else os.path.join(RECIPE_DIR, ".teacher")
    if teacher is not None:
        export(teacher, tdir)
        shutil.copy(tok_path, os.path.join(tdir, ROLES["text"]))
    export(student, args.out)
    fp32 = Pipeline(args.out, tok, "model.onnx")
    keep, par = parity(student, fp32, eval_drives[0][0][min(2, len(eval_drives[0][0]) - 1)], tok)
    log("ONNX vs JAX relative L2: " + ", ".join(f"{k} {v:.2e}" for k, v in par.items()))
    if max(par.values()) > 1e-4:
        raise SystemExit(f"ONNX export disagrees with JAX: {par}")

    # calibration feeds: frames of the training drives through the fp32 pipeline
    n_cal = 8 if args.quick else 32
    cal = {r: [] for r in ROLES}
    rng = np.random.default_rng(args.seed + 1)
    for i in range(n_cal):
        d = tr_dirs[i % len(tr_dirs)]
        fd = pp.frame_dirs(d)[int(rng.integers(cfg["frames"]))]
        fr = pp.load_frame(fd, pp.Meta(d))
        k = {}
        fp32.frame(fr, k)
        for r in ["image", "point", "fusion"]:
            cal[r].append(k[r])
        ids, am = encode_texts(tok, [fr["caption"]] + fr["map_texts"])
        cal["text"] += [{"input_ids": ids[j:j + 1], "attention_mask": am[j:j + 1]} for j in range(len(ids))]
    quantize(args.out, cal)
    log("quantized")

    results = {"teacher": evaluate(Pipeline(tdir, tok, "model.onnx"), eval_drives) if teacher is not None else {},
               "fp32": evaluate(fp32, eval_drives),
               "int8": evaluate(Pipeline(args.out, tok, "model.int8.onnx"), eval_drives)}
    for name, m in results.items():
        log(f"{name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in m.items()))
    m8, m32 = results["int8"], results["fp32"]
    checks = {}
    for k, tgt in TARGETS.items():
        checks[k] = {"int8": m8[k], "target": tgt, "met": bool(m8[k] >= tgt),
                     "within_2_points_of_fp32": bool(abs(m8[k] - m32[k]) <= 0.02)}
        log(f"target {k} >= {tgt}: int8 {m8[k]:.3f} ({'met' if m8[k] >= tgt else 'NOT met'}), fp32 {m32[k]:.3f}, "
            f"|int8 - fp32| {abs(m8[k] - m32[k]):.3f}")

    metrics = {}
    for name, m in [("fp32", m32), ("int8", m8), ("teacher", results["teacher"])]:
        if not m:
            continue
        for k in ["occupancy_iou", "query_top1", "text_to_scene_top1"] + [f"recall_{c}" for c in CLASSES[1:]]:
            metrics[f"{k}_{name}"] = m[k]
    metrics["eval_frames"] = m32["frames"]
    data_desc = (f"sensorium-sim export-training (default vehicle: 1280x720 camera, 64-beam LiDAR), train seeds "
                 f"{cfg['train_seeds'][0]}..{cfg['train_seeds'][-1]} ({n_train} frames, stride {cfg.get('train_stride', 1)} "
                 f"over {cfg['frames']} sweeps a drive), held-out eval seeds "
                 f"{cfg['eval_seeds'][0]}..{cfg['eval_seeds'][-1]} ({m32['frames']} frames, every "
                 f"{cfg['eval_stride']}th sweep, map text as replay fuses it)" + (" [--quick]" if args.quick else ""))
    calib_desc = (f"{n_cal} training frames, onnxruntime static QDQ, Conv/MatMul only (fusion: Conv only; MatMuls of "
                  "two activations, the attention, float), "
                  "per-tensor, u8 activations / s8 weights (reduce_range: 7-bit weights), activation ranges MinMax ("
                  + ", ".join(f"{r}: {m}" for r, m in CALIBRATION.items()) + ")")
    mac = ", ".join(f"{k} {v / 1e6:.1f}" for k, v in nets.macs(nets.ARCH["student"]).items())
    mac = f"{mac} MMAC (point at 2400 pillars)"
    arch_desc = (f"student distilled from a teacher ({t_info['steps']} teacher steps, {s_info['steps']} student "
                 f"steps); {mac}" if teacher is not None else
                 f"student trained directly, no teacher ({s_info['steps']} steps); {mac}")
    for role in ROLES:
        write_manifest(args.out, role, metrics, args.seed, data_desc, calib_desc, arch_desc)
    write_goldens(args.out, keep, tok, REPO_ROOT)
    mpath = args.metrics_out or os.path.join(RECIPE_DIR, "metrics.json" if not args.quick else "metrics.quick.json")
    with open(mpath, "w") as f:
        json.dump({**results, "targets": checks, "onnx_vs_jax_rel_l2": par, "seed": args.seed, "quick": args.quick,
                   "train_frames": n_train, "P_train": ts.P,
                   "training": {"teacher": t_info, "student": s_info},
                   "arch": {k: nets.ARCH[k] for k in ("teacher", "student")},
                   "macs": {k: nets.macs(nets.ARCH[k]) for k in ("teacher", "student")},
                   "seconds": time.time() - t_start}, f, indent=1)
    log(f"done in {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
