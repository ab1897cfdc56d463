"""MODEL_SPEC's metrics of a pipeline (pipeline.Pipeline, training.JaxPipeline) over frames."""
from __future__ import annotations

import numpy as np

from . import preprocess as pp
from .classes import CLASSES


def score(pipe, frames, map_texts=None, classes=CLASSES):
    """MODEL_SPEC's metrics over `frames` (in recording order); `map_texts` (one list per frame)
    overrides each frame's own map text (what a replay fuses: data.stale_map_texts); `classes` names the
    channels of the pipeline's class logits (the fusion manifest's `classes`)."""
    within = pp.within_mask()
    inter = union = 0
    rec = {c: [0, 0] for c in classes[1:]}
    scenes, caps = [], []
    for i, fr in enumerate(frames):
        o = pipe.frame(fr, map_texts=None if map_texts is None else map_texts[i])
        prob = 1 / (1 + np.exp(-o["occupancy"].reshape(-1)))
        pred = prob > 0.5
        cls = o["class_logits"].reshape(len(classes), -1).argmax(axis=0)
        gt = fr["occupancy"] > 0
        inter += int((pred & gt & within).sum())
        union += int(((pred | gt) & within).sum())
        for b in fr["boxes"]:
            if b["class"] not in classes[1:]:
                continue
            ci = classes.index(b["class"])
            x, y = b["center"][0], b["center"][1]
            if np.hypot(x, y) > pp.METRIC_RADIUS or not (pp.X_MIN <= x < pp.X_MAX and pp.Y_MIN <= y < pp.Y_MAX):
                continue
            cells = pp.box_footprint(b)
            rec[b["class"]][1] += 1
            rec[b["class"]][0] += int(bool(np.any((cls[cells] == ci) & pred[cells])))
        scenes.append(o["scene_embedding"][0])
        caps.append(fr["caption"])
    # the candidates of frame i: the first frame of each of the next 9 distinct other captions in order (cyclic)
    def neighbours(i, n=9):
        out, seen = [], set()
        for j in list(range(i + 1, len(caps))) + list(range(0, i)):
            if caps[j] != caps[i] and caps[j] not in seen:
                seen.add(caps[j])
                out.append(j)
            if len(out) == n:
                break
        return out

    uniq = list(dict.fromkeys(caps))
    cap_emb = dict(zip(uniq, pipe.text(uniq)))
    # query_top1: frame i's scene against its own caption and its neighbours' captions; text_to_scene_top1, the
    # other direction: frame i's caption against its scene and its neighbours' scenes. A hit when the own one is
    # strictly the most similar. The words are "text-to-scene retrieval"; query_top1 (scene to caption)
    # is what the runtime's queries do (one scene, several texts); both are printed and checked
    hits = t_hits = 0
    for i, c in enumerate(caps):
        js = [i] + neighbours(i)
        sims = [float(scenes[i] @ cap_emb[caps[j]]) for j in js]
        hits += int(all(sims[0] > s for s in sims[1:]))
        sims = [float(cap_emb[c] @ scenes[j]) for j in js]
        t_hits += int(all(sims[0] > s for s in sims[1:]))
    m = {"frames": len(frames), "occupancy_iou": inter / max(union, 1), "query_top1": hits / max(len(frames), 1),
         "text_to_scene_top1": t_hits / max(len(frames), 1)}
    for c, (h, t) in rec.items():
        m[f"recall_{c}"] = h / t if t else float("nan")
        m[f"objects_{c}"] = t
    return m



def evaluate(pipe, eval_drives, classes=CLASSES):
    """Held-out metrics over drives loaded by data.load_seed (every stride-th sweep), each frame with the
    map text a replay would fuse (published once a second)."""
    frames, texts = [], []
    for fs, mt in eval_drives:
        frames += fs
        texts += mt
    return score(pipe, frames, texts, classes)

