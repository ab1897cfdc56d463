"""Shared set-up: the sensorium binary, a dozen simulated recordings and a damaged one."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sensorium_fleet.replay import REPO, SensoriumNotFound, find_sensorium

HERE = Path(__file__).resolve().parent

FRAMES = 12
SEEDS = list(range(1, 13))


def peers_required() -> bool:
    return os.environ.get("SENSORIUM_REQUIRE_PEERS") == "1"


@pytest.fixture(scope="session")
def sensorium() -> str:
    try:
        return find_sensorium()
    except SensoriumNotFound as e:
        if peers_required():
            raise
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fleet")


def damage(path: Path, size: int = 4096) -> None:
    """A file that starts like a rosbag and then is not one (a recording damaged on its way to storage)."""
    rnd = bytes((i * 2654435761 >> 13) & 0xFF for i in range(size))
    path.write_bytes(b"#ROSBAG V2.0\n" + rnd)


@pytest.fixture(scope="session")
def recordings(sensorium, work) -> Path:
    """recs/sim-01.bag … sim-12.bag (`sensorium sim`, one seed each) and recs/damaged.bag."""
    recs = work / "recs"
    recs.mkdir()

    def sim(seed: int) -> None:
        subprocess.run(
            [sensorium, "sim", "--out", str(recs / f"sim-{seed:02d}.bag"), "--frames", str(FRAMES), "--seed", str(seed)],
            check=True, capture_output=True, timeout=300,
        )

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(sim, SEEDS))
    damage(recs / "damaged.bag")
    return recs


def fleet_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "sensorium_fleet", *args]


def fleet_env(sensorium: str) -> dict:
    env = dict(os.environ)
    env["SENSORIUM_BIN"] = sensorium
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return env


__all__ = ["REPO", "FRAMES", "SEEDS", "damage", "fleet_cmd", "fleet_env", "peers_required"]
