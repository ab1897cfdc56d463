"""`python -m sensorium_fleet`: fleet regression replay on Ray (docs/fleet.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """\
examples:
  python -m sensorium_fleet run --recordings fleet/ --out runs/4.2/
  python -m sensorium_fleet run --recordings fleet/ --out runs/4.3/ --baseline runs/4.2/ --models models-4.3/
  python -m sensorium_fleet run --recordings /data/fleet.txt --out runs/4.3/ --address ray://head:10001
  python -m sensorium_fleet report --recordings fleet.txt --out shards-out/ --baseline runs/4.2/   # `replay --shard` outputs

exit codes: 0 every recording replayed and nothing regressed; 1 a recording failed or something
regressed (the report says which); 2 usage error (arguments, baseline, recordings list); 3 the run
could not start (Ray could not be started or reached, the sensorium binary not found); 130
interrupted (the same command resumes).
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sensorium_fleet",
        description="Replay every recording of a fleet through `sensorium replay` on Ray and report, per "
        "recording and in aggregate, what got worse against a baseline run.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="replay the recordings on Ray, write OUT/report.json and OUT/report.html",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--recordings", required=True, metavar="DIR_OR_LIST",
                   help="a folder (every *.bag, *.mcap, *.db3 and rosbag2 folder below it) or a list file (one path per line); the same "
                   "listing as `sensorium replay --recordings`")
    r.add_argument("--out", required=True, metavar="OUT",
                   help="run folder: OUT/NAME/ per recording (summary.json, scenes.jsonl, PNGs), OUT/report.*; "
                   "rerunning into the same OUT resumes (recordings already replayed are not redone)")
    r.add_argument("--address", default="local", metavar="auto|local|ray://HOST:PORT",
                   help="Ray cluster: `local` (default) starts one on this machine, `auto` joins the one "
                   "`ray start` runs here, ray://HOST:PORT connects a Ray client to a cluster's head")
    r.add_argument("--baseline", metavar="PREVIOUS_OUT", help="a previous run's OUT (or its report.json) to compare with")
    r.add_argument("--config", metavar="F", help="sensorium configuration file for every replay (--config)")
    r.add_argument("--models", metavar="DIR", help="models folder for every replay (--models)")
    r.add_argument("--threads", type=int, default=1, metavar="N",
                   help="cores of each replay, and the CPUs each Ray task declares (default 1); below 3 the "
                   "replay's stages run inline (SENSORIUM__ENGINE__STAGES=inline) so that it keeps to N cores")
    r.add_argument("--num-cpus", type=int, default=None, metavar="N",
                   help="with --address local: CPUs Ray may use (default: all); a cluster has its own")
    r.add_argument("--retries", type=int, default=2, metavar="N",
                   help="retries of a replay that failed in a way a retry can fix (a killed worker, exit 1 or 6, "
                   "a timeout); a damaged recording or a models/config error is not retried (default 2)")
    r.add_argument("--timeout", type=float, default=3600, metavar="SECS",
                   help="a replay running longer is stopped and retried (default 3600)")
    r.add_argument("--threshold", type=float, default=0.02,
                   help="a metric down by more than this (absolute; metrics are 0..1) is a regression (default 0.02)")
    r.add_argument("--latency-factor", type=float, default=1.5,
                   help="an end-to-end p99 this many times the baseline's (and 1 ms more) is a regression (default 1.5)")
    r.add_argument("--render", default="4", metavar="WHICH",
                   help="PNG renderings per recording: a count, all or none (replay --render; default 4)")
    r.add_argument("--no-scenes", action="store_true",
                   help="do not keep each recording's scenes.jsonl (the per-frame latencies are kept)")
    r.add_argument("--no-resume", action="store_true", help="replay every recording even when OUT has it already")
    r.add_argument("--sensorium-bin", metavar="PATH",
                   help="the sensorium binary (default: $SENSORIUM_BIN, PATH, the repository's target/release or target/debug)")
    r.add_argument("--replay-arg", action="append", metavar="ARG",
                   help="one more argument for every `sensorium replay` (repeat: --replay-arg=--variant --replay-arg=int8)")
    r.add_argument("--progress-interval", type=float, default=10.0, metavar="SECS",
                   help="a progress line at least this often (and on every finished recording)")

    g = sub.add_parser("report", help="(re)build the report of an OUT folder, e.g. one written by "
                       "`sensorium replay --recordings ... --shard I/N` pods",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("--out", required=True, metavar="OUT")
    g.add_argument("--recordings", metavar="LIST_OR_DIR",
                   help="the recordings the run was to replay (as given to `sensorium replay --recordings`): "
                   "each one with no output in OUT is reported failed (its shard failed or did not run); "
                   "without it, the report covers the recordings' folders found in OUT")
    g.add_argument("--baseline", metavar="PREVIOUS_OUT")
    g.add_argument("--sensorium-bin", metavar="PATH",
                   help="with --recordings: the binary that lists them (default: $SENSORIUM_BIN, PATH, the "
                   "repository's target/release or target/debug)")
    g.add_argument("--threshold", type=float, default=0.02)
    g.add_argument("--latency-factor", type=float, default=1.5)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from . import report as rep

    try:
        if args.command == "report":
            out = Path(args.out).resolve()
            if not out.is_dir():
                print(f"error: --out {args.out}: not a folder", file=sys.stderr)
                return 2
            baseline = rep.load_baseline(Path(args.baseline)) if args.baseline else None
            listing = None
            if args.recordings:
                from . import replay as rp

                try:
                    listing = rp.list_recordings(args.sensorium_bin, args.recordings)
                except rp.SensoriumNotFound as e:
                    print(f"error: {e}", file=sys.stderr)
                    return 3
                except ValueError as e:
                    print(f"error: {e}", file=sys.stderr)
                    return 2
                if not listing:
                    print(f"error: --recordings {args.recordings}: no recordings", file=sys.stderr)
                    return 2
            entries = rep.entries_from_out(out, listing)
            if not entries:
                print(f"error: --out {args.out}: no recordings' outputs in it", file=sys.stderr)
                return 2
            report = rep.build(out, entries, baseline, args.threshold, args.latency_factor,
                               {"recordings": args.recordings or str(out), "out": str(out),
                                "baseline": str(Path(args.baseline).resolve()) if args.baseline else None})
            return rep.write_and_summarise(out, report)
        if args.threads < 1 or args.retries < 0:
            print("error: --threads must be at least 1 and --retries at least 0", file=sys.stderr)
            return 2
        from . import replay as rp
        from . import runner

        try:
            return runner.run(args)
        except rp.SensoriumNotFound as e:
            print(f"error: {e}", file=sys.stderr)
            return 3
    except rep.BaselineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
