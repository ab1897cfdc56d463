#!/usr/bin/env bash
# Large messages between `sensorium node --ros2` and a Fast DDS peer (rclpy Jazzy), on loopback in a network
# namespace of its own:
#   bash scripts/ros2-large-messages.sh [BIG_CLOUD_BYTES]     (default 2500000; needs root for unshare -n)
# The peer (crates/ros/tests/python/ros2_peer.py, in .venv-ros2) publishes the bundled sample at its own rate,
# then twenty clouds of BIG_CLOUD_BYTES at 10 Hz, and subscribes to ~painted_points (reliable). Run twice:
# with Fast DDS's default sockets, and with launch/fastdds_large_messages.xml (8 MiB receive buffer, capped
# by net.core.rmem_max). Prints, per run, the scenes fused and the painted clouds that reached rclpy.
set -euo pipefail
cd "$(dirname "$0")/.."
BYTES=${1:-2500000}
# $SENSORIUM_BIN, else the newer of target/release/sensorium and target/debug/sensorium
BIN=${SENSORIUM_BIN:-$(ls -t target/release/sensorium target/debug/sensorium 2>/dev/null | head -1)}
[ -x "$BIN" ] || { echo "no sensorium binary: cargo build -p sensorium" >&2; exit 1; }
PY=${SENSORIUM_ROS2_PYTHON:-.venv-ros2/bin/python}
[ -x "$PY" ] || bash scripts/setup-venv.sh >/dev/null
OUT=$(mktemp -d)
echo "$BIN; net.core.rmem_max = $(sysctl -n net.core.rmem_max)"
for profile in default launch/fastdds_large_messages.xml; do
  env_profile=()
  [ "$profile" = default ] || env_profile=(FASTRTPS_DEFAULT_PROFILES_FILE="$PWD/$profile")
  env "${env_profile[@]}" BIN="$BIN" PY="$PY" OUT="$OUT" BYTES="$BYTES" timeout 300 unshare -n bash -c '
    ip link set lo up; ip link set lo multicast on
    "$BIN" node --ros2 --models models --ros-args -p engine.deadline_ms:=2000.0 > "$OUT/node.out" 2> "$OUT/node.log" &
    NODE=$!
    "$PY" crates/ros/tests/python/ros2_peer.py drive tests/fixtures/sample.bag --painted --big-cloud "$BYTES" \
      > "$OUT/peer.json" 2> "$OUT/peer.log" || echo "peer failed: see $OUT/peer.log" >&2
    kill -INT $NODE; wait $NODE'
  python3 - "$OUT/peer.json" "$profile" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
big = d.get("big_cloud_bytes", 0)
painted = d["painted"]
t0 = d.get("big_cloud_from", 1e30) - 1e-3
large = [p for p in painted if p["stamp"] >= t0]
print(f"{sys.argv[2]}: scenes {len(d['scenes'])}, clouds of {big} B fused {sum(1 for s in d['scenes'] if s['lidar_stamp'] >= t0)} of 20; "
      f"painted clouds at rclpy {len(painted)} of {len(d['scenes'])}, "
      f"of them {len(large)} of 20 large ({max((p['bytes'] for p in painted), default=0)} B)")
PY
done
