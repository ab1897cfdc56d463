"""MODEL_SPEC v1 preprocessing in numpy (docs/MODEL_SPEC.md).

The Rust runtime implements the same steps (crates/infer image preprocessing, crates/fusion
grid/paint/pillars); keep the two in step. Every function here follows the spec text literally:

- image: RGB u8 (H, W, 3) -> float32 -> cv2.resize to 320x192 INTER_LINEAR (half-pixel centres)
  -> /255 -> (x - mean) / std -> CHW [1, 3, 192, 320].
- points: lidar -> base_link with the 3x4 transform in float32 (as crates/fusion does), crop to the
  grid x [0,48), y [-24,24), z [-3,4); cell = row * 96 + col with row = floor(x/0.5),
  col = floor((y+24)/0.5).
- painting: project the cropped points (original lidar coordinates, float64) with T(lidar->optical)
  and the plumb_bob camera model (= cv2.projectPoints); points with depth > 0.1 inside the image
  sample the stride-8 feature map bilinearly at fx = u*40/width - 0.5, fy = v*24/height - 0.5
  (clamped), flag 1; others 0.
- pillars: first-appearance order, at most P=6000 pillars and N=16 points each, features
  [x, y, z, i, x-mx, y-my, z-mz, x-cx, y-cy, painted(32), flag] -> [1, 42, P, 16] + mask;
  padding slots repeat the pillar's first point.
- text: WordLevel tokens, lowercased, \\w+|[^\\w\\s] pieces, at most TEXT_LEN = 64, padded with 0.
"""
from __future__ import annotations

import json
import os
import re

import numpy as np

from .classes import CLASSES

IMG_W, IMG_H = 320, 192
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
FEAT_C, FEAT_H, FEAT_W = 32, 24, 40

X_MIN, X_MAX, Y_MIN, Y_MAX, Z_MIN, Z_MAX, RES = 0.0, 48.0, -24.0, 24.0, -3.0, 4.0, 0.5
ROWS = COLS = 96
P_MAX, N_MAX = 6000, 16
GEO = 9
F = GEO + FEAT_C + 1  # 42
TEXT_LEN = 64
MAX_TEXTS = 8
METRIC_RADIUS = 40.0


# ----------------------------------------------------------------------------- image
def preprocess_image(rgb: np.ndarray) -> np.ndarray:
    """RGB u8 (H, W, 3) -> f32 [1, 3, 192, 320]."""
    import cv2

    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected RGB u8 HxWx3, got {rgb.dtype} {rgb.shape}")
    x = cv2.resize(rgb.astype(np.float32), (IMG_W, IMG_H), interpolation=cv2.INTER_LINEAR)
    x = (x / np.float32(255.0) - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None].astype(np.float32))


def load_rgb(path: str) -> np.ndarray:
    import cv2

    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return np.ascontiguousarray(bgr[:, :, ::-1])


# ----------------------------------------------------------------------------- grid
def cell_centres() -> tuple[np.ndarray, np.ndarray]:
    r = np.arange(ROWS, dtype=np.float32)
    c = np.arange(COLS, dtype=np.float32)
    cx = X_MIN + (r + 0.5) * RES
    cy = Y_MIN + (c + 0.5) * RES
    return np.repeat(cx, COLS), np.tile(cy, ROWS)


def within_mask() -> np.ndarray:
    """(96*96,) bool: cells whose centre lies within 40 m of the origin."""
    cx, cy = cell_centres()
    return np.sqrt(cx * cx + cy * cy) <= METRIC_RADIUS


def crop_points(points: np.ndarray, t_base_lidar: np.ndarray):
    """points (N, >=4) lidar frame; t_base_lidar 4x4. Returns (ego xyz f32 (M,3), intensity (M,),
    cell (M,) int64, source index (M,))."""
    t = t_base_lidar[:3, :4].astype(np.float32)
    p = points[:, :3].astype(np.float32)
    # same association as crates/fusion (f32 sums in the order a*x + b*y + c*z + d)
    ex = t[0, 0] * p[:, 0] + t[0, 1] * p[:, 1] + t[0, 2] * p[:, 2] + t[0, 3]
    ey = t[1, 0] * p[:, 0] + t[1, 1] * p[:, 1] + t[1, 2] * p[:, 2] + t[1, 3]
    ez = t[2, 0] * p[:, 0] + t[2, 1] * p[:, 1] + t[2, 2] * p[:, 2] + t[2, 3]
    with np.errstate(invalid="ignore"):
        keep = (ex >= X_MIN) & (ex < X_MAX) & (ey >= Y_MIN) & (ey < Y_MAX) & (ez >= Z_MIN) & (ez < Z_MAX)
    src = np.nonzero(keep)[0]
    ex, ey, ez = ex[src], ey[src], ez[src]
    r = ((ex - np.float32(X_MIN)) / np.float32(RES)).astype(np.int64)
    c = ((ey - np.float32(Y_MIN)) / np.float32(RES)).astype(np.int64)
    ok = (r < ROWS) & (c < COLS)
    src, ex, ey, ez, r, c = src[ok], ex[ok], ey[ok], ez[ok], r[ok], c[ok]
    xyz = np.stack([ex, ey, ez], axis=1)
    return xyz, points[src, 3].astype(np.float32), r * COLS + c, src


# ----------------------------------------------------------------------------- camera
def project(points_xyz: np.ndarray, t_optical_lidar: np.ndarray, K: np.ndarray, D: np.ndarray):
    """Plumb-bob projection (= cv2.projectPoints) of lidar points. Returns u, v, depth (float64);
    u, v are NaN where depth <= 0."""
    p = points_xyz.astype(np.float64)
    R, tr = t_optical_lidar[:3, :3], t_optical_lidar[:3, 3]
    pc = p @ R.T + tr
    z = pc[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = pc[:, 0] / z
        y = pc[:, 1] / z
    k1, k2, p1, p2, k3 = (list(D) + [0.0] * 5)[:5]
    with np.errstate(invalid="ignore", over="ignore"):  # points at depth 0 are NaN here, masked below
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        u = K[0, 0] * xd + K[0, 1] * yd + K[0, 2]
        v = K[1, 1] * yd + K[1, 2]
    bad = ~(z > 0)
    u[bad] = np.nan
    v[bad] = np.nan
    return u, v, z


def paint_taps(u, v, depth, width: int, height: int):
    """Bilinear taps into the [32, 24, 40] feature map for each point.
    Returns idx (M, 4) int64 into the flattened 24*40 map, w (M, 4) f32, flag (M,) f32."""
    with np.errstate(invalid="ignore"):
        inside = (depth > 0.1) & (u >= 0) & (v >= 0) & (u < width) & (v < height)
    m = len(u)
    idx = np.zeros((m, 4), dtype=np.int64)
    w = np.zeros((m, 4), dtype=np.float32)
    ii = np.nonzero(inside)[0]
    fx = np.clip(u[ii] * (FEAT_W / width) - 0.5, 0.0, FEAT_W - 1)
    fy = np.clip(v[ii] * (FEAT_H / height) - 0.5, 0.0, FEAT_H - 1)
    x0 = np.floor(fx).astype(np.int64)
    y0 = np.floor(fy).astype(np.int64)
    x1 = np.minimum(x0 + 1, FEAT_W - 1)
    y1 = np.minimum(y0 + 1, FEAT_H - 1)
    wx = (fx - x0).astype(np.float32)
    wy = (fy - y0).astype(np.float32)
    idx[ii] = np.stack([y0 * FEAT_W + x0, y0 * FEAT_W + x1, y1 * FEAT_W + x0, y1 * FEAT_W + x1], axis=1)
    w[ii] = np.stack([(1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy], axis=1)
    return idx, w, inside.astype(np.float32)


def paint(features: np.ndarray, idx, w, flag) -> np.ndarray:
    """features [32, 24, 40] (or [1, ...]) -> painted (M, 33): 32 sampled values + flag."""
    fm = features.reshape(FEAT_C, FEAT_H * FEAT_W)
    vals = (fm[:, idx] * w[None]).sum(axis=2).T  # (M, 32)
    vals = vals * flag[:, None]
    return np.concatenate([vals, flag[:, None]], axis=1).astype(np.float32)


# ----------------------------------------------------------------------------- pillars
def pillar_layout(cell: np.ndarray):
    """First-appearance pillar assignment. Returns (pillar_cells (Pu,), slot_point (Pu, 16) int64
    index into the cropped points or -1): pillars numbered in order of their first point, at most
    P_MAX (points of later pillars dropped), each pillar's first N_MAX points in point order."""
    cell = np.asarray(cell, np.int64)
    if len(cell) == 0:
        return np.zeros(0, np.int64), np.zeros((0, N_MAX), np.int64)
    uniq, first, inv = np.unique(cell, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # pillars by their first point
    rank = np.empty(len(uniq), np.int64)
    rank[order] = np.arange(len(uniq))
    pid = rank[inv.reshape(-1)]
    npil = min(len(uniq), P_MAX)
    idx = np.nonzero(pid < npil)[0]
    p = pid[idx]
    srt = np.argsort(p, kind="stable")  # points grouped by pillar, point order kept inside a pillar
    ps = p[srt]
    slot = np.empty(len(idx), np.int64)
    slot[srt] = np.arange(len(idx)) - np.searchsorted(ps, ps, side="left")
    ok = slot < N_MAX
    slots = np.full((npil, N_MAX), -1, np.int64)
    slots[p[ok], slot[ok]] = idx[ok]
    return uniq[order[:npil]], slots


def pillar_geometry(xyz, intensity, pillar_cells, slot_point):
    """Geometric features [9, Pu, 16] and mask [Pu, 16] (f32), spec order."""
    pu = len(pillar_cells)
    mask = (slot_point >= 0).astype(np.float32)
    sp = np.maximum(slot_point, 0)
    px, py, pz = xyz[sp, 0] * mask, xyz[sp, 1] * mask, xyz[sp, 2] * mask
    cnt = np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
    # f32 sums in point order, as the Rust builder accumulates
    mx = np.zeros((pu, 1), np.float32)
    my = np.zeros((pu, 1), np.float32)
    mz = np.zeros((pu, 1), np.float32)
    for k in range(N_MAX):
        mx[:, 0] += px[:, k]
        my[:, 0] += py[:, k]
        mz[:, 0] += pz[:, k]
    inv = (np.float32(1.0) / cnt).astype(np.float32)
    mx, my, mz = mx * inv, my * inv, mz * inv
    ccx, ccy = cell_centres()
    cx = ccx[pillar_cells][:, None]
    cy = ccy[pillar_cells][:, None]
    it = intensity[sp] * mask
    geo = np.stack([px, py, pz, it, px - mx, py - my, pz - mz, px - cx, py - cy], axis=0) * mask[None]
    return geo.astype(np.float32), mask


def build_pillars(geo, mask, painted_slots):
    """Point-encoder input for the used pillars: geo [9, Pu, 16], mask [Pu, 16], painted_slots
    [33, Pu, 16] -> pillars [1, 42, Pu, 16], mask [1, 1, Pu, 16] (P is symbolic in the model; the
    runtime passes the used pillars too)."""
    pu = geo.shape[1]
    out = np.zeros((1, F, pu, N_MAX), np.float32)
    out[0, :GEO] = geo
    out[0, GEO:] = painted_slots * mask[None]
    return repeat_padding(out, mask), mask[None, None].astype(np.float32)


def repeat_padding(pillars, mask):
    """Fills each pillar's padding slots with its first point (slot 0), as the runtime does for the
    reference point encoder (its manifest: `padding = "repeat"`, MODEL_SPEC): a max over the slots is
    unchanged by repeats, so the encoder needs no mask multiply.
    pillars [1, F, Pu, N] with real points in the leading slots, mask [Pu, N] or [1, 1, Pu, N]."""
    m = np.asarray(mask).reshape(pillars.shape[2], pillars.shape[3]) > 0
    src = np.where(m, np.arange(pillars.shape[3])[None, :], 0)  # padding slot -> slot 0
    return np.ascontiguousarray(np.take_along_axis(pillars, src[None, None], axis=3))


def scatter(pillar_features: np.ndarray, pillar_cells: np.ndarray) -> np.ndarray:
    """[1, 64, P] -> BEV [1, 64, 96, 96] (empty cells 0)."""
    c = pillar_features.shape[1]
    bev = np.zeros((1, c, ROWS * COLS), np.float32)
    pu = len(pillar_cells)
    bev[0][:, pillar_cells] = pillar_features[0, :, :pu]
    return bev.reshape(1, c, ROWS, COLS)


# ----------------------------------------------------------------------------- frames
class Meta:
    def __init__(self, data_dir: str):
        with open(os.path.join(data_dir, "meta.json"), encoding="utf-8") as f:
            m = json.load(f)
        cam = m["camera"]
        self.width, self.height = int(cam["width"]), int(cam["height"])
        self.K = np.array(cam["K"], np.float64).reshape(3, 3)
        self.D = np.array(cam["D"], np.float64)
        if cam.get("distortion_model", "plumb_bob") not in ("plumb_bob", "rational_polynomial", "none"):
            raise ValueError(f"{data_dir}/meta.json: unsupported distortion {cam.get('distortion_model')}")
        self.t_base_lidar = np.array(m["T_base_lidar"], np.float64).reshape(4, 4)
        self.t_optical_lidar = np.array(m["T_optical_lidar"], np.float64).reshape(4, 4)
        self.classes = m.get("classes", CLASSES)
        if list(self.classes) != CLASSES:
            raise ValueError(f"{data_dir}/meta.json: classes {self.classes} != the fusion manifest's {CLASSES}")


def frame_dirs(data_dir: str) -> list[str]:
    root = os.path.join(data_dir, "frames")
    return [os.path.join(root, d) for d in sorted(os.listdir(root))]


def read_map_texts(fdir: str) -> list[str]:
    with open(os.path.join(fdir, "map_text.json"), encoding="utf-8") as f:
        text = f.read()
    try:
        j = json.loads(text)
    except json.JSONDecodeError:
        return [text.strip()]
    anns = j.get("annotations", []) if isinstance(j, dict) else j
    out = [a.get("text", "") for a in anns if isinstance(a, dict)]
    return [t for t in out if t][:MAX_TEXTS]


def load_frame(fdir: str, meta: Meta) -> dict:
    """Everything the recipe needs from one exported frame, image features not yet applied."""
    rgb = load_rgb(os.path.join(fdir, "image.png"))
    pts = np.load(os.path.join(fdir, "points.npy"))
    with open(os.path.join(fdir, "boxes.json"), encoding="utf-8") as f:
        boxes = json.load(f)["boxes"]
    with open(os.path.join(fdir, "caption.txt"), encoding="utf-8") as f:
        caption = f.read().strip()
    return make_frame(rgb, pts, meta.t_base_lidar, meta.t_optical_lidar, meta.K, meta.D,
                      occupancy=np.load(os.path.join(fdir, "occupancy.npy")),
                      cls=np.load(os.path.join(fdir, "class.npy")),
                      boxes=boxes, caption=caption, map_texts=read_map_texts(fdir))


def make_frame(rgb, pts, t_base_lidar, t_optical_lidar, K, D, occupancy, cls, boxes, caption, map_texts) -> dict:
    """One frame from in-memory data: RGB u8 (H, W, 3), lidar points (N, >=4), the two transforms,
    the camera model, and the ground truth (occupancy / class grids may be None when absent)."""
    xyz, inten, cell, src = crop_points(pts, t_base_lidar)
    u, v, d = project(pts[src, :3], t_optical_lidar, K, D)
    idx, w, flag = paint_taps(u, v, d, rgb.shape[1], rgb.shape[0])
    pcells, slots = pillar_layout(cell)
    geo, mask = pillar_geometry(xyz, inten, pcells, slots)
    sp = np.maximum(slots, 0)
    cells = ROWS * COLS
    return {
        "image": preprocess_image(rgb)[0],
        "geo": geo,
        "mask": mask,
        "pillar_cells": pcells,
        "tap_idx": idx[sp] * mask[..., None].astype(np.int64),  # (Pu, 16, 4)
        "tap_w": w[sp] * mask[..., None],
        "tap_flag": flag[sp] * mask,
        "occupancy": (np.zeros(cells, np.uint8) if occupancy is None
                      else np.asarray(occupancy).reshape(-1).astype(np.uint8)),
        "class": np.zeros(cells, np.uint8) if cls is None else np.asarray(cls).reshape(-1).astype(np.uint8),
        "boxes": boxes,
        "caption": caption,
        "map_texts": [t for t in map_texts if t][:MAX_TEXTS],
    }


def box_footprint(b: dict) -> np.ndarray:
    """Cells whose centre lies inside the box footprint (crates/fusion GtBox::footprint)."""
    cx, cy = cell_centres()
    c, s = np.cos(b["yaw"]), np.sin(b["yaw"])
    dx = cx.astype(np.float64) - b["center"][0]
    dy = cy.astype(np.float64) - b["center"][1]
    lx, ly = c * dx + s * dy, -s * dx + c * dy
    cells = np.nonzero((np.abs(lx) <= b["size"][0] / 2) & (np.abs(ly) <= b["size"][1] / 2))[0]
    if len(cells) == 0:
        x, y = b["center"][0], b["center"][1]
        if X_MIN <= x < X_MAX and Y_MIN <= y < Y_MAX:
            cells = np.array([int((x - X_MIN) / RES) * COLS + int((y - Y_MIN) / RES)])
    return cells


# ----------------------------------------------------------------------------- text
_TOKEN = re.compile(r"\w+|[^\w\s]")


def words(text: str) -> list[str]:
    """What the tokenizer.json pre-tokenizer (Whitespace = \\w+|[^\\w\\s]+) yields after lowercasing."""
    return _TOKEN.findall(text.lower())
