"""The runner's guards, without Ray or the real binary: names that must not leave OUT, the links of
the page for names with URL syntax in them, Ray's start-up arguments per `--address`, the stages a
replay runs so that it keeps to `--threads` cores, the parent check of a replay's process, and the
report of a sharded run that lists recordings with no output."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from sensorium_fleet import cli
from sensorium_fleet import replay as rp
from sensorium_fleet import report as rep
from sensorium_fleet import runner

OK = {"status": "ok", "wall_s": 1.0, "error": None, "exit_code": 0, "files": {"summary.json": b"{}"}}


@pytest.mark.parametrize("name", [".", "..", ".hidden", "a/b", "../x", "", "report.html", "REPORT.JSON",
                                  "report.json.tmp"])
def test_write_result_refuses_names_outside_out_or_on_the_report(tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("the report")
    (tmp_path / "keep").write_text("beside OUT")
    with pytest.raises(rp.UnsafeName):
        runner._write_result(out, name, "/r/x.bag", OK, 1)
    assert (out / "report.html").read_text() == "the report"
    assert (tmp_path / "keep").read_text() == "beside OUT"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep", "out"]


def test_write_result_replaces_a_plain_folder_and_refuses_a_link_out_of_out(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a").mkdir()
    (out / "a" / "stale.png").write_bytes(b"old")
    e = runner._write_result(out, "a", "/r/a.bag", OK, 2)
    assert e["attempts"] == 2 and sorted(p.name for p in (out / "a").iterdir()) == ["fleet.json", "summary.json"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious").write_text("x")
    (out / "b").symlink_to(elsewhere)
    with pytest.raises(rp.UnsafeName):
        runner._write_result(out, "b", "/r/b.bag", OK, 1)
    assert (elsewhere / "precious").read_text() == "x"
    bad = dict(OK, files={"../escape.txt": b"x"})
    with pytest.raises(rp.UnsafeName):
        runner._write_result(out, "c", "/r/c.bag", bad, 1)
    assert not (out / "escape.txt").exists()
    assert runner._resumable(out, "..", "/r/x.bag") is None


def test_a_listing_with_an_unsafe_name_is_refused(tmp_path):
    fake = tmp_path / "sensorium"
    fake.write_text("#!/bin/sh\nprintf 'ok\\t/r/ok.bag\\n..\\t/r/..bag\\n'\n")
    fake.chmod(0o755)
    with pytest.raises(rp.UnsafeName):
        rp.list_recordings(str(fake), str(tmp_path))
    fake.write_text("#!/bin/sh\nprintf 'ok\\t/r/ok.bag\\n_..\\t/r/...bag\\n'\n")
    assert rp.list_recordings(str(fake), str(tmp_path)) == [("ok", "/r/ok.bag"), ("_..", "/r/...bag")]


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])


def test_page_links_of_names_with_url_syntax_are_relative_paths(tmp_path):
    weird = ['javascript:alert("x")', "a#b?c=d&e%20f", "<img src=x>'"]
    base_out, out = tmp_path / "base run", tmp_path / "cur"
    entries = {}
    for root in (base_out, out):
        entries[root] = []
        for name in weird:
            d = root / name
            d.mkdir(parents=True)
            (d / "summary.json").write_text(json.dumps({"framesets_fused": 3, "metrics": {"occupancy_iou": 0.9}}))
            (d / "scene_000001.png").write_bytes(b"png")
            entries[root].append({"name": name, "path": f"/r/{name}.bag", "status": "ok", "attempts": 1,
                                  "wall_s": 1.0, "error": None})
    rep.write_and_summarise(base_out, rep.build(base_out, entries[base_out], None, 0.02, 1.5, {}))
    worse = json.dumps({"framesets_fused": 3, "metrics": {"occupancy_iou": 0.5}})
    for name in weird:
        (out / name / "summary.json").write_text(worse)
    report = rep.build(out, entries[out], rep.load_baseline(base_out), 0.02, 1.5, {})
    assert len([g for g in report["regressions"] if g["recording"]]) == len(weird)
    rep.write_and_summarise(out, report)
    parser = Links()
    parser.feed((out / "report.html").read_text())
    assert parser.hrefs
    targets = set()
    for href in parser.hrefs:
        assert href.startswith("./"), href
        assert "#" not in href and "?" not in href and ":" not in href, href
        target = (out / unquote(href)).resolve()
        assert target.exists(), href
        targets.add(target)
    for name in weird:
        assert (out / name).resolve() in targets, name  # the recordings table
        assert (out / name / "scene_000001.png").resolve() in targets, name  # its renderings
        assert (base_out / name / "scene_000001.png").resolve() in targets, name  # the baseline's


def test_ray_init_arguments_per_address():
    local = runner.ray_init_args("local", 2)
    assert local["address"] == "local" and local["num_cpus"] == 2
    assert runner.ray_init_args("local", None)["num_cpus"] == os.cpu_count()
    for address in ("auto", "ray://head:10001", "10.0.0.1:6379"):
        a = runner.ray_init_args(address, 2)
        assert a["address"] == address and "num_cpus" not in a, a
        assert a["runtime_env"]["py_modules"] == [str(Path(rp.__file__).parent)]

    class FakeRay:
        def init(self, **kw):
            self.kw = kw

    ray = FakeRay()
    runner._ray_init(ray, cli._parser().parse_args(["run", "--recordings", "r", "--out", "o", "--num-cpus", "3"]))
    assert ray.kw["address"] == "local" and ray.kw["num_cpus"] == 3


def test_replays_below_three_threads_run_their_stages_inline():
    assert rp.stages_env(1, {}) == {rp.STAGES_VAR: "inline"}
    assert rp.stages_env(2, {}) == {rp.STAGES_VAR: "inline"}
    assert rp.stages_env(3, {}) == {}
    assert rp.stages_env(1, {rp.STAGES_VAR: "pipelined"}) == {}


def test_a_replay_whose_worker_is_already_gone_ends_itself():
    ok = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=functools.partial(rp._die_with_parent, os.getpid()))
    assert ok.returncode == 0
    orphan = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=functools.partial(rp._die_with_parent, 1))
    assert orphan.returncode == -signal.SIGKILL


def test_report_with_recordings_lists_those_without_output_as_failed(tmp_path):
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    (out / "a" / "summary.json").write_text(json.dumps({"bag": "/r/a.bag", "framesets_fused": 2}))
    (out / "b").mkdir()
    (out / "b" / "error.json").write_text(json.dumps({"exit_code": 3, "class": "recording", "error": "bad"}))
    (out / "c").mkdir()  # its shard died mid-replay
    (out / "stray").mkdir()
    (out / "stray" / "summary.json").write_text("{}")
    listing = [("a", "/r/a.bag"), ("b", "/r/b.bag"), ("c", "/r/c.bag"), ("d", "/r/d.bag")]
    got = {e["name"]: e for e in rep.entries_from_out(out, listing)}
    assert list(got) == ["a", "b", "c", "d"]
    assert got["a"]["status"] == "ok"
    assert got["b"]["status"] == "failed" and got["b"]["error"].startswith("exit 3 (recording)")
    for n in ("c", "d"):
        assert got[n] == {"name": n, "path": f"/r/{n}.bag", "status": "failed", "attempts": None,
                          "wall_s": None, "error": rep.NO_OUTPUT}
    # without the listing, only the folders that hold a record
    assert [e["name"] for e in rep.entries_from_out(out)] == ["a", "b", "stray"]
