#!/usr/bin/env python3
"""Compare two replay outputs (summary JSON or scenes JSONL) number by number.

    compare-outputs.py summary A.json B.json [--rtol R] [--atol A] [--ignore KEY ...]
    compare-outputs.py scenes A/scenes.jsonl B/scenes.jsonl [--rtol R] [--atol A] [--ignore KEY ...]

Strings, booleans, nulls, object keys and list lengths must be equal; integers must be equal;
floats must agree within |a - b| <= atol + rtol * max(|a|, |b|). Keys named with --ignore (at any
depth) are skipped: wall-clock timings differ between machines by design.
Prints how many numbers were compared and the largest differences; exits 1 when anything differs
(the first --show mismatches listed), 0 when everything agrees. Standard library only.
"""

import argparse
import json
import math
import sys

TIMING_KEYS = ["timing", "latency_ms", "end_to_end_ms", "wall_s"]


class Cmp:
    def __init__(self, rtol, atol, ignore, show):
        self.rtol, self.atol, self.ignore, self.show = rtol, atol, set(ignore), show
        self.numbers = 0
        self.floats_differing = 0
        self.max_abs = 0.0
        self.max_rel = 0.0
        self.where_max_abs = ""
        self.mismatches = []

    def fail(self, path, msg):
        self.mismatches.append(f"{path or '/'}: {msg}")

    def num(self, path, a, b):
        self.numbers += 1
        if isinstance(a, int) and isinstance(b, int):
            if a != b:
                self.fail(path, f"integers differ: {a} vs {b}")
            return
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            if not (math.isnan(a) and math.isnan(b)):
                self.fail(path, f"NaN vs number: {a} vs {b}")
            return
        d = abs(a - b)
        if d > 0:
            self.floats_differing += 1
        scale = max(abs(a), abs(b))
        rel = d / scale if scale > 0 else 0.0
        if d > self.max_abs:
            self.max_abs, self.where_max_abs = d, path
        self.max_rel = max(self.max_rel, rel)
        if d > self.atol + self.rtol * scale:
            self.fail(path, f"{a!r} vs {b!r} (abs diff {d:.3g}, rel {rel:.3g})")

    def value(self, path, a, b):
        if len(self.mismatches) > 1000:
            return
        if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
            if a != b or type(a) is not type(b):
                self.fail(path, f"{a!r} vs {b!r}")
        elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
            self.num(path, a, b)
        elif isinstance(a, str) and isinstance(b, str):
            if a != b:
                self.fail(path, f"{a!r} vs {b!r}")
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                self.fail(path, f"lengths differ: {len(a)} vs {len(b)}")
                return
            for i, (x, y) in enumerate(zip(a, b)):
                self.value(f"{path}[{i}]", x, y)
        elif isinstance(a, dict) and isinstance(b, dict):
            ka = {k for k in a if k not in self.ignore}
            kb = {k for k in b if k not in self.ignore}
            if ka != kb:
                self.fail(path, f"keys differ: only in A {sorted(ka - kb)}, only in B {sorted(kb - ka)}")
            for k in sorted(ka & kb):
                self.value(f"{path}/{k}", a[k], b[k])
        else:
            self.fail(path, f"types differ: {type(a).__name__} vs {type(b).__name__}")


def load(kind, path):
    try:
        with open(path, encoding="utf-8") as f:
            if kind == "summary":
                return json.load(f)
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        sys.exit(f"compare-outputs: cannot read {kind} {path}: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["summary", "scenes"])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--ignore", nargs="*", default=TIMING_KEYS)
    ap.add_argument("--show", type=int, default=10)
    args = ap.parse_args()
    a, b = load(args.kind, args.a), load(args.kind, args.b)
    c = Cmp(args.rtol, args.atol, args.ignore, args.show)
    if args.kind == "scenes":
        if not a:
            sys.exit(f"compare-outputs: {args.a} has no scenes")
        if len(a) != len(b):
            c.fail("", f"scene counts differ: {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            c.value(f"scene[{i}]", x, y)
    else:
        c.value("", a, b)
    what = f"{len(a)} scenes" if args.kind == "scenes" else "summary"
    print(
        f"{what}: {c.numbers} numbers compared, {c.floats_differing} floats not bit-identical, "
        f"max abs diff {c.max_abs:.3g} (at {c.where_max_abs or '-'}), max rel diff {c.max_rel:.3g}; "
        f"tolerance atol {args.atol:g} + rtol {args.rtol:g}; ignored keys {sorted(c.ignore)}"
    )
    if c.mismatches:
        print(f"{len(c.mismatches)} mismatches between {args.a} and {args.b}:")
        for m in c.mismatches[: args.show]:
            print(f"  {m}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
