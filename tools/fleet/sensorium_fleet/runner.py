"""The fleet run: one Ray task per recording, results written under OUT as they arrive.

Ray does the scheduling, the packing of tasks on nodes (each declares `num_cpus = --threads`, and
its replay keeps to that many cores: `replay.stages_env`), the retries (`max_retries` for a killed
worker, `retry_exceptions` for a replay that failed in a way a retry can fix) and the transport of
each replay's outputs back to the driver, which alone writes OUT.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
import uuid
from pathlib import Path

from . import replay as rp
from . import report as rep

FLEET_RECORD = "fleet.json"  # per recording: its report entry; written last, it marks the recording done


def _eprint(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


def _fmt_s(s: float) -> str:
    s = int(round(s))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


class Progress:
    """Progress on stderr: recordings done / failed / running / queued, and an ETA from this run's
    throughput. A line on every finished recording, and every `interval` seconds otherwise."""

    def __init__(self, total: int, resumed: int, interval: float):
        self.total, self.resumed, self.interval = total, resumed, interval
        self.ok = self.failed = 0
        self.t0 = time.monotonic()
        self.last = 0.0

    def done(self) -> int:
        return self.resumed + self.ok + self.failed

    def line(self, running: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        elapsed = now - self.t0
        finished = self.ok + self.failed
        left = self.total - self.done()
        eta = "ETA --"
        if finished and left:
            eta = f"ETA {_fmt_s(left * elapsed / finished)}"
        elif not left:
            eta = "finished"
        _eprint(
            f"[fleet] {self.done()}/{self.total} done ({self.failed} failed"
            + (f", {self.resumed} from an earlier run" if self.resumed else "")
            + f"), {running} running, {max(left - running, 0)} queued, "
            f"{_fmt_s(elapsed)} elapsed, {eta}"
        )


def _resumable(out: Path, name: str, path: str) -> dict | None:
    """The recording's entry when an earlier run already replayed it (its fleet.json says ok, for the
    same recording, and its summary.json is there)."""
    try:
        dirpath = rp.child(out, name)
        rec = json.loads((dirpath / FLEET_RECORD).read_text())
    except (OSError, ValueError):  # rp.UnsafeName is a ValueError
        return None
    if rec.get("status") == "ok" and rec.get("path") == path and (dirpath / "summary.json").is_file():
        return rec
    return None


def _write_result(out: Path, name: str, path: str, res: dict, attempts: int | None) -> dict:
    """Writes the recording's outputs and its fleet.json into OUT/NAME/, replacing what was there;
    NAME must be a folder directly inside OUT (`replay.child`), or nothing is removed or written."""
    dirpath = rp.child(out, name)
    if dirpath.is_symlink() or dirpath.is_file():
        dirpath.unlink()
    elif dirpath.exists():
        shutil.rmtree(dirpath)  # what an earlier, unfinished or failed, run left
    dirpath.mkdir()
    for fname, data in res.get("files", {}).items():
        rp.child(dirpath, fname, reserved=False).write_bytes(data)
    entry = {
        "name": name,
        "path": path,
        "status": res["status"],
        "attempts": attempts,
        "wall_s": res.get("wall_s"),
        "error": res.get("error"),
        "exit_code": res.get("exit_code"),
    }
    tmp = dirpath / (FLEET_RECORD + ".tmp")
    tmp.write_text(json.dumps(entry, indent=1))
    tmp.rename(dirpath / FLEET_RECORD)
    return entry


def _abs_if_local(p: str | None) -> str | None:
    """Absolute when it exists here (workers do not share the driver's working directory); as given
    otherwise (a path on the cluster)."""
    if p and os.path.exists(p):
        return os.path.abspath(p)
    return p


def ray_init_args(address: str, num_cpus: int | None) -> dict:
    """`ray.init`'s arguments for `--address`. `local` starts a private Ray with `num_cpus` CPUs
    (`address="local"`: neither $RAY_ADDRESS nor a cluster `ray start` runs on this machine is
    joined); `auto` (the cluster on this node, or $RAY_ADDRESS) and `ray://HOST:PORT` connect to a
    running cluster, whose CPUs are its own (no `num_cpus`: Ray refuses it when connecting)."""
    import logging

    common = dict(logging_level=logging.WARNING, log_to_driver=False)
    if address == "local":
        return dict(address="local", num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, **common)
    # the cluster's workers get this package from the driver
    pkg = os.path.dirname(os.path.abspath(__file__))
    return dict(address=address, runtime_env={"py_modules": [pkg]}, **common)


def _ray_init(ray, args) -> None:
    ray.init(**ray_init_args(args.address, args.num_cpus))


def _task_error(e: BaseException) -> str:
    cause = getattr(e, "cause", None)
    if isinstance(cause, rp.ReplayFailed):
        return str(cause)
    first = str(e).strip().splitlines()
    return f"{type(e).__name__}: {first[0] if first else ''}".strip()


def run(args) -> int:
    """`python -m sensorium_fleet run`; returns the exit code."""
    import ray

    out = Path(args.out).resolve()
    baseline = None
    if args.baseline:
        baseline = rep.load_baseline(Path(args.baseline))
    # A Ray client (ray://) drives the run from elsewhere: the paths given are the cluster's, as is
    # the binary. Otherwise this machine is one of the cluster's nodes and its paths are made absolute.
    client = args.address.startswith("ray://")
    here = (lambda p: p) if client else _abs_if_local
    spec = here(args.recordings)
    binary = args.sensorium_bin if client else rp.find_sensorium(args.sensorium_bin)
    opts = {
        "binary": binary,
        "threads": args.threads,
        "render": args.render,
        "config": here(args.config),
        "models": here(args.models),
        "replay_args": args.replay_arg or [],
        "timeout": args.timeout,
        "keep_scenes": not args.no_scenes,
        "run_id": uuid.uuid4().hex[:12],
    }
    out.mkdir(parents=True, exist_ok=True)

    t_start = time.monotonic()
    entries: dict[str, dict] = {}
    listing: list[tuple[str, str]] = []
    try:
        _ray_init(ray, args)
    except Exception as e:  # no cluster at that address, a Ray version mismatch, ...
        _eprint(f"error: starting Ray (--address {args.address}): {type(e).__name__}: {e}")
        return 3

    # SIGTERM (a batch system stopping the run) ends it like Ctrl-C: Ray shut down, OUT resumable
    def _term(*_):
        raise KeyboardInterrupt

    old_term = signal.signal(signal.SIGTERM, _term)
    try:
        remote_list = ray.remote(num_cpus=0, max_retries=2)(rp.list_recordings)
        try:
            listing = ray.get(remote_list.remote(binary, spec))
        except ray.exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None) or e
            _eprint(f"error: {cause}")
            return 2
        if not listing:
            _eprint(f"error: {args.recordings}: no recordings")
            return 2

        @ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
        class Ledger:
            """Attempts per recording, as the tasks start them (a retried task starts again)."""

            def __init__(self):
                self.attempts: dict[str, int] = {}
                self.running: set[str] = set()

            def start(self, name: str) -> int:
                self.attempts[name] = self.attempts.get(name, 0) + 1
                self.running.add(name)
                return self.attempts[name]

            def finish(self, name: str) -> None:
                self.running.discard(name)

            def snapshot(self) -> tuple[dict[str, int], int]:
                return dict(self.attempts), len(self.running)

        def task(name: str, path: str, opts: dict, ledger) -> dict:
            try:
                attempt = ray.get(ledger.start.remote(name), timeout=60)
            except Exception:  # the count is for the report; the replay goes on without it
                attempt = None
            try:
                return rp.replay_one(name, path, opts, attempt)
            finally:
                ledger.finish.remote(name)

        ledger = Ledger.remote()
        remote_task = ray.remote(task).options(
            num_cpus=args.threads,
            max_retries=args.retries,
            retry_exceptions=[rp.ReplayFailed],
        )
        pending = {}
        resumed = 0
        for name, path in listing:
            prev = None if args.no_resume else _resumable(out, name, path)
            if prev is not None:
                entries[name] = prev
                resumed += 1
                continue
            pending[remote_task.remote(name, path, opts, ledger)] = (name, path)
        _eprint(
            f"[fleet] {len(listing)} recordings: {len(pending)} to replay"
            + (f", {resumed} already done in {out}" if resumed else "")
            + f" ({args.threads} thread(s) each, up to {args.retries} retries)"
        )
        prog = Progress(len(listing), resumed, args.progress_interval)
        prog.line(0, force=True)
        attempts: dict[str, int] = {}
        running = 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=1.0, fetch_local=False)
            try:
                attempts, running = ray.get(ledger.snapshot.remote(), timeout=30)
            except Exception:
                pass
            for ref in ready:
                name, path = pending.pop(ref)
                try:
                    res = ray.get(ref)
                except (ray.exceptions.RayError, rp.ReplayFailed) as e:
                    res = {"status": "failed", "error": _task_error(e), "wall_s": None, "exit_code": None}
                n = attempts.get(name) or res.get("attempt")
                ledger.finish.remote(name)  # a last attempt lost with its worker never said so
                entries[name] = _write_result(out, name, path, res, n)
                if res["status"] == "ok":
                    prog.ok += 1
                else:
                    prog.failed += 1
                    _eprint(f"[fleet] {name}: failed after {n} attempt(s): {res['error']}")
                prog.line(min(running, len(pending)), force=True)
            prog.line(min(running, len(pending)))
    except KeyboardInterrupt:
        done = sum(1 for e in entries.values() if e.get("status") == "ok")
        _eprint(f"[fleet] interrupted: {done} of {len(listing)} recordings done; the same command resumes")
        return 130
    finally:
        signal.signal(signal.SIGTERM, old_term)
        ray.shutdown()

    ordered = [entries[name] for name, _ in listing if name in entries]
    report = rep.build(
        out,
        ordered,
        baseline=baseline,
        threshold=args.threshold,
        latency_factor=args.latency_factor,
        run_info={
            "recordings": args.recordings,
            "out": str(out),
            "address": args.address,
            "models": opts["models"],
            "config": opts["config"],
            "threads": args.threads,
            "retries": args.retries,
            "baseline": str(Path(args.baseline).resolve()) if args.baseline else None,
            "wall_s": round(time.monotonic() - t_start, 1),
        },
    )
    return rep.write_and_summarise(out, report)
