"""The report's arithmetic on hand-made summaries: pooled percentiles, spread, and what counts as a regression."""

from __future__ import annotations

import json
from pathlib import Path

from sensorium_fleet import report as rep
from sensorium_fleet.stats import percentile


def summary(iou: float, top1: float, p99: float, fused: int = 10, dropped=None) -> dict:
    return {
        "bag": "x.bag",
        "framesets_fused": fused,
        "dropped": dropped or {},
        "end_to_end_ms": {"p50": p99 / 2, "p90": p99 * 0.9, "p99": p99, "max": p99, "count": fused},
        "latency_ms": {},
        "metrics": {"frames": fused, "occupancy_iou": iou, "recall": {"car": 0.9}, "query_top1": top1, "objects": {}},
    }


def write_run(out: Path, runs: dict[str, dict | None]) -> list[dict]:
    entries = []
    for name, s in runs.items():
        d = out / name
        d.mkdir(parents=True)
        if s is None:
            entries.append({"name": name, "path": f"/r/{name}.bag", "status": "failed", "attempts": 1,
                            "wall_s": 0.1, "error": "exit 3 (recording): not a bag"})
            continue
        (d / "summary.json").write_text(json.dumps(s))
        lat = {"end_to_end": [s["end_to_end_ms"]["p99"] / 2] * 9 + [s["end_to_end_ms"]["p99"]]}
        (d / "latency.json").write_text(json.dumps(lat))
        entries.append({"name": name, "path": f"/r/{name}.bag", "status": "ok", "attempts": 1, "wall_s": 1.0,
                        "error": None})
    return entries


def test_percentile_is_nearest_rank():
    v = sorted(float(i) for i in range(1, 101))
    assert percentile(v, 0.5) == 50.0
    assert percentile(v, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0


def test_aggregate_and_regressions(tmp_path):
    base_out, cur_out = tmp_path / "base", tmp_path / "cur"
    base_entries = write_run(base_out, {
        "a": summary(0.80, 0.50, 10.0, dropped={"late": 1}),
        "b": summary(0.70, 0.40, 10.0),
        "c": summary(0.60, 0.40, 10.0),
        "d": None,
    })
    base = rep.build(base_out, base_entries, None, 0.02, 1.5, {})
    assert rep.write_and_summarise(base_out, base) == 1  # d failed
    baseline = rep.load_baseline(base_out)

    cur_entries = write_run(cur_out, {
        "a": summary(0.79, 0.50, 10.5, dropped={"late": 2}),  # within the threshold, latency within the factor
        "b": summary(0.60, 0.40, 10.0),  # IoU down 0.10
        "c": None,  # new failure
        "d": None,  # failed before too: not new
    })
    cur = rep.build(cur_out, cur_entries, baseline, 0.02, 1.5, {"baseline": str(base_out)})
    agg = cur["aggregate"]
    assert agg["ok"] == 2 and agg["failed"] == 2 and agg["framesets_fused"] == 20
    assert agg["dropped"] == {"late": 2}
    assert agg["latency_ms"]["end_to_end"]["count"] == 20
    assert abs(agg["metrics"]["occupancy_iou"]["mean"] - 0.695) < 1e-9
    assert abs(agg["metrics"]["occupancy_iou"]["std"] - 0.095) < 1e-9
    regs = cur["regressions"]
    kinds = [(g["kind"], g["recording"], g["what"]) for g in regs]
    assert kinds[0] == ("failure", "c", "status")
    assert ("metric", "b", "occupancy_iou") in kinds
    assert ("metric", "a", "occupancy_iou") not in kinds
    assert not any(k == "latency" for k, _, _ in kinds)
    assert rep.write_and_summarise(cur_out, cur) == 1
    saved = json.loads((cur_out / "report.json").read_text())
    assert set(saved) >= {"recordings", "aggregate", "regressions"}
    assert [r["name"] for r in saved["recordings"]] == ["a", "b", "c", "d"]
    html = (cur_out / "report.html").read_text()
    assert 'id="regressions"' in html and 'data-plot="latency-e2e"' in html and 'data-plot="drops"' in html


def test_latency_regression_needs_the_factor_and_a_millisecond(tmp_path):
    base_out, cur_out = tmp_path / "base", tmp_path / "cur"
    base = rep.build(base_out, write_run(base_out, {"a": summary(0.8, 0.5, 10.0), "b": summary(0.8, 0.5, 0.2)}),
                     None, 0.02, 1.5, {})
    rep.write_and_summarise(base_out, base)
    cur = rep.build(cur_out, write_run(cur_out, {"a": summary(0.8, 0.5, 20.0), "b": summary(0.8, 0.5, 0.9)}),
                    rep.load_baseline(base_out), 0.02, 1.5, {})
    lat = [(g["recording"], g["what"]) for g in cur["regressions"] if g["kind"] == "latency"]
    assert ("a", "end_to_end p99 (ms)") in lat
    assert all(r != "b" for r, _ in lat)  # 4.5x, but 0.7 ms


def test_a_missing_baseline_is_a_usage_error(tmp_path):
    try:
        rep.load_baseline(tmp_path / "nope")
    except rep.BaselineError as e:
        assert "no report.json" in str(e)
    else:
        raise AssertionError("no error")
