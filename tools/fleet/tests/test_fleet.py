"""The fleet runner end to end on local Ray (2 CPUs) with the real `sensorium` binary:

* an interrupted run resumes (what was done is not redone), a worker killed mid-replay is retried,
  a damaged recording is reported, not fatal, and the report is complete;
* every per-recording summary equals a serial `sensorium replay` of the same recording;
* a rerun with `--baseline` and deliberately worse models lists the regressions, and its HTML page,
  loaded in headless Chromium, renders its plots and lists them;
* `sensorium replay --shard` outputs make the same report (`python -m sensorium_fleet report`), and
  with `--recordings` the recordings of the indexes that did not run are reported failed;
* `--address auto` runs on a cluster started with `ray start --head`, and `--address local` starts its
  own Ray even with $RAY_ADDRESS pointing at that cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import FRAMES, REPO, SEEDS, damage, fleet_cmd, fleet_env, peers_required
from sensorium_fleet.report import NO_OUTPUT
from sensorium_fleet.stats import flat_metrics

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
    """(pid, parent pid, recording) of every running `sensorium replay REC.bag` (not the runner's
    `sensorium replay --recordings SPEC --dry-run` listing)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            argv = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        if len(argv) > 2 and argv[0].decode() == sensorium and argv[1] == b"replay" and argv[2].endswith(b".bag"):
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            found.append((int(d), ppid, argv[2].decode()))
    return found


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")  # a zombie has died; its new parent reaps it


class WorkerKiller(threading.Thread):
    """Kills (SIGKILL) the Ray worker of the first replay of a simulated recording found running: a
    worker lost mid-replay. It first checks that the replay's parent is a Ray worker (`ray::` in its
    command line), then stops the replay (SIGSTOP) so that, however fast the machine, it cannot
    finish on its own, then kills the worker and watches the replay for 2 s: gone by then, it died
    with its worker (PR_SET_PDEATHSIG)."""

    def __init__(self, sensorium: str, deadline: float):
        super().__init__(daemon=True)
        self.sensorium, self.deadline = sensorium, deadline
        self.victim: str | None = None
        self.replay_pid = self.worker_cmd = self.stages = None
        self.replay_gone_s: float | None = None
        self.stop = False

    def _stopped(self, pid: int, ppid: int) -> bool:
        """Stops the replay; True once it is stopped and still the worker's child."""
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            return False
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.0:
            st = proc_stat(pid)
            if st is None or st[1] != ppid or st[0] in ("Z", "X"):
                return False
            if st[0] == "T":
                return True
            time.sleep(0.01)
        os.kill(pid, signal.SIGCONT)
        return False

    def run(self) -> None:
        while not self.stop and time.monotonic() < self.deadline:
            for pid, ppid, rec in replays(self.sensorium):
                if "damaged" in rec:
                    continue
                try:
                    worker_cmd = Path(f"/proc/{ppid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                        errors="replace")
                except OSError:
                    continue
                if not worker_cmd.startswith("ray::") or not self._stopped(pid, ppid):
                    continue
                try:
                    env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                    self.stages = next((v.split(b"=", 1)[1].decode() for v in env
                                        if v.startswith(b"SENSORIUM__ENGINE__STAGES=")), None)
                except OSError:
                    pass
                self.victim, self.replay_pid, self.worker_cmd = Path(rec).stem, pid, worker_cmd
                os.kill(ppid, signal.SIGKILL)
                t_kill = time.monotonic()
                while time.monotonic() - t_kill < 2.0:
                    if not alive(pid):
                        self.replay_gone_s = time.monotonic() - t_kill
                        break
                    time.sleep(0.01)
                if self.replay_gone_s is None:  # the test fails; leave no stopped orphan behind
                    os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.02)


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
    # Ray's own clean-up of a dead worker's children (its process group, the raylet as subreaper)
    # off: what ends the replay must be the runner's parent-death signal
    env = dict(fleet_env(sensorium), RAY_process_group_cleanup_enabled="false",
               RAY_kill_child_processes_on_worker_exit_with_raylet_subreaper="false")
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
    assert k.worker_cmd.startswith("ray::"), f"killed {k.worker_cmd!r}, not a Ray worker"
    assert k.victim not in r["done_a"]
    v = by_name[k.victim]
    assert v["status"] == "ok" and v["attempts"] == 2, f"{v}\n{log}"
    # its replay (stopped, so it could not have finished) died with its worker, within 2 s
    assert k.replay_gone_s is not None, f"replay {k.replay_pid} still there 2 s after its worker was killed"
    # one thread per replay (--threads 1): the stages run inline, not on three threads
    assert k.stages == "inline", k.stages

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
    checked = 0
    for g in metric:
        if g["recording"]:
            assert g["baseline"] == flat_metrics(load(base / g["recording"] / "summary.json"))[g["what"]], g
            assert g["current"] == flat_metrics(load(out / g["recording"] / "summary.json"))[g["what"]], g
            checked += 1
    assert checked >= 1, metric
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
    linked = 0
    for g in regs:
        if g["recording"] and g["kind"] == "metric":
            assert f'href="./{g["recording"]}/scene_' in table, g  # links to its renderings
            linked += 1
    assert linked >= 1, regs
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

    # with the recordings list, those of the three indexes that never ran are failed, not left out
    p = subprocess.run(fleet_cmd("report", "--recordings", str(recordings), "--out", str(out)),
                       env=fleet_env(sensorium), capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    rep = load(out / "report.json")
    by = {e["name"]: e for e in rep["recordings"]}
    assert sorted(by) == sorted(NAMES + ["damaged"]), sorted(by)
    missing = sorted(n for n, e in by.items() if e["error"] == NO_OUTPUT)
    assert missing == sorted(set(NAMES) - set(names)), missing
    for n in missing:
        assert by[n]["status"] == "failed" and by[n]["path"] == str(recordings / f"{n}.bag"), by[n]
    assert rep["aggregate"]["ok"] == 4 and rep["aggregate"]["failed"] == 9, rep["aggregate"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_cluster(work):
    """A Ray cluster on this machine as `ray start --head` makes one (2 CPUs, its own ports and temp
    folder, token authentication off); yields its address. Stopped at the end by ending the
    `ray start --block` process (and its process group) this fixture started: Ray's processes share
    its fate."""
    ray_cli = Path(sys.executable).parent / "ray"
    if not ray_cli.is_file():
        pytest.skip(f"no {ray_cli}")
    # Ray's socket paths must stay within 107 characters: a short folder
    tmp = work / "ray"
    own = len(str(tmp)) > 40
    if own:
        tmp = Path(tempfile.mkdtemp(prefix="sfray"))
    tmp.mkdir(exist_ok=True)
    port = free_port()
    env = dict(os.environ, RAY_AUTH_MODE="disabled")
    env.pop("RAY_ADDRESS", None)
    log = (work / "ray-start.log").open("w")
    cmd = [str(ray_cli), "start", "--head", "--block", "--num-cpus", "2", "--disable-usage-stats",
           "--temp-dir", str(tmp), "--port", str(port), "--ray-client-server-port", str(free_port()),
           "--dashboard-agent-listen-port", str(free_port()), "--metrics-export-port", str(free_port()),
           "--include-dashboard", "false", "--object-store-memory", str(100 * 1024 * 1024)]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while "block forever" not in (work / "ray-start.log").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (work / "ray-start.log").read_text()
            time.sleep(0.2)
        yield {"address": f"127.0.0.1:{port}", "temp_dir": tmp}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        log.close()
        if own:
            shutil.rmtree(tmp, ignore_errors=True)


def test_address_auto_runs_on_a_started_cluster_and_local_ignores_it(sensorium, recordings, work, ray_cluster):
    t0 = time.monotonic()
    lst = work / "two.txt"
    lst.write_text("recs/sim-01.bag\nrecs/sim-02.bag\n")
    env = dict(fleet_env(sensorium), RAY_ADDRESS=ray_cluster["address"], RAY_AUTH_MODE="disabled")
    auto = subprocess.run(
        fleet_cmd("run", "--address", "auto", "--recordings", str(lst), "--out", str(work / "out-auto"),
                  "--threads", "1", "--progress-interval", "2"),
        env=env, capture_output=True, text=True, timeout=300, cwd=work)
    assert auto.returncode == 0, auto.stdout + auto.stderr
    rep = load(work / "out-auto" / "report.json")
    assert [(e["name"], e["status"]) for e in rep["recordings"]] == [("sim-01", "ok"), ("sim-02", "ok")], rep
    # the tasks ran on that cluster: its node unpacked the runner the driver shipped (runtime_env)
    shipped = list(Path(ray_cluster["temp_dir"]).glob("session_*/runtime_resources/py_modules_files/*"))
    assert shipped, sorted(str(p) for p in Path(ray_cluster["temp_dir"]).rglob("*"))[:50]

    # `local` starts its own Ray, with $RAY_ADDRESS set and a cluster running all the same
    lst.write_text("recs/sim-03.bag\n")
    local = subprocess.run(
        fleet_cmd("run", "--address", "local", "--num-cpus", "1", "--recordings", str(lst),
                  "--out", str(work / "out-local")),
        env=env, capture_output=True, text=True, timeout=300, cwd=work)
    assert local.returncode == 0, local.stdout + local.stderr
    assert load(work / "out-local" / "report.json")["recordings"][0]["status"] == "ok"
    print(f"cluster runs: {time.monotonic() - t0:.1f} s")
