"""JAX training: the losses, text pretraining, the teacher and the distilled students."""
from __future__ import annotations

import time

import numpy as np

from . import captions as capattr
from . import preprocess as pp
from .classes import CLASSES
from .data import Sampler, TrainSet, collate, encode_texts, own_map_texts
from .plan import ATTR_W, CLASS_WEIGHTS, KD_T, TARGETS, log


def make_fns(nets):
    import jax
    import jax.numpy as jnp
    import optax

    cls_w = jnp.array([CLASS_WEIGHTS[c] for c in CLASSES], jnp.float32)
    within = jnp.asarray(pp.within_mask(), jnp.float32)

    def fused(params, b):
        """The whole student/teacher pipeline on a batch: scene embedding, occupancy and class logits
        (channel-last), and the image embedding."""
        B = b["image"].shape[0]
        feats, img_emb = nets.image_forward(params["image"], b["image"])  # [B,24,40,32]
        fm = feats.reshape(B, -1, nets.FEAT_C)
        pf = nets.painted_point_forward(params["point"], fm, b["geo"], b["tap_idx"], b["tap_w"], b["tap_flag"],
                                        b["mask"])  # [B,P,64]
        bev = jnp.zeros((B, pp.ROWS * pp.COLS + 1, nets.PILLAR_C), jnp.float32)
        bev = jax.vmap(lambda z, c, v: z.at[c].set(v))(bev, b["cells"], pf)
        bev = bev[:, :-1].reshape(B, pp.ROWS, pp.COLS, nets.PILLAR_C)
        T = b["t_ids"].shape[1]
        temb = nets.text_forward(params["text"], b["t_ids"].reshape(B * T, -1), b["t_mask"].reshape(B * T, -1))
        temb = temb.reshape(B, T, -1) * b["tm"][..., None]
        scene, _, occ, cls = nets.fusion_forward(params["fusion"], bev, feats, temb, b["tm"])
        return scene, occ, cls, img_emb

    def forward(params, b):
        scene, occ, cls, img_emb = fused(params, b)
        B = b["image"].shape[0]
        bank = nets.text_forward(params["text"], b["bank_ids"], b["bank_mask"])  # [K,64]
        return {"scene": scene, "img": nets.l2n(img_emb), "occ": occ.reshape(B, -1),
                "cls": cls.reshape(B, -1, nets.K_CLASSES), "bank": bank}

    def predict(params, b):
        """Scene embedding [B,64], occupancy logits [B,96,96], class logits [B,96,96,6] (no captions)."""
        scene, occ, cls, _ = fused(params, b)
        return scene, occ[..., 0], cls

    def contrastive(o, b, scale):
        s2t = scale * o["scene"] @ o["bank"].T  # [B,K]
        l_s2t = optax.softmax_cross_entropy_with_integer_labels(s2t, b["label"]).mean()
        caps = o["bank"][b["label"]]  # [B,64]: each scene's own caption
        t2s = scale * caps @ o["scene"].T  # [B,B], frames that share a caption are all positives
        tgt = b["same"] / jnp.sum(b["same"], axis=1, keepdims=True)
        l_t2s = optax.softmax_cross_entropy(t2s, tgt).mean()
        return 0.5 * (l_s2t + l_t2s), s2t

    def supervised(params, o, b):
        y = b["occ"]
        bce = optax.sigmoid_binary_cross_entropy(o["occ"], y) * (1.0 + 2.0 * y)
        l_occ = jnp.mean(bce)
        p = jax.nn.sigmoid(o["occ"]) * within
        inter = jnp.sum(p * y, axis=1)
        union = jnp.sum(p + y * within, axis=1) - inter
        l_iou = jnp.mean(1.0 - (inter + 1.0) / (union + 1.0))
        ce = optax.softmax_cross_entropy_with_integer_labels(o["cls"], b["cls"])
        w = cls_w[b["cls"]]
        l_cls = jnp.sum(ce * w) / jnp.sum(w)
        scale = jnp.exp(params["logit_scale"])
        l_nce, s2t = contrastive(o, b, scale)
        cap = o["bank"][b["label"]]
        li = 10.0 * o["img"] @ cap.T
        l_img = optax.softmax_cross_entropy(li, b["same"] / jnp.sum(b["same"], axis=1, keepdims=True)).mean()
        # caption attributes (captions.py) predicted from both embeddings through one shared linear head
        attr = lambda e: e @ params["attr"]["w"] + params["attr"]["b"]  # noqa: E731
        bce = lambda z, t: jnp.mean(optax.sigmoid_binary_cross_entropy(z, t), axis=-1)  # noqa: E731
        am = b["bank_attr_mask"]
        l_attr_t = jnp.sum(bce(attr(o["bank"]), b["bank_attr"]) * am) / jnp.maximum(jnp.sum(am), 1.0)
        sm = am[b["label"]]
        l_attr_s = jnp.sum(bce(attr(o["scene"]), b["bank_attr"][b["label"]]) * sm) / jnp.maximum(jnp.sum(sm), 1.0)
        # where the nearest crosswalk is, in 2.5-m steps, from the scene embedding (scene side only)
        l_xw = jnp.mean(bce(o["scene"] @ params["xw"]["w"] + params["xw"]["b"], b["xw"]))
        total = (4.0 * l_occ + l_iou + 2.0 * l_cls + l_nce + 0.1 * l_img + ATTR_W * (l_attr_s + l_attr_t)
                 + 5.0 * l_xw)
        return total, {"occ": l_occ, "iou": l_iou, "cls": l_cls, "nce": l_nce, "img": l_img, "attr_s": l_attr_s,
                       "attr_t": l_attr_t, "xw": l_xw}, s2t

    def teacher_loss(params, b):
        o = forward(params, b)
        total, aux, _ = supervised(params, o, b)
        return total, aux

    def student_loss(params, tparams, b):
        """The supervised losses plus the teacher's soft targets: from the teacher run on the batch (tparams),
        or, with tparams None, read from the batch (teacher_targets, the plan's `kd_once`)."""
        o = forward(params, b)
        total, aux, s2t = supervised(params, o, b)
        T = KD_T
        if tparams is None:
            kd_cls, kd_occ = b["kd_cls"].astype(jnp.float32), b["kd_occ"].astype(jnp.float32)
            ts2t = b["kd_scale"] * b["kd_scene"] @ b["kd_bank"].T
        else:
            t = jax.lax.stop_gradient(forward(tparams, b))
            kd_cls, kd_occ = jax.nn.softmax(t["cls"] / T), jax.nn.sigmoid(t["occ"])
            ts2t = jnp.exp(tparams["logit_scale"]) * t["scene"] @ t["bank"].T
        kl = optax.kl_divergence(jax.nn.log_softmax(o["cls"] / T), kd_cls)
        l_kcls = jnp.mean(kl) * T * T
        l_kocc = jnp.mean(optax.sigmoid_binary_cross_entropy(o["occ"], kd_occ))
        l_ksim = jnp.mean(optax.kl_divergence(jax.nn.log_softmax(s2t), jax.nn.softmax(ts2t)))
        kd = 2.0 * l_kcls + 2.0 * l_kocc + 0.25 * l_ksim
        aux = dict(aux, kd=kd)
        return total + kd, aux

    return teacher_loss, student_loss, predict


class JaxPipeline:
    """Pipeline's interface (frame, text) on the JAX parameters: the held-out metrics during training."""

    def __init__(self, params, tok):
        import jax
        from . import nets

        self.params, self.tok, self.cache = params, tok, {}
        self._predict = jax.jit(make_fns(nets)[2])
        self._text = jax.jit(nets.text_forward)

    def text(self, texts):
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        for i in range(0, len(todo), 32):
            chunk = todo[i:i + 32]
            ids, mask = encode_texts(self.tok, chunk + [""] * (32 - len(chunk)))
            emb = np.asarray(self._text(self.params["text"], ids.astype(np.int32), mask.astype(np.int32)))
            self.cache.update(zip(chunk, emb))
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, 64), np.float32)

    def frame(self, fr, keep=None, map_texts=None):
        it = TrainSet.pack(fr, self.tok, map_texts)
        P = int(max(512, np.ceil(len(it["cells"]) / 512) * 512))  # a few shapes, a few compilations
        b = collate([it], P)
        b.update(own_map_texts([it]))
        b.pop("occ"), b.pop("cls")
        scene, occ, cls = self._predict(self.params, b)
        return {"scene_embedding": np.asarray(scene), "occupancy": np.asarray(occ)[:, None],
                "class_logits": np.moveaxis(np.asarray(cls), -1, 1)}


def teacher_targets(tparams, ts, batch=8):
    """The teacher's outputs on every training frame and every distinct caption, computed once: the student's
    soft targets (class distribution at T = KD_T and occupancy probability per cell, f16; the scene embedding
    with the frame's own map text; the caption embeddings and the logit scale for the similarity targets).

    The teacher has no dropout and the frames no augmentation, so its outputs on a frame are the same every time
    the sampler draws it; running it beside the student costs half of every student step (0.88 s a step with
    it, 0.43 s without, measured in one run), while this pass costs one teacher forward
    per training frame. The one difference: the teacher's scene embedding sees the frame's own map text, not the
    stale copy drawn for the student's batch (the map text moves the scene embedding little, and the similarity
    target is weighted 0.25)."""
    import jax
    from . import nets

    predict = jax.jit(make_fns(nets)[2])
    text = jax.jit(nets.text_forward)
    n, cells = len(ts.items), pp.ROWS * pp.COLS
    out = {"cls": np.zeros((n, cells, nets.K_CLASSES), np.float16), "occ": np.zeros((n, cells), np.float16),
           "scene": np.zeros((n, nets.EMB), np.float32)}
    for i in range(0, n, batch):
        js = list(range(i, min(i + batch, n)))
        items = [ts.items[j] for j in js + [js[-1]] * (batch - len(js))]  # one shape: one compilation
        b = collate(items, ts.P)
        b.update(own_map_texts(items))
        b.pop("occ"), b.pop("cls")
        scene, occ, cls = predict(tparams, b)
        k = len(js)
        out["scene"][i:i + k] = np.asarray(scene)[:k]
        out["occ"][i:i + k] = np.asarray(jax.nn.sigmoid(occ)).reshape(batch, -1)[:k]
        out["cls"][i:i + k] = np.asarray(jax.nn.softmax(cls / KD_T, axis=-1)).reshape(batch, cells, -1)[:k]
    L = int(min(pp.TEXT_LEN, np.ceil(ts.cap_len / 8) * 8))  # as the sampler pads its caption bank
    caps = np.zeros((len(ts.captions), nets.EMB), np.float32)
    for i in range(0, len(caps), 64):
        ids, mask = ts.cap_ids[i:i + 64, :L], ts.cap_mask[i:i + 64, :L]
        k = len(ids)
        if k < 64:
            ids = np.concatenate([ids, np.repeat(ids[-1:], 64 - k, axis=0)])
            mask = np.concatenate([mask, np.repeat(mask[-1:], 64 - k, axis=0)])
        caps[i:i + k] = np.asarray(text(tparams["text"], ids, mask))[:k]
    out["bank"] = caps
    out["scale"] = np.float32(np.exp(tparams["logit_scale"]))
    return out


def with_targets(b, tt):
    """A sampler batch with the teacher's soft targets of its frames and captions (teacher_targets)."""
    fi, ci = b.pop("frame_idx"), b.pop("cap_idx")
    if tt is not None:
        b.update({"kd_cls": tt["cls"][fi], "kd_occ": tt["occ"][fi], "kd_scene": tt["scene"][fi],
                  "kd_bank": tt["bank"][ci], "kd_scale": tt["scale"]})
    return b


def pretrain_text(params, ts, steps, seed, label):
    """Stage 0: the text encoder (and the shared attribute head) alone, on every distinct training
    caption and map annotation: predict each text's caption attributes (captions.py) from its
    embedding. Text-only steps cost ~1/20 of a joint step, and the joint stage then starts from a
    text space where captions that say different things already lie apart."""
    import jax
    import jax.numpy as jnp
    import optax
    from . import nets

    sub = {"text": params["text"], "attr": params["attr"]}
    sched = optax.warmup_cosine_decay_schedule(0.0, 3e-3, max(1, steps // 20), steps, 3e-4)
    opt = optax.chain(optax.clip_by_global_norm(2.0), optax.adamw(sched, weight_decay=1e-4))
    st = opt.init(sub)
    L = int(min(pp.TEXT_LEN, np.ceil(ts.cap_len / 8) * 8))

    def loss(p, ids, mask, tgt, tmask, mids, mmask, mtgt, mtmask):
        def part(i, m, t, tm):
            e = nets.text_forward(p["text"], i, m)
            z = e @ p["attr"]["w"] + p["attr"]["b"]
            bce = optax.sigmoid_binary_cross_entropy(z, t) * tm
            return jnp.sum(bce) / jnp.maximum(jnp.sum(tm), 1.0) * capattr.SIZE / 16.0
        return part(ids, mask, tgt, tmask) + part(mids, mmask, mtgt, mtmask)

    @jax.jit
    def step(p, s, *b):
        l, g = jax.value_and_grad(loss)(p, *b)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, l

    rng = np.random.default_rng(seed)
    nc, nm = len(ts.captions), len(ts.map_texts)
    bc, bm = min(128, nc), min(64, max(nm, 1))
    cap_full = np.repeat(ts.cap_attr_mask[:, None], capattr.SIZE, axis=1)
    t0 = time.time()
    for i in range(steps):
        ci = rng.choice(nc, bc, replace=nc < bc)
        mi = rng.choice(max(nm, 1), bm, replace=max(nm, 1) < bm)
        sub, st, l = step(sub, st, ts.cap_ids[ci, :L], ts.cap_mask[ci, :L], ts.cap_attr[ci], cap_full[ci],
                          ts.map_ids[mi], ts.map_mask[mi], ts.map_attr[mi], ts.map_attr_mask[mi])
        if i % 200 == 0 or i == steps - 1:
            log(f"{label} text pretraining step {i}/{steps} loss {float(l):.4f} ({time.time() - t0:.0f} s)")
    return dict(params, text=sub["text"], attr=sub["attr"])


def train(ts, vocab, arch, cfg, seed, budget_s, label, teacher=None, eval_fn=None, eval_every=0):
    import jax
    import jax.numpy as jnp
    import optax
    from . import nets

    params = nets.init_params(jax.random.PRNGKey(seed), vocab, arch)
    params["logit_scale"] = jnp.array(np.log(10.0), jnp.float32)
    # training-only head (not exported): caption attributes from an embedding (captions.py)
    params["attr"] = {"w": jax.random.normal(jax.random.PRNGKey(seed + 99), (nets.EMB, capattr.SIZE)) * 0.3,
                      "b": jnp.full((capattr.SIZE,), -2.0, jnp.float32)}
    params["xw"] = {"w": jax.random.normal(jax.random.PRNGKey(seed + 98), (nets.EMB, len(capattr.FINE_DISTS))) * 0.3,
                    "b": jnp.zeros((len(capattr.FINE_DISTS),), jnp.float32)}
    t_pre = time.time()
    if cfg.get("text_steps", 0):
        params = pretrain_text(params, ts, cfg["text_steps"], seed, label)
    budget_s -= time.time() - t_pre
    teacher_loss, student_loss, _ = make_fns(nets)
    sampler = Sampler(ts, cfg["batch"], cfg["bank"], seed + (17 if teacher is not None else 0), cfg["per"])
    # the schedule is planned in steps from a short timing run, then followed to the end
    steps = cfg.get("steps")
    lr = cfg["lr"]  # peak rate of the warm-up + cosine schedule: the plan's teacher_lr / student_lr, set by main

    def make_opt(n):
        sched = optax.warmup_cosine_decay_schedule(0.0, lr, max(1, min(100, n // 20)), n, lr * 0.02)
        return optax.chain(optax.clip_by_global_norm(2.0), optax.adamw(sched, weight_decay=1e-4))

    if teacher is None:
        fn = lambda p, t, b: teacher_loss(p, b)  # noqa: E731
    else:
        fn = student_loss
    tt = None
    if teacher is not None and cfg.get("kd_once"):
        t1 = time.time()
        tt = teacher_targets(teacher, ts, cfg["batch"])
        teacher = None  # the step reads the targets from the batch
        log(f"{label}: the teacher's soft targets on {len(ts.items)} frames and {len(ts.captions)} captions "
            f"({time.time() - t1:.0f} s)")
    batch = lambda: with_targets(sampler.batch(), tt)  # noqa: E731

    def make_step(opt):
        @jax.jit
        def step(p, s, t, b):
            (l, aux), g = jax.value_and_grad(fn, has_aux=True)(p, t, b)
            u, s = opt.update(g, s, p)
            p = optax.apply_updates(p, u)
            p["logit_scale"] = jnp.clip(p["logit_scale"], 0.0, np.log(50.0))
            return p, s, l, aux
        return step

    t0 = time.time()
    if steps is None:
        # time a few steps (after compilation) to turn the time budget into a step count
        probe_opt = make_opt(1000)
        st = probe_opt.init(params)
        step = make_step(probe_opt)
        p_, s_, l, _ = step(params, st, teacher, batch())
        l.block_until_ready()
        tc = time.time()
        for _ in range(3):
            p_, s_, l, _ = step(p_, s_, teacher, batch())
        l.block_until_ready()
        per = (time.time() - tc) / 3
        steps = max(20, int((budget_s - (time.time() - t0) - 30) / per))
        log(f"{label}: {per:.2f} s a step (batch {cfg['batch']}, P {ts.P}) -> {steps} steps in {budget_s:.0f} s")
    opt = make_opt(steps)
    st = opt.init(params)
    step = make_step(opt)
    hist = []
    for i in range(steps):
        params, st, l, aux = step(params, st, teacher, batch())
        if eval_fn is not None and eval_every and (i + 1) % eval_every == 0 and i + 1 < steps:
            m = eval_fn(jax.tree_util.tree_map(np.asarray, params))
            hist.append({"step": i + 1, "eval": m})
            log(f"{label} eval at step {i + 1}: " + ", ".join(f"{k} {m[k]:.3f}" for k in TARGETS))
        if i % 100 == 0 or i == steps - 1:
            aux = {k: float(v) for k, v in aux.items()}
            hist.append({"step": i, "loss": float(l), **aux})
            log(f"{label} step {i:5d}/{steps} loss {float(l):.4f} " + " ".join(f"{k} {v:.4f}" for k, v in aux.items())
                + f" scale {float(np.exp(params['logit_scale'])):.1f} ({time.time() - t0:.0f} s)")
    params = jax.tree_util.tree_map(np.asarray, params)
    return params, {"steps": steps, "seconds": time.time() - t0, "history": hist}

