"""The fleet runner end to end on local Ray (2 CPUs) with the real `sensorium` binary:

* an interrupted run resumes (what was done is not redone), a worker killed mid-replay is retried,
  a damaged recording is reported, not fatal, and the report is complete;
* every per-recording summary equals a serial `sensorium replay` of the same recording;
* a rerun with `--baseline` and deliberately worse models lists the regressions, and its HTML page,
  loaded in headless Chromium, renders its plots and lists them;
* `sensorium replay --shard` outputs make the same report (`python -m sensorium_fleet report`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import FRAMES, REPO, SEEDS, damage, fleet_cmd, fleet_env, peers_required

NAMES = [f"sim-{s:02d}" for s in SEEDS]
TIMING = ("wall_s", "latency_ms", "end_to_end_ms")
RUN_ARGS = ["--num-cpus", "2", "--threads", "1", "--retries", "2", "--progress-interval", "2"]


def strip(summary: dict) -> dict:
    """A summary without what depends on the machine's speed at the time."""
    return {k: v for k, v in summary.items() if k not in TIMING}


def load(p: Path) -> dict:
    return json.loads(p.read_text())


def wait(proc: subprocess.Popen, secs: float) -> int:
    try:
        return proc.wait(timeout=secs)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        pytest.fail(f"fleet run still going after {secs} s")


def replays(sensorium: str) -> list[tuple[int, int, str]]:
    """(pid, parent pid, recording) of every running `sensorium replay REC`."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            argv = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        if len(argv) > 2 and argv[0].decode() == sensorium and argv[1] == b"replay":
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            found.append((int(d), ppid, argv[2].decode()))
    return found


class WorkerKiller(threading.Thread):
    """Kills (SIGKILL) the Ray worker running the first replay of a simulated recording seen running
    for a moment: a worker lost mid-run."""

    def __init__(self, sensorium: str, deadline: float):
        super().__init__(daemon=True)
        self.sensorium, self.deadline = sensorium, deadline
        self.victim: str | None = None
        self.replay_pid = self.worker_cmd = None
        self.stop = False

    def run(self) -> None:
        seen: dict[int, tuple[float, int, str]] = {}
        while not self.stop and time.monotonic() < self.deadline:
            now = time.monotonic()
            for pid, ppid, rec in replays(self.sensorium):
                if "damaged" in rec:
                    continue
                t0 = seen.setdefault(pid, (now, ppid, rec))[0]
                if now - t0 >= 0.3:
                    self.worker_cmd = Path(f"/proc/{ppid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    os.kill(ppid, signal.SIGKILL)
                    self.victim, self.replay_pid = Path(rec).stem, pid
                    return
            time.sleep(0.1)


def done_ok(out: Path) -> dict[str, int]:
    """NAME → fleet.json's mtime of the recordings replayed into `out`."""
    done = {}
    for p in out.glob("*/fleet.json"):
        try:
            if load(p)["status"] == "ok":
                done[p.parent.name] = p.stat().st_mtime_ns
        except (OSError, ValueError):
            pass
    return done


@pytest.fixture(scope="module")
def first_run(sensorium, recordings, work):
    """Run 1 over the 13 recordings, interrupted after three are done, then resumed while a worker is
    killed mid-replay."""
    out = work / "out1"
    cmd = fleet_cmd("run", "--recordings", str(recordings), "--out", str(out), *RUN_ARGS)
    env = fleet_env(sensorium)
    log_a = (work / "run1a.log").open("w")
    a = subprocess.Popen(cmd, env=env, stdout=log_a, stderr=subprocess.STDOUT, cwd=work)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and a.poll() is None:
        if len(done_ok(out)) >= 3:
            break
        time.sleep(0.2)
    assert a.poll() is None, f"run 1 ended before it could be interrupted:\n{(work / 'run1a.log').read_text()}"
    a.send_signal(signal.SIGINT)
    code_a = wait(a, 90)
    log_a.close()
    done_a = done_ok(out)

    killer = WorkerKiller(sensorium, time.monotonic() + 300)
    killer.start()
    t0 = time.monotonic()
    b = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=work)
    wall_b = time.monotonic() - t0
    killer.stop = True
    killer.join(5)
    return {
        "out": out, "code_a": code_a, "log_a": (work / "run1a.log").read_text(), "done_a": done_a,
        "b": b, "wall_b": wall_b, "killer": killer,
    }


def test_interrupted_run_resumes_survives_a_killed_worker_and_reports_the_damaged_recording(first_run, sensorium):
    r = first_run
    b = r["b"]
    log = f"--- run 1a ---\n{r['log_a']}\n--- run 1b ---\n{b.stdout}\n{b.stderr}"
    assert r["code_a"] == 130, log
    assert "the same command resumes" in r["log_a"], log
    assert len(r["done_a"]) >= 3, log
    # the damaged recording failed: exit 1, the report is there all the same
    assert b.returncode == 1, log
    out = r["out"]
    rep = load(out / "report.json")
    assert {"recordings", "aggregate", "regressions"} <= set(rep), rep.keys()
    by_name = {Path(e["path"]).stem: e for e in rep["recordings"]}
    assert sorted(by_name) == sorted(NAMES + ["damaged"]), log
    for e in rep["recordings"]:
        assert {"path", "status", "attempts", "wall_s", "error", "summary"} <= set(e), e

    dmg = by_name["damaged"]
    assert dmg["status"] == "failed" and dmg["summary"] is None, dmg
    assert dmg["error"].startswith("exit 3 (recording)"), dmg
    assert dmg["attempts"] == 1, f"a damaged recording is not retried: {dmg}"

    # what run 1a finished was not redone
    assert "already done" in b.stderr, log
    for name, mtime in r["done_a"].items():
        assert (out / name / "fleet.json").stat().st_mtime_ns == mtime, f"{name} was replayed again\n{log}"

    # the killed worker's recording was retried and replayed
    k = r["killer"]
    assert k.victim in NAMES, f"no replay was caught running to kill its worker\n{log}"
    assert "ray::" in (k.worker_cmd or ""), f"killed {k.worker_cmd!r}, not a Ray worker"
    assert k.victim not in r["done_a"]
    v = by_name[k.victim]
    assert v["status"] == "ok" and v["attempts"] == 2, f"{v}\n{log}"
    # and its replay died with its worker (nothing left running that nobody waits for)
    assert not Path(f"/proc/{k.replay_pid}").exists() or "zombie" in Path(f"/proc/{k.replay_pid}/status").read_text()

    for name in NAMES:
        e = by_name[name]
        assert e["status"] == "ok" and e["error"] is None, e
        if name != k.victim:
            assert e["attempts"] == 1, e
        d = out / name
        assert e["summary"] == load(d / "summary.json")
        assert e["summary"]["framesets_fused"] >= FRAMES - 2, e["summary"]
        assert (d / "scenes.jsonl").is_file() and (d / "latency.json").is_file()
        assert len(list(d.glob("*.png"))) >= 2, sorted(os.listdir(d))

    agg = rep["aggregate"]
    assert agg["ok"] == 12 and agg["failed"] == 1
    assert agg["framesets_fused"] == sum(by_name[n]["summary"]["framesets_fused"] for n in NAMES)
    e2e = agg["latency_ms"]["end_to_end"]
    assert e2e["count"] == agg["framesets_fused"] and 0 < e2e["p50"] <= e2e["p99"], e2e
    m = agg["metrics"]["occupancy_iou"]
    assert m["n"] == 12 and m["min"] <= m["mean"] <= m["max"] and m["std"] > 0, m
    assert any(k_.startswith("recall.") for k_ in agg["metrics"]), agg["metrics"]
    assert isinstance(agg["dropped"], dict)
    assert rep["regressions"] == []
    # progress went to stderr
    assert "[fleet]" in b.stderr and "running" in b.stderr and "ETA" in b.stderr, log
    assert (out / "report.html").is_file()


def test_summaries_equal_serial_replays(first_run, sensorium, recordings, work):
    out = first_run["out"]
    for name in NAMES:
        serial = work / "serial" / name
        p = subprocess.run(
            [sensorium, "replay", str(recordings / f"{name}.bag"), "--fast", "--quiet", "--threads", "1",
             "--render", "4", "--out", str(serial), "--summary-json", str(serial / "summary.json")],
            capture_output=True, text=True, timeout=300, env=dict(os.environ, SENSORIUM_CACHE_DIR=str(work / "cache")),
        )
        assert p.returncode == 0, p.stderr
        assert strip(load(serial / "summary.json")) == strip(load(out / name / "summary.json")), name
        assert (serial / "scenes.jsonl").read_text().count("\n") == (out / name / "scenes.jsonl").read_text().count("\n")


def worse_models(dst: Path) -> Path:
    """The bundled models with the point encoder's weights (fp32 and int8 files) perturbed: valid ONNX,
    worse scenes."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    for d in ("fusion", "image_encoder", "point_encoder", "text_encoder"):
        shutil.copytree(REPO / "models" / d, dst / d)
    rng = np.random.default_rng(7)
    for f in ("model.onnx", "model.int8.onnx"):
        path = dst / "point_encoder" / f
        m = onnx.load(str(path))
        for init in m.graph.initializer:
            w = numpy_helper.to_array(init)
            if w.ndim < 2 or w.size < 16:
                continue
            if w.dtype == np.float32:
                noisy = w + rng.normal(0.0, 0.8 * float(w.std()) + 1e-6, w.shape).astype(np.float32)
            elif w.dtype in (np.int8, np.uint8):
                info = np.iinfo(w.dtype)
                noisy = np.clip(w.astype(np.int32) + rng.integers(-40, 41, w.shape), info.min, info.max).astype(w.dtype)
            else:
                continue
            init.CopyFrom(numpy_helper.from_array(noisy, init.name))
        onnx.save(m, str(path))
    return dst


def test_baseline_and_worse_models_list_the_regressions_in_report_and_browser(first_run, sensorium, recordings, work):
    base = first_run["out"]
    models = worse_models(work / "worse-models")
    recs2 = work / "recs2"
    recs2.mkdir()
    damage(recs2 / "sim-09.bag", 9000)  # replayed in the baseline, damaged now: a new failure
    lst = work / "candidate.txt"
    lst.write_text("# the candidate's set\nrecs/sim-02.bag\nrecs/sim-07.bag\nrecs/sim-11.bag\nrecs2/sim-09.bag  # re-copied\n")
    out = work / "out2"
    p = subprocess.run(
        fleet_cmd("run", "--recordings", str(lst), "--out", str(out), "--baseline", str(base),
                  "--models", str(models), *RUN_ARGS),
        env=fleet_env(sensorium), capture_output=True, text=True, timeout=600, cwd=work,
    )
    log = p.stdout + p.stderr
    assert p.returncode == 1, log
    rep = load(out / "report.json")
    assert [Path(e["path"]).stem for e in rep["recordings"]] == ["sim-02", "sim-07", "sim-11", "sim-09"], log
    regs = rep["regressions"]
    assert regs, log
    assert regs[0]["kind"] == "failure" and regs[0]["recording"] == "sim-09", regs[0]
    metric = [g for g in regs if g["kind"] == "metric"]
    per_rec = {g["recording"] for g in metric if g["recording"]}
    assert per_rec and per_rec <= {"sim-02", "sim-07", "sim-11"}, metric
    for g in metric:
        assert g["current"] < g["baseline"] - 0.02, g
    assert any(g["recording"] is None and g["what"].endswith("(mean)") for g in metric), metric
    # the numbers are the baseline's and this run's
    b_sum = load(base / "sim-02" / "summary.json")["metrics"]
    for g in metric:
        if g["recording"] == "sim-02" and g["what"] == "occupancy_iou":
            assert g["baseline"] == b_sum["occupancy_iou"]
    assert "regression(s) against the baseline" in p.stdout, log

    html = (out / "report.html").read_text()
    assert "<script src" not in html and "<link" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    browser_check(out / "report.html", work, regs)


def browser_check(page: Path, work: Path, regs: list[dict]) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        if peers_required():
            pytest.fail("Debian chromium missing (scripts/setup-deps.sh installs it)")
        pytest.skip("chromium missing: the report page is not checked in a browser")
    profile = work / "chromium-profile"
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=5000"]
    dom = subprocess.run(base + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    import re

    plots = re.search(r'data-plots="(\d+)"', html)
    rendered = re.search(r'data-plots-rendered="(\d+)"', html)
    assert plots and rendered, f"the page's load handler did not run:\n{html[:1500]}"
    assert int(plots.group(1)) >= 4 and rendered.group(1) == plots.group(1), (plots.group(1), rendered.group(1))
    for name in ("latency-e2e", "latency-stages", "metric-occupancy_iou"):
        assert re.search(rf'data-plot="{name}"[^>]*data-rendered="yes"|data-rendered="yes"[^>]*data-plot="{name}"', html), name
    table = html[html.index('id="regressions"'):]
    table = table[: table.index("</table>")]
    assert table.count('class="regression"') == len(regs), table[:3000]
    assert "sim-09" in table and "failure" in table
    first_metric = next(g for g in regs if g["kind"] == "metric")
    assert first_metric["what"] in table
    for g in regs:
        if g["recording"] and g["kind"] == "metric":
            assert f'href="{g["recording"]}/scene_' in table, g  # links to its renderings
    shot = work / "report.png"
    s = subprocess.run(base + ["--window-size=1280,2400", f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert s.returncode == 0 and shot.stat().st_size > 20_000, s.stderr[-2000:]


def test_shard_outputs_make_the_same_report(first_run, sensorium, recordings, work):
    base = first_run["out"]
    out = work / "out3"
    names = []
    codes = []
    for i in range(5):
        if i not in (0, 3):  # two of the five indexes, as two pods would
            continue
        dry = subprocess.run([sensorium, "replay", "--recordings", str(recordings), "--shard", f"{i}/5", "--dry-run"],
                             capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0, dry.stderr
        names += [line.split("\t")[0] for line in dry.stdout.splitlines()]
        p = subprocess.run([sensorium, "replay", "--recordings", str(recordings), "--shard", f"{i}/5", "--fast", "--quiet",
                            "--threads", "1", "--render", "4", "--out", str(out)],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, SENSORIUM_CACHE_DIR=str(work / "cache")))
        codes.append(p.returncode)
    # sorted: damaged, sim-01 … sim-12; index 0 of 5 takes 0, 5, 10; index 3 takes 3, 8
    assert sorted(names) == ["damaged", "sim-03", "sim-05", "sim-08", "sim-10"], names
    assert codes == [3, 0], codes  # the damaged recording decides index 0's exit code
    p = subprocess.run(fleet_cmd("report", "--out", str(out), "--baseline", str(base)), env=fleet_env(sensorium),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr  # the damaged recording
    rep = load(out / "report.json")
    by = {e["path"] and Path(e["path"]).stem: e for e in rep["recordings"]}
    assert sorted(by) == sorted(names)
    assert by["damaged"]["status"] == "failed" and "exit 3 (recording)" in by["damaged"]["error"]
    for n in ("sim-03", "sim-05", "sim-08", "sim-10"):
        assert strip(by[n]["summary"]) == strip(load(base / n / "summary.json")), n
    assert [g for g in rep["regressions"] if g["kind"] != "latency"] == [], rep["regressions"]
