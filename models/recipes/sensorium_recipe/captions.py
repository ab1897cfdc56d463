"""Structured attributes of a simulator caption, for an auxiliary loss of the recipe.

The simulator's captions (crates/sim/src/truth.rs `caption`) follow a small grammar:

  <road> (in a school zone | through a construction zone | with a <N> km/h limit)
      (: <part>, <part> ... and <part> | and no traffic ahead)
  part = a crosswalk <D> m ahead | <what> crossing | <what> <D> m ahead in our lane
       | <what> <place> | one more object | <n> more objects
  what = a <class> | <n> <class>s   (n = two .. nine, many)

`attributes(caption)` turns one into a fixed vector of 0/1 targets (road shape, zone, limit, crosswalk
distance as ordinal bits, per class and place the count as ordinal bits, per class the distance of
the group in our lane, the number of further objects). Both the scene embedding and the caption
embedding are trained to predict it through one shared linear head: the two towers then carry the
same facts along the same directions, which is what makes the contrastive alignment learnable with
a few thousand captions. Captions outside the grammar give an all-zero vector with mask 0 (no loss).
"""
from __future__ import annotations

import re

import numpy as np

from .classes import CLASSES

ROADS = ["a straight road", "a road curving left", "a road curving right"]
ZONES = ["in a school zone", "through a construction zone"]
LIMITS = [30, 40, 50]
DISTS = list(range(5, 50, 5))  # 5 .. 45 m
CAPTION_NAMES = {"cone": "traffic cone"}  # how a caption names a class, where not by its class name
# caption words of each object class (the manifest's classes after background) -> the class's index among them
CLASS_WORDS = {CAPTION_NAMES.get(c, c): i for i, c in enumerate(CLASSES[1:])}
PLACES = ["ahead in our lane", "in the left lane", "in the oncoming lanes", "crossing", "on the right shoulder",
          "parked on the left", "on the left shoulder", "on the right sidewalk", "on the left sidewalk"]
NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "nine": 9, "many": 10}
COUNT_STEPS = [1, 2, 3, 5]
MORE_STEPS = [1, 2, 3, 4, 5, 6, 8, 10]
TOTAL_STEPS = [2, 4, 6, 8, 10, 12, 15, 20]  # objects the caption counts: listed groups + "n more objects"

N_ROAD, N_ZONE, N_LIMIT = len(ROADS), len(ZONES) + 1, len(LIMITS) + 1
N_CROSS = 1 + len(DISTS)
N_GROUPS = len(CLASS_WORDS) * len(PLACES) * len(COUNT_STEPS)
N_EGO = len(CLASS_WORDS) * len(DISTS)
N_ORDER = 2 * len(CLASS_WORDS) * len(PLACES)  # which (class, place) group is listed first, second
SIZE = N_ROAD + N_ZONE + N_LIMIT + N_CROSS + N_GROUPS + N_EGO + len(MORE_STEPS) + N_ORDER + len(TOTAL_STEPS)
ZONE_O = N_ROAD
LIMIT_O = ZONE_O + N_ZONE
CROSS_O = LIMIT_O + N_LIMIT
ORDER_O = SIZE - len(TOTAL_STEPS) - N_ORDER
TOTAL_O = SIZE - len(TOTAL_STEPS)

_SETTING = re.compile(r"^(a straight road|a road curving left|a road curving right) "
                      r"(in a school zone|through a construction zone|with a (\d+) km/h limit)")
_WHAT = re.compile(r"^(a|one|two|three|four|five|six|seven|eight|nine|many) (" + "|".join(map(re.escape, CLASS_WORDS))
                   + r")s? ")


def _parts(rest: str) -> list[str]:
    if " and " in rest:
        head, last = rest.rsplit(" and ", 1)
        return [p.strip() for p in head.split(", ") if p.strip()] + [last.strip()]
    return [rest.strip()] if rest.strip() else []


def attributes(caption: str) -> tuple[np.ndarray, float]:
    """(targets f32 [SIZE], 1.0) for a caption of the grammar above, (zeros, 0.0) otherwise."""
    v = np.zeros(SIZE, np.float32)
    c = caption.strip().lower()
    m = _SETTING.match(c)
    if not m:
        return v, 0.0
    o = 0
    v[o + ROADS.index(m.group(1))] = 1
    o += N_ROAD
    zone = m.group(2)
    v[o + (ZONES.index(zone) + 1 if zone in ZONES else 0)] = 1
    o += N_ZONE
    lim = int(m.group(3)) if m.group(3) else None
    v[o + (LIMITS.index(lim) + 1 if lim in LIMITS else 0)] = 1
    o += N_LIMIT
    rest = c[m.end():]
    if rest.startswith(" and no traffic ahead"):
        parts = []
    elif rest.startswith(": "):
        parts = _parts(rest[2:])
    else:
        return np.zeros(SIZE, np.float32), 0.0
    cross_o, groups_o = o, o + N_CROSS
    ego_o = groups_o + N_GROUPS
    more_o = ego_o + N_EGO
    listed = total = 0
    for part in parts:
        cm = re.fullmatch(r"a crosswalk (\d+) m ahead", part)
        if cm:
            d = int(cm.group(1))
            v[cross_o] = 1
            for i, t in enumerate(DISTS):
                v[cross_o + 1 + i] = float(d <= t)
            continue
        mm = re.fullmatch(r"(one|a|two|three|four|five|six|seven|eight|nine|many) more objects?", part)
        if mm:
            n = NUMBERS[mm.group(1)]
            total += n
            for i, t in enumerate(MORE_STEPS):
                v[more_o + i] = float(n >= t)
            continue
        wm = _WHAT.match(part + " ")
        if not wm:
            return np.zeros(SIZE, np.float32), 0.0
        n, cls = NUMBERS[wm.group(1)], CLASS_WORDS[wm.group(2)]
        where = part[wm.end():].strip() if wm.end() <= len(part) else ""
        dm = re.fullmatch(r"(\d+) m ahead in our lane", where)
        if dm:
            place = 0
            d = int(dm.group(1))
            for i, t in enumerate(DISTS):
                v[ego_o + cls * len(DISTS) + i] = float(d <= t)
        elif where in PLACES:
            place = PLACES.index(where)
        else:
            return np.zeros(SIZE, np.float32), 0.0
        base = groups_o + (cls * len(PLACES) + place) * len(COUNT_STEPS)
        for i, t in enumerate(COUNT_STEPS):
            v[base + i] = max(v[base + i], float(n >= t))
        if listed < 2:
            v[ORDER_O + listed * len(CLASS_WORDS) * len(PLACES) + cls * len(PLACES) + place] = 1
        listed += 1
        total += n
    for i, t in enumerate(TOTAL_STEPS):
        v[TOTAL_O + i] = float(total >= t)
    return v, 1.0


FINE_DISTS = [2.5 * i for i in range(1, 19)]  # 2.5 .. 45 m


def fine_crosswalk(map_texts: list[str]) -> np.ndarray:
    """Ordinal bits "the nearest crosswalk ahead is within d m" (d = 2.5 .. 45 m) from a frame's own
    (fresh) map annotations, all zero without one: a denser distance target for the scene side than
    the caption's 5-m steps (a replay fuses map text up to a second old, so the sensors must place it)."""
    v = np.zeros(len(FINE_DISTS), np.float32)
    ds = [float(m.group(1)) for t in map_texts if (m := re.fullmatch(r"crosswalk (\d+) m ahead", t.strip().lower()))]
    if ds:
        d = min(ds)
        v[:] = [float(d <= t) for t in FINE_DISTS]
    return v


def crosswalk_bits(v: np.ndarray, dist: float) -> None:
    """Sets the crosswalk attributes as the caption states them (rounded to 5 m, listed within 45 m)."""
    d = 5 * max(1, round(dist / 5))
    if 0 < dist < 45:
        v[CROSS_O] = 1
        for i, t in enumerate(DISTS):
            v[CROSS_O + 1 + i] = float(d <= t)


def map_attributes(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(targets, per-attribute mask) of one map annotation (crates/sim/src/truth.rs `map_text`): what it
    says about the caption's attributes (the speed limit, being in a zone, the crosswalk ahead); the
    attributes it says nothing about are masked out."""
    v = np.zeros(SIZE, np.float32)
    mask = np.zeros(SIZE, np.float32)
    t = text.strip().lower()
    m = re.fullmatch(r"speed limit (\d+)", t)
    if m:
        lim = int(m.group(1))
        if lim in LIMITS:
            v[LIMIT_O + 1 + LIMITS.index(lim)] = 1
            mask[LIMIT_O:LIMIT_O + N_LIMIT] = 1
        return v, mask
    m = re.fullmatch(r"crosswalk (\d+) m ahead", t)
    if m:
        crosswalk_bits(v, float(m.group(1)))
        mask[CROSS_O:CROSS_O + N_CROSS] = 1
        return v, mask
    for i, name in enumerate(["school zone,", "construction zone,"]):
        if t.startswith(name):
            v[ZONE_O + 1 + i] = 1
            mask[ZONE_O:ZONE_O + N_ZONE] = 1
    return v, mask
