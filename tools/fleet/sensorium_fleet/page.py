"""OUT/report.html: one self-contained page (inline CSS and SVG; the PNGs it links are beside it)."""

from __future__ import annotations

import math
import os
from html import escape
from pathlib import Path
from urllib.parse import quote

from .stats import flat_metrics, percentile

CUR = "#1f6fb4"
BASE = "#9a9a9a"
BAD = "#c0392b"

CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;margin:0 0 12px} .meta code{background:#f4f4f4;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:8px 0} th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f7f7f7;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.failed td{background:#fdf0ef} .kind-failure{color:#c0392b;font-weight:600} .kind-metric{color:#b35900;font-weight:600}
.kind-latency{color:#7d3c98;font-weight:600} .ok{color:#1e8449} .bad{color:#c0392b;font-weight:600}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0} .card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px} .plots{display:flex;flex-wrap:wrap;gap:16px} figure{margin:0} figcaption{color:#555;font-size:12px}
svg.plot{background:#fff;border:1px solid #eee} .err{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;max-width:520px}
.pngs a{margin-right:6px} .pngs.base{color:#777;font-size:12px} .none{color:#1e8449;font-weight:600}
"""

# The page needs no script; this one only records, for the browser check in the tests and for
# anyone curious, how many plots the browser laid out with marks in them.
SCRIPT = """
addEventListener('load', function () {
  var plots = document.querySelectorAll('svg.plot'), n = 0;
  for (var i = 0; i < plots.length; i++) {
    var s = plots[i], b = s.getBBox(), r = s.getBoundingClientRect();
    if (b.width > 0 && b.height > 0 && r.width > 0 && s.querySelectorAll('.mark').length > 0) {
      s.setAttribute('data-rendered', 'yes'); n++;
    }
  }
  document.body.setAttribute('data-plots', plots.length);
  document.body.setAttribute('data-plots-rendered', n);
});
"""


def _f(v, digits=3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.{digits}f}"
    return escape(str(v))


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= m * e:
            return m * e
    return 10 * e


class Svg:
    def __init__(self, w: int, h: int, name: str, title: str):
        self.w, self.h, self.items = w, h, []
        self.name, self.title = name, title

    def add(self, s: str) -> None:
        self.items.append(s)

    def text(self, x, y, s, anchor="start", size=11, color="#333", extra="") -> None:
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{color}" text-anchor="{anchor}" {extra}>{escape(str(s))}</text>')

    def line(self, x1, y1, x2, y2, color="#ccc", width=1, cls="", dash="") -> None:
        c = f' class="{cls}"' if cls else ""
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" stroke-width="{width}"{c}{d}/>')

    def __str__(self) -> str:
        body = "".join(self.items)
        return (f'<figure><svg class="plot" data-plot="{escape(self.name)}" xmlns="http://www.w3.org/2000/svg" '
                f'width="{self.w}" height="{self.h}" viewBox="0 0 {self.w} {self.h}" role="img">'
                f"<title>{escape(self.title)}</title>{body}</svg>"
                f"<figcaption>{escape(self.title)}</figcaption></figure>")


def histogram(values: list[float], title: str, name: str) -> str:
    """Pooled per-frame latencies: a histogram with p50 and p99 marked."""
    v = sorted(values)
    w, h, l, r, t, b = 520, 220, 44, 12, 14, 34
    svg = Svg(w, h, name, title)
    lo, hi = v[0], v[-1]
    if hi <= lo:
        hi = lo + 1.0
    nb = 30
    counts = [0] * nb
    for x in v:
        counts[min(nb - 1, int((x - lo) / (hi - lo) * nb))] += 1
    ymax = max(counts)
    pw, ph = w - l - r, h - t - b
    svg.line(l, t + ph, l + pw, t + ph, "#888")
    for i, c in enumerate(counts):
        if not c:
            continue
        bh = ph * c / ymax
        svg.add(f'<rect class="mark" x="{l + i * pw / nb + 0.5:.1f}" y="{t + ph - bh:.1f}" width="{pw / nb - 1:.1f}" '
                f'height="{bh:.1f}" fill="{CUR}"><title>{c} frames</title></rect>')
    for i, (q, label, color) in enumerate(((0.5, "p50", "#2c3e50"), (0.99, "p99", BAD))):
        x = l + (percentile(v, q) - lo) / (hi - lo) * pw
        svg.line(x, t, x, t + ph, color, 1.5, dash="4 3")
        right = x > l + pw * 0.7
        svg.text(x - 3 if right else x + 3, t + 10 + 12 * i, f"{label} {percentile(v, q):.1f} ms",
                 "end" if right else "start", 10, color)
    for i in range(5):
        xv = lo + (hi - lo) * i / 4
        svg.text(l + pw * i / 4, h - b + 14, f"{xv:.1f}", {0: "start", 4: "end"}.get(i, "middle"), 10)
    svg.text(l + pw / 2, h - 4, "ms", "middle", 10)
    svg.text(l - 6, t + 8, str(ymax), "end", 10)
    svg.text(l - 6, t + ph, "0", "end", 10)
    return str(svg)


def stage_boxes(lat: dict, base_lat: dict | None, name: str) -> str:
    """Per stage: p10–p90 whiskers, p25–p75 box, p50 tick, p99 dot (baseline's p50/p99 in grey)."""
    stages = list(lat)
    w, l, r = 520, 110, 20
    row = 26
    h = 30 + row * len(stages) + 24
    svg = Svg(w, h, name, "Latency by stage (pooled per-frame ms): box p25–p75, whiskers p10–p90, dot p99"
              + ("; grey: the baseline's p50/p99, same recordings" if base_lat else ""))
    xmax = max([p["p99"] for p in lat.values()] + [p.get("p99", 0) for p in (base_lat or {}).values()])
    xmax = _nice_max(xmax * 1.05)
    pw = w - l - r
    X = lambda v: l + pw * min(v, xmax) / xmax  # noqa: E731
    for i in range(6):
        x = l + pw * i / 5
        svg.line(x, 16, x, h - 24, "#eee")
        svg.text(x, h - 8, f"{xmax * i / 5:g}", "middle", 10)
    for i, s in enumerate(stages):
        p = lat[s]
        y = 24 + i * row + row / 2
        svg.text(l - 8, y + 4, s, "end", 11)
        svg.line(X(p["p10"]), y, X(p["p90"]), y, "#555", 1, cls="mark")
        svg.add(f'<rect class="mark" x="{X(p["p25"]):.1f}" y="{y - 7:.1f}" width="{max(X(p["p75"]) - X(p["p25"]), 1.5):.1f}" '
                f'height="14" fill="{CUR}" fill-opacity="0.35" stroke="{CUR}"/>')
        svg.line(X(p["p50"]), y - 8, X(p["p50"]), y + 8, CUR, 2.5, cls="mark")
        svg.add(f'<circle class="mark" cx="{X(p["p99"]):.1f}" cy="{y:.1f}" r="3.5" fill="{BAD}">'
                f'<title>{escape(s)} p99 {p["p99"]:.2f} ms (p50 {p["p50"]:.2f})</title></circle>')
        bp = (base_lat or {}).get(s)
        if bp:
            svg.line(X(bp["p50"]), y - 11, X(bp["p50"]), y - 6, BASE, 2)
            svg.add(f'<circle cx="{X(bp["p99"]):.1f}" cy="{y - 9:.1f}" r="2.5" fill="none" stroke="{BASE}">'
                    f'<title>baseline p99 {bp["p99"]:.2f} ms</title></circle>')
    return str(svg)


def metric_strip(metric: str, recs: list[dict], cur: dict, base: dict, name: str) -> str:
    """One metric per recording: filled dots this run, hollow grey the baseline, red where it regressed."""
    n = len(recs)
    w = max(360, min(1100, 80 + 18 * n))
    h, l, r, t, b = 170, 40, 12, 16, 22
    svg = Svg(w, h, name, f"{metric} per recording" + (" (hollow: baseline)" if base else ""))
    pw, ph = w - l - r, h - t - b
    Y = lambda v: t + ph * (1 - max(0.0, min(1.0, v)))  # noqa: E731
    for i in range(6):
        y = t + ph * i / 5
        svg.line(l, y, l + pw, y, "#eee")
        svg.text(l - 4, y + 4, f"{1 - i / 5:.1f}", "end", 10)
    for i, rec in enumerate(recs):
        x = l + pw * (i + 0.5) / n
        bv = base.get(rec)
        cv = cur.get(rec)
        if bv is not None:
            svg.add(f'<circle cx="{x:.1f}" cy="{Y(bv):.1f}" r="4.5" fill="none" stroke="{BASE}" stroke-width="1.5">'
                    f"<title>{escape(rec)}: baseline {bv:.3f}</title></circle>")
        if cv is not None:
            worse = bv is not None and cv < bv
            svg.add(f'<circle class="mark" cx="{x:.1f}" cy="{Y(cv):.1f}" r="3.5" fill="{BAD if worse else CUR}">'
                    f"<title>{escape(rec)}: {cv:.3f}" + (f" (baseline {bv:.3f})" if bv is not None else "")
                    + "</title></circle>")
    if n <= 40:
        for i, rec in enumerate(recs):
            x = l + pw * (i + 0.5) / n
            svg.text(x, h - 6, rec[:10], "middle", 9, "#666")
    return str(svg)


def drop_bars(drops: dict, base_drops: dict | None, name: str) -> str:
    reasons = sorted(set(drops) | set(base_drops or {}))
    w, l, r = 520, 200, 50
    row = 22
    h = 20 + row * len(reasons) + 10
    svg = Svg(w, h, name, "Frame sets and messages dropped, by reason (all recordings)"
              + ("; grey: the baseline, same recordings" if base_drops else ""))
    vmax = max([drops.get(k, 0) for k in reasons] + [(base_drops or {}).get(k, 0) for k in reasons] + [1])
    pw = w - l - r
    for i, k in enumerate(reasons):
        y = 14 + i * row
        svg.text(l - 6, y + 12, k, "end", 11)
        v = drops.get(k, 0)
        bv = (base_drops or {}).get(k)
        if bv is not None:
            svg.add(f'<rect x="{l}" y="{y + 12:.1f}" width="{max(pw * bv / vmax, 1):.1f}" height="5" fill="{BASE}">'
                    f"<title>baseline {bv}</title></rect>")
        svg.add(f'<rect class="mark" x="{l}" y="{y + 1:.1f}" width="{max(pw * v / vmax, 1):.1f}" height="10" fill="{CUR}">'
                f"<title>{escape(k)}: {v}</title></rect>")
        svg.text(l + max(pw * v / vmax, 1) + 4, y + 10, str(v), size=10)
    return str(svg)


def _pngs(out: Path, name: str) -> list[str]:
    d = out / name
    if not d.is_dir():
        return []
    return sorted(f.name for f in d.iterdir() if f.suffix == ".png")


def _href(*segments: str) -> str:
    """A relative link to OUT/SEG/SEG... for an href attribute: each segment percent-encoded (so `#`,
    `?`, `%`, `:` in a recording's name stay part of the path, and a name like `javascript:x`
    cannot become a scheme), `./` in front, then HTML-escaped."""
    return escape("./" + "/".join(quote(seg, safe="") for seg in segments), quote=True)


def _png_links(out: Path, name: str | None, limit: int = 8) -> str:
    if not name:
        return ""
    files = _pngs(out, name)
    if not files:
        return f'<a href="{_href(name, "")}">folder</a>'
    links = "".join(f'<a href="{_href(name, f)}">{escape(Path(f).stem.replace("scene_", "#"))}</a>' for f in files[:limit])
    more = f" +{len(files) - limit}" if len(files) > limit else ""
    return f'<span class="pngs">{links}{more}</span>'


def _baseline_links(out: Path, base_dir: Path | None, name: str | None, limit: int = 4) -> str:
    """The baseline's renderings of the recording, relative to this page."""
    if not name or base_dir is None:
        return ""
    files = _pngs(base_dir, name)[:limit]
    if not files:
        return ""
    rel = os.path.relpath(base_dir / name, out).split(os.sep)
    links = "".join(f'<a href="{_href(*rel, f)}">{escape(Path(f).stem.replace("scene_", "#"))}</a>'
                    for f in files)
    return f'<br><span class="pngs base">baseline: {links}</span>'


def render(out: Path, report: dict, pooled: dict, baseline: dict | None) -> str:
    recs = report["recordings"]
    agg = report["aggregate"]
    regs = report["regressions"]
    run = report.get("run", {})
    # the baseline over the recordings of this run only (its own aggregate may cover others)
    base_agg = (baseline or {}).get("_same_recordings") or {}
    base_by_name = {r.get("name"): r for r in (baseline or {}).get("recordings", [])}
    base_dir = Path(baseline["_dir"]) if baseline and baseline.get("_dir") else None
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
             "<title>sensorium fleet replay report</title>",
             f"<style>{CSS}</style><script>{SCRIPT}</script></head><body>"]
    parts.append("<h1>Fleet replay report</h1>")
    meta = [f"recordings <code>{escape(str(run.get('recordings')))}</code>"]
    if run.get("models"):
        meta.append(f"models <code>{escape(str(run['models']))}</code>")
    if run.get("config"):
        meta.append(f"config <code>{escape(str(run['config']))}</code>")
    if run.get("baseline"):
        meta.append(f"baseline <code>{escape(str(run['baseline']))}</code>")
    if run.get("wall_s") is not None:
        meta.append(f"run took {run['wall_s']} s")
    parts.append(f'<p class="meta">{" · ".join(meta)}</p>')
    cards = [("recordings", agg["recordings"]), ("replayed", agg["ok"]), ("failed", agg["failed"]),
             ("regressions", len(regs) if baseline else "no baseline"), ("frame sets fused", agg["framesets_fused"])]
    e2e = agg["latency_ms"].get("end_to_end")
    if e2e:
        cards.append(("end-to-end p50 / p99", f"{e2e['p50']:.1f} / {e2e['p99']:.1f} ms"))
    parts.append('<div class="cards">' + "".join(
        f'<div class="card"><b>{escape(str(v))}</b>{escape(k)}</div>' for k, v in cards) + "</div>")

    # regressions first
    parts.append("<h2>Regressions against the baseline</h2>")
    if not baseline:
        parts.append('<p class="meta">No baseline given (<code>--baseline PREVIOUS_OUT</code>): nothing to compare with.</p>')
    elif not regs:
        parts.append(f'<p class="none">None: no new failure, no metric down by more than {run.get("threshold")}, '
                     f'no end-to-end p99 up by more than {run.get("latency_factor")}×.</p>')
    else:
        parts.append(f'<p class="meta">Metric down by more than {run.get("threshold")}, end-to-end p99 up by more '
                     f'than {run.get("latency_factor")}×, or a recording that replayed in the baseline and failed now.</p>')
    if baseline:
        parts.append('<table id="regressions"><thead><tr><th>kind</th><th>recording</th><th>what</th>'
                     '<th>baseline</th><th>now</th><th>change</th><th>renderings</th></tr></thead><tbody>')
        for g in regs:
            who = escape(g["recording"]) if g["recording"] else "<i>all recordings</i>"
            if g["kind"] == "metric":
                change = f"{g['change']:+.3f}"
            elif g["kind"] == "latency":
                change = f"{g['change']:.2f}×"
            else:
                change = escape(g["detail"][:200])
            parts.append(f'<tr class="regression"><td class="kind-{g["kind"]}">{g["kind"]}</td><td>{who}</td>'
                         f'<td>{escape(g["what"])}</td><td class="num">{_f(g["baseline"])}</td>'
                         f'<td class="num">{_f(g["current"])}</td><td class="num">{change}</td>'
                         f'<td>{_png_links(out, g["recording"], 4)}{_baseline_links(out, base_dir, g["recording"])}</td></tr>')
        parts.append("</tbody></table>")

    # plots
    parts.append("<h2>Latency</h2><div class=\"plots\">")
    if pooled.get("end_to_end"):
        parts.append(histogram(pooled["end_to_end"], "End-to-end latency per frame, all recordings (ms)", "latency-e2e"))
    if agg["latency_ms"]:
        parts.append(stage_boxes(agg["latency_ms"], base_agg.get("latency_ms"), "latency-stages"))
    if not pooled.get("end_to_end") and not agg["latency_ms"]:
        parts.append('<p class="meta">No per-frame latencies (no recording replayed).</p>')
    parts.append("</div>")

    names = [r["name"] for r in recs]
    metric_keys = list(agg["metrics"])
    if metric_keys:
        parts.append("<h2>Metrics per recording</h2><div class=\"plots\">")
        for k in metric_keys:
            cur = {}
            base = {}
            for r in recs:
                v = flat_metrics(r["summary"]).get(k) if r["status"] == "ok" else None
                if v is not None:
                    cur[r["name"]] = v
                b = base_by_name.get(r["name"])
                if b and b.get("status") == "ok":
                    bv = flat_metrics(b.get("summary")).get(k)
                    if bv is not None:
                        base[r["name"]] = bv
            parts.append(metric_strip(k, names, cur, base, f"metric-{k}"))
        parts.append("</div>")
        parts.append("<table id=\"metrics\"><thead><tr><th>metric</th><th>mean</th><th>std</th><th>min</th><th>max</th>"
                     "<th>recordings</th>" + ("<th>baseline mean, same recordings</th>" if baseline else "") + "</tr></thead><tbody>")
        for k, m in agg["metrics"].items():
            bm = (base_agg.get("metrics") or {}).get(k)
            parts.append(f"<tr><td>{escape(k)}</td><td class=num>{_f(m['mean'])}</td><td class=num>{_f(m['std'])}</td>"
                         f"<td class=num>{_f(m['min'])}</td><td class=num>{_f(m['max'])}</td><td class=num>{m['n']}</td>"
                         + (f"<td class=num>{_f(bm['mean']) if bm else '–'}</td>" if baseline else "") + "</tr>")
        parts.append("</tbody></table>")

    parts.append("<h2>Drops</h2>")
    if agg["dropped"] or base_agg.get("dropped"):
        parts.append('<div class="plots">' + drop_bars(agg["dropped"], base_agg.get("dropped"), "drops") + "</div>")
    else:
        parts.append('<p class="none">Nothing dropped.</p>')

    # every recording
    parts.append("<h2>Recordings</h2>")
    parts.append('<table id="recordings"><thead><tr><th>recording</th><th>status</th><th>attempts</th><th>wall s</th>'
                 '<th>frame sets</th><th>occupancy IoU</th><th>query top-1</th><th>e2e p99 ms</th><th>renderings / error</th>'
                 "</tr></thead><tbody>")
    for r in recs:
        s = r["summary"] or {}
        m = flat_metrics(s)
        ok = r["status"] == "ok"
        detail = _png_links(out, r["name"]) if ok else f'<div class="err">{escape(r.get("error") or "")}</div>'
        parts.append(
            f'<tr class="{"ok-row" if ok else "failed"}"><td title="{escape(r["path"], quote=True)}">'
            f'<a href="{_href(r["name"], "")}">{escape(r["name"])}</a></td>'
            f'<td class="{"ok" if ok else "bad"}">{r["status"]}</td><td class=num>{_f(r.get("attempts"))}</td>'
            f'<td class=num>{_f(r.get("wall_s"), 1)}</td><td class=num>{_f(s.get("framesets_fused"))}</td>'
            f'<td class=num>{_f(m.get("occupancy_iou"))}</td><td class=num>{_f(m.get("query_top1"))}</td>'
            f'<td class=num>{_f((s.get("end_to_end_ms") or {}).get("p99"), 1)}</td><td>{detail}</td></tr>')
    parts.append("</tbody></table>")
    parts.append(f'<p class="meta">Generated by <code>python -m sensorium_fleet</code> in <code>{escape(os.fspath(out))}</code>; '
                 "data: <a href=\"./report.json\">report.json</a>.</p>")
    parts.append("</body></html>\n")
    return "".join(parts)
