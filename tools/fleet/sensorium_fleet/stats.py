"""Numbers the report and its page share."""

from __future__ import annotations

import math


def flat_metrics(summary: dict | None) -> dict[str, float]:
    """`occupancy_iou`, `recall.CLASS`, `query_top1` of a replay summary."""
    m = (summary or {}).get("metrics") or {}
    out: dict[str, float] = {}
    if isinstance(m.get("occupancy_iou"), (int, float)):
        out["occupancy_iou"] = float(m["occupancy_iou"])
    for k, v in sorted((m.get("recall") or {}).items()):
        if isinstance(v, (int, float)):
            out[f"recall.{k}"] = float(v)
    if isinstance(m.get("query_top1"), (int, float)):
        out["query_top1"] = float(m["query_top1"])
    return out


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 1]) of sorted values."""
    if not sorted_values:
        return float("nan")
    i = max(0, math.ceil(q * len(sorted_values)) - 1)
    return sorted_values[min(i, len(sorted_values) - 1)]
