"""What runs on a Ray worker: `sensorium replay` of one recording, its outputs brought back as bytes.

Nothing here imports Ray: the functions are wrapped into Ray tasks by `runner`, and stay callable
(and testable) on their own.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

# `sensorium replay`'s exit codes (`sensorium replay --help`, docs/fleet.md).
EXIT_CLASSES = {
    1: "other",
    2: "config",
    3: "recording",
    4: "models",
    5: "calibration",
    6: "output",
    130: "interrupted",
}
# Failures a retry cannot change: the same inputs give the same answer.
PERMANENT = {2, 3, 4, 5}

REPO = Path(__file__).resolve().parents[3]

# What a run writes at the top of OUT beside the recordings' folders (`sensorium replay --recordings`
# names no recording so: it puts a `_` in front).
RESERVED = {"report.html", "report.json", "report.html.tmp", "report.json.tmp"}


class ReplayFailed(Exception):
    """A replay that may succeed when retried (exit 1 or 6, killed by a signal, timed out)."""


class SensoriumNotFound(Exception):
    pass


class UnsafeName(ValueError):
    """A recording's NAME that is not a plain folder name inside OUT."""


def is_safe_name(name: str, reserved: bool = True) -> bool:
    """Is `name` a plain name that stays inside its parent (and, with `reserved`, clashes with no
    report file)?"""
    return (
        bool(name)
        and not name.startswith(".")  # also `.` and `..`
        and "/" not in name
        and os.sep not in name
        and "\0" not in name
        and not (reserved and name.lower() in RESERVED)
    )


def child(parent: Path, name: str, reserved: bool = True) -> Path:
    """`parent / name`, after checking that it lies directly inside `parent` (resolved, so neither
    `..` nor a symbolic link leads elsewhere): what is removed or written there stays in `parent`."""
    p = parent / name
    if not is_safe_name(name, reserved) or p.resolve().parent != parent.resolve():
        raise UnsafeName(f"{name!r}: not a name inside {parent}")
    return p


def find_sensorium(explicit: str | None = None) -> str:
    """The `sensorium` binary: `explicit`, else $SENSORIUM_BIN, else on PATH, else the repository's
    target/release or target/debug build."""
    candidates = [explicit, os.environ.get("SENSORIUM_BIN"), shutil.which("sensorium")]
    candidates += [str(REPO / "target" / kind / "sensorium") for kind in ("release", "debug")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    raise SensoriumNotFound(
        "the sensorium binary was not found (tried --sensorium-bin, $SENSORIUM_BIN, PATH, "
        f"{REPO}/target/release and target/debug); build it with `cargo build --release -p sensorium`"
    )


def list_recordings(binary: str | None, spec: str) -> list[tuple[str, str]]:
    """(NAME, PATH) of every recording `spec` names, in `--shard` order: the binary's own listing
    (`sensorium replay --recordings SPEC --dry-run`), so the runner and `--shard` agree."""
    binary = find_sensorium(binary)
    p = subprocess.run(
        [binary, "replay", "--recordings", spec, "--dry-run"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if p.returncode != 0:
        raise ValueError(f"listing {spec}: {_error_text(p.stderr) or f'exit {p.returncode}'}")
    out = []
    for line in p.stdout.split("\n"):  # the binary refuses paths with line breaks or tabs
        if "\t" in line:
            name, path = line.split("\t", 1)
            if not is_safe_name(name):
                raise UnsafeName(f"listing {spec}: {name!r} is not a folder name inside OUT "
                                 "(a sensorium older than this runner?)")
            out.append((name, path))
    return out


_LIBC = None
try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # not Linux/glibc: no parent-death signal
    pass


def _die_with_parent(parent: int) -> None:
    """In the replay's process, between fork and exec: be killed when the worker that started it
    (pid `parent`) dies, so that a killed worker leaves no replay running that nobody waits for.
    The signal only covers a death after the prctl call; a worker that died before it has already
    handed its child to another parent, so the child checks and ends itself."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def _error_text(stderr: str, limit: int = 2000) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    text = "\n".join(errors or lines[-5:])
    return text[-limit:]


def _latencies(scenes_jsonl: Path) -> dict[str, list[float]]:
    """Per-frame latencies (ms) by stage, plus `end_to_end`, from replay's scenes.jsonl."""
    out: dict[str, list[float]] = {"end_to_end": []}
    with open(scenes_jsonl, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            scene = json.loads(line)
            out["end_to_end"].append(float(scene.get("end_to_end_ms", 0.0)))
            for t in scene.get("timing", []):
                out.setdefault(t["stage"], []).append(float(t["ms"]))
    return out


STAGES_VAR = "SENSORIUM__ENGINE__STAGES"


def stages_env(threads: int, env: dict) -> dict:
    """The environment that keeps a replay on `threads` cores. `--fast` runs replay's stages
    pipelined (camera, LiDAR and fusion each on its own thread, `threads / 3` inference threads
    each, at least 1): below 3 threads that is 3 busy threads, so there the stages run inline, one
    after another with `threads` inference threads. A `SENSORIUM__ENGINE__STAGES` already set is
    kept."""
    if threads < 3 and STAGES_VAR not in env:
        return {STAGES_VAR: "inline"}
    return {}


def replay_one(name: str, path: str, opts: dict, attempt: int | None = None) -> dict:
    """Replays one recording into a private folder and returns the result with its files.

    Returns {"status": "ok"|"failed", "attempt", "wall_s", "error", "exit_code", "files": {name: bytes}};
    a failure a retry could fix raises `ReplayFailed` instead (Ray then retries the task).
    """
    binary = find_sensorium(opts.get("binary"))
    root = Path(opts.get("scratch") or tempfile.gettempdir()) / "sensorium-fleet" / opts.get("run_id", "run")
    root.mkdir(parents=True, exist_ok=True)
    work = child(root, name)
    shutil.rmtree(work, ignore_errors=True)  # what an attempt on a killed worker left
    work.mkdir(parents=True)
    try:
        out = work / "out"
        cmd = [binary, "replay", path, "--fast", "--quiet", "--out", str(out)]
        cmd += ["--summary-json", str(out / "summary.json")]
        threads = int(opts.get("threads", 1))
        cmd += ["--threads", str(threads), "--render", str(opts.get("render", 4))]
        if opts.get("config"):
            cmd += ["--config", opts["config"]]
        if opts.get("models"):
            cmd += ["--models", opts["models"]]
        cmd += list(opts.get("replay_args", []))
        env = dict(os.environ)
        env.setdefault("SENSORIUM_CACHE_DIR", str(work / "cache"))
        env.update(stages_env(threads, env))
        t0 = time.monotonic()
        try:
            p = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                timeout=opts.get("timeout") or None,
                preexec_fn=functools.partial(_die_with_parent, os.getpid()),
            )
        except subprocess.TimeoutExpired:
            raise ReplayFailed(f"timed out after {opts.get('timeout')} s") from None
        wall = round(time.monotonic() - t0, 3)
        code = p.returncode
        if code == 0:
            files: dict[str, bytes] = {}
            scenes = out / "scenes.jsonl"
            if scenes.is_file():
                files["latency.json"] = json.dumps(_latencies(scenes)).encode()
            for f in sorted(out.iterdir()):
                if f.is_file() and not (f.name == "scenes.jsonl" and not opts.get("keep_scenes", True)):
                    files[f.name] = f.read_bytes()
            return {"status": "ok", "attempt": attempt, "wall_s": wall, "error": None,
                    "exit_code": 0, "files": files}
        err = _error_text(p.stderr)
        if code < 0:
            raise ReplayFailed(f"killed by signal {-code}: {err}")
        what = f"exit {code} ({EXIT_CLASSES.get(code, 'unknown')})"
        if code in PERMANENT:
            return {"status": "failed", "attempt": attempt, "wall_s": wall,
                    "error": f"{what}: {err}", "exit_code": code, "files": {}}
        raise ReplayFailed(f"{what}: {err}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
