"""OUT/report.json and OUT/report.html: per recording, in aggregate, and what got worse against a baseline."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from . import page
from .stats import flat_metrics, percentile

# Stages whose per-frame latencies are pooled (anything replay times; these come first).
STAGE_ORDER = ["end_to_end", "total", "image_encoder", "point_encoder", "text_encoder", "fusion"]
LATENCY_MIN_MS = 1.0  # a p99 must also grow by this much to count (sub-millisecond noise is not a regression)


class BaselineError(Exception):
    pass


def load_baseline(path: Path) -> dict:
    """A previous run: its OUT folder or its report.json."""
    f = path / "report.json" if path.is_dir() else path
    try:
        rep = json.loads(f.read_text())
    except OSError as e:
        raise BaselineError(f"--baseline {path}: no report.json there ({e.strerror})") from None
    except ValueError as e:
        raise BaselineError(f"--baseline {path}: {f} is not JSON ({e})") from None
    if not isinstance(rep.get("recordings"), list):
        raise BaselineError(f"--baseline {path}: {f} is not a fleet report (no recordings)")
    rep["_dir"] = str(f.parent)
    return rep


def _latencies_of(dirpath: Path) -> dict[str, list[float]] | None:
    f = dirpath / "latency.json"
    if f.is_file():
        try:
            return json.loads(f.read_text())
        except ValueError:
            return None
    scenes = dirpath / "scenes.jsonl"
    if scenes.is_file():  # outputs of `sensorium replay --recordings/--shard`
        from .replay import _latencies

        return _latencies(scenes)
    return None


def _stage_key(s: str) -> tuple:
    return (STAGE_ORDER.index(s) if s in STAGE_ORDER else len(STAGE_ORDER), s)


def aggregate(out: Path, recs: list[dict]) -> tuple[dict, dict[str, list[float]]]:
    ok = [r for r in recs if r["status"] == "ok" and r.get("summary")]
    dropped: dict[str, int] = {}
    fused = 0
    pooled: dict[str, list[float]] = {}
    pooled_from = 0
    for r in ok:
        s = r["summary"]
        fused += int(s.get("framesets_fused", 0))
        for k, v in (s.get("dropped") or {}).items():
            dropped[k] = dropped.get(k, 0) + int(v)
        lat = _latencies_of(out / r["name"])
        if lat:
            pooled_from += 1
            for stage, vals in lat.items():
                pooled.setdefault(stage, []).extend(float(v) for v in vals)
    latency = {}
    for stage in sorted(pooled, key=_stage_key):
        v = sorted(pooled[stage])
        if not v:
            continue
        latency[stage] = {
            "p10": percentile(v, 0.10),
            "p25": percentile(v, 0.25),
            "p50": percentile(v, 0.50),
            "p75": percentile(v, 0.75),
            "p90": percentile(v, 0.90),
            "p99": percentile(v, 0.99),
            "max": v[-1],
            "min": v[0],
            "count": len(v),
        }
    per_metric: dict[str, list[float]] = {}
    for r in ok:
        for k, v in flat_metrics(r["summary"]).items():
            per_metric.setdefault(k, []).append(v)
    metrics = {}
    for k, vals in per_metric.items():
        mean = sum(vals) / len(vals)
        std = math.sqrt(sum((x - mean) ** 2 for x in vals) / len(vals))
        metrics[k] = {"mean": mean, "std": std, "min": min(vals), "max": max(vals), "n": len(vals)}
    agg = {
        "recordings": len(recs),
        "ok": len(ok),
        "failed": sum(1 for r in recs if r["status"] != "ok"),
        "framesets_fused": fused,
        "dropped": dict(sorted(dropped.items())),
        "latency_ms": latency,
        "latency_pooled_from": pooled_from,
        "metrics": metrics,
    }
    return agg, pooled


def regressions(out: Path, recs: list[dict], baseline: dict, threshold: float, latency_factor: float) -> list[dict]:
    """What got worse than `baseline`: new failures, metrics down by more than `threshold`, end-to-end
    p99 up by more than `latency_factor` (and LATENCY_MIN_MS); per recording, and in aggregate over
    the recordings both runs replayed (the same set on both sides)."""
    base = {r.get("name") or Path(r["path"]).stem: r for r in baseline["recordings"]}
    found: list[dict] = []
    common: list[str] = []
    for r in recs:
        b = base.get(r["name"])
        if b is None:
            continue
        row = {"recording": r["name"], "path": r["path"]}
        if r["status"] != "ok":
            if b.get("status") == "ok":
                found.append({**row, "kind": "failure", "what": "status", "baseline": "ok",
                              "current": "failed", "change": None, "detail": r.get("error") or ""})
            continue
        if b.get("status") != "ok" or not b.get("summary"):
            continue
        common.append(r["name"])
        cur_m, base_m = flat_metrics(r["summary"]), flat_metrics(b["summary"])
        for k in cur_m:
            if k in base_m and cur_m[k] < base_m[k] - threshold:
                found.append({**row, "kind": "metric", "what": k, "baseline": base_m[k],
                              "current": cur_m[k], "change": cur_m[k] - base_m[k],
                              "detail": f"down {base_m[k] - cur_m[k]:.3f} (threshold {threshold})"})
        cp = (r["summary"].get("end_to_end_ms") or {}).get("p99")
        bp = (b["summary"].get("end_to_end_ms") or {}).get("p99")
        if _latency_worse(cp, bp, latency_factor):
            found.append({**row, "kind": "latency", "what": "end_to_end p99 (ms)", "baseline": bp,
                          "current": cp, "change": cp / bp,
                          "detail": f"{cp / bp:.2f}x (factor {latency_factor})"})
    every = {"recording": None, "path": None}
    cur_by = {r["name"]: r for r in recs}
    if common:
        # metric means over the same recordings on both sides
        keys = sorted({k for n in common for k in flat_metrics(cur_by[n]["summary"])})
        for k in keys:
            pairs = [(flat_metrics(cur_by[n]["summary"]).get(k), flat_metrics(base[n]["summary"]).get(k))
                     for n in common]
            pairs = [(c, b) for c, b in pairs if c is not None and b is not None]
            if not pairs:
                continue
            cm = sum(c for c, _ in pairs) / len(pairs)
            bm = sum(b for _, b in pairs) / len(pairs)
            if cm < bm - threshold:
                found.append({**every, "kind": "metric", "what": f"{k} (mean)", "baseline": bm, "current": cm,
                              "change": cm - bm,
                              "detail": f"mean over the {len(pairs)} recordings both runs replayed down {bm - cm:.3f}"})
        # pooled per-frame latencies of the same recordings, where the baseline's files are at hand
        base_dir = Path(baseline["_dir"]) if baseline.get("_dir") else None
        cur_lat: dict[str, list[float]] = {}
        base_lat: dict[str, list[float]] = {}
        for n in common:
            c = _latencies_of(out / n)
            b = _latencies_of(base_dir / n) if base_dir else None
            if not c or not b:
                continue
            for stage, v in c.items():
                cur_lat.setdefault(stage, []).extend(v)
            for stage, v in b.items():
                base_lat.setdefault(stage, []).extend(v)
        for stage in sorted(cur_lat, key=_stage_key):
            if not cur_lat[stage] or not base_lat.get(stage):
                continue
            cp = percentile(sorted(cur_lat[stage]), 0.99)
            bp = percentile(sorted(base_lat[stage]), 0.99)
            if _latency_worse(cp, bp, latency_factor):
                found.append({**every, "kind": "latency", "what": f"{stage} p99 (ms, pooled)", "baseline": bp,
                              "current": cp, "change": cp / bp,
                              "detail": f"{cp / bp:.2f}x over {len(cur_lat[stage])} frames"})
    order = {"failure": 0, "metric": 1, "latency": 2}
    found.sort(key=lambda g: (order[g["kind"]], g["recording"] is not None,
                              g["change"] if g["kind"] == "metric" else -(g["change"] or 0)))
    return found


def _latency_worse(cur, base, factor: float) -> bool:
    return (
        isinstance(cur, (int, float)) and isinstance(base, (int, float)) and base > 0
        and cur > base * factor and cur - base > LATENCY_MIN_MS
    )


def build(out: Path, entries: list[dict], baseline: dict | None, threshold: float,
          latency_factor: float, run_info: dict) -> dict:
    """The report of the recordings in `entries` (their fleet.json records), whose outputs are under `out`."""
    recs = []
    for e in entries:
        summary = None
        if e.get("status") == "ok":
            try:
                summary = json.loads((out / e["name"] / "summary.json").read_text())
            except (OSError, ValueError) as err:
                e = {**e, "status": "failed", "error": f"summary.json unreadable: {err}"}
        recs.append({
            "name": e["name"],
            "path": e["path"],
            "status": "ok" if e.get("status") == "ok" else "failed",
            "attempts": e.get("attempts"),
            "wall_s": e.get("wall_s"),
            "error": e.get("error"),
            "summary": summary,
        })
    agg, pooled = aggregate(out, recs)
    regs = regressions(out, recs, baseline, threshold, latency_factor) if baseline else []
    info = dict(run_info)
    info.update({"threshold": threshold, "latency_factor": latency_factor})
    report = {"recordings": recs, "aggregate": agg, "regressions": regs, "run": info}
    if baseline:
        # the baseline over this run's recordings, for the page's side-by-side figures
        names = {r["name"] for r in recs}
        same = [{**b, "name": b.get("name") or Path(b["path"]).stem} for b in baseline["recordings"]]
        same = [b for b in same if b["name"] in names]
        base_dir = Path(baseline["_dir"]) if baseline.get("_dir") else out / "-"
        baseline = {**baseline, "_same_recordings": aggregate(base_dir, same)[0]}
    report["_pooled"] = pooled
    report["_baseline"] = baseline
    return report


def write_and_summarise(out: Path, report: dict) -> int:
    """Writes report.json and report.html; prints where; exit code 0 when every recording replayed and
    nothing regressed, else 1."""
    pooled = report.pop("_pooled", {})
    baseline = report.pop("_baseline", None)
    (out / "report.html").write_text(page.render(out, report, pooled, baseline), encoding="utf-8")
    tmp = out / "report.json.tmp"
    tmp.write_text(json.dumps(_finite(report), indent=1, allow_nan=False))
    tmp.rename(out / "report.json")
    agg = report["aggregate"]
    regs = report["regressions"]
    print(
        f"{agg['ok']} of {agg['recordings']} recordings replayed, {agg['failed']} failed, "
        f"{len(regs)} regression(s)" + (" against the baseline" if report["run"].get("baseline") else "")
    )
    for g in regs[:20]:
        who = g["recording"] or "(all recordings)"
        print(f"  {g['kind']:<8} {who}: {g['what']}: {_num(g['baseline'])} -> {_num(g['current'])}  {g['detail']}")
    if len(regs) > 20:
        print(f"  ... {len(regs) - 20} more in the report")
    print(f"report: {out / 'report.html'} ({out / 'report.json'})")
    sys.stdout.flush()
    return 0 if agg["failed"] == 0 and not regs else 1


def _num(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _finite(o):
    """JSON has no NaN or infinity: they become null."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_finite(v) for v in o]
    return o


NO_OUTPUT = "no output: shard failed or not run"


def _entry_of(d: Path, name: str, path: str | None) -> dict | None:
    """A recording's record from its folder: the runner's fleet.json, else what `sensorium replay
    --recordings/--shard` wrote (summary.json, or error.json); None when there is neither."""
    f = d / "fleet.json"
    if f.is_file():
        try:
            return json.loads(f.read_text())
        except ValueError:
            pass
    if (d / "summary.json").is_file():
        try:
            s = json.loads((d / "summary.json").read_text())
        except ValueError:
            s = {}
        return {"name": name, "path": path or s.get("bag", name), "status": "ok", "attempts": None,
                "wall_s": s.get("wall_s"), "error": None}
    if (d / "error.json").is_file():
        try:
            e = json.loads((d / "error.json").read_text())
        except ValueError:
            e = {}
        code = e.get("exit_code")
        return {"name": name, "path": path or e.get("recording", name), "status": "failed",
                "attempts": None, "wall_s": None,
                "error": f"exit {code} ({e.get('class', 'unknown')}): {e.get('error', '')}"}
    return None


def entries_from_out(out: Path, listing: list[tuple[str, str]] | None = None) -> list[dict]:
    """Per-recording records of an OUT folder. Without `listing`: every folder of OUT that holds a
    record. With `listing` ((NAME, PATH) of every recording the run was to replay, in order): one
    record per recording, and a recording with no record in OUT (its shard failed before reaching it,
    or never ran) is failed with NO_OUTPUT; folders of OUT that are not in the listing are left out."""
    if listing is None:
        entries = []
        for d in sorted(p for p in out.iterdir() if p.is_dir()):
            e = _entry_of(d, d.name, None)
            if e is not None:
                entries.append(e)
        return entries
    entries = []
    for name, path in listing:
        e = _entry_of(out / name, name, path) if out.is_dir() else None
        if e is None:
            e = {"name": name, "path": path, "status": "failed", "attempts": None, "wall_s": None,
                 "error": NO_OUTPUT}
        entries.append(e)
    return entries
