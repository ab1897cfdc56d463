#!/usr/bin/env bash
# Installs the Debian packages sensorium's tests, peers and tools use, when missing (chromium: the
# headless browser that checks the fleet runner's HTML report; iproute2: the ROS 2 tests bring up loopback in the
# network namespace they make).
set -euo pipefail
PKGS=(ros-core python3-rospy python3-rosbag python3-rostopic python3-message-filters python3-sensor-msgs
  python3-std-msgs python3-geometry-msgs python3-visualization-msgs python3-nav-msgs python3-diagnostic-msgs
  python3-genpy ros-sensor-msgs ros-std-msgs ros-geometry-msgs ros-nav-msgs ros-visualization-msgs
  ros-diagnostic-msgs ros-tf2-msgs libsensor-msgs-dev libstd-msgs-dev libgeometry-msgs-dev libnav-msgs-dev
  libvisualization-msgs-dev libdiagnostic-msgs-dev libtf2-msgs-dev libmessage-filters-dev libroscpp-dev
  python3-opencv python3-numpy python3-yaml python3-venv g++ pkg-config pcl-tools
  chromium iproute2)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all ${#PKGS[@]} Debian packages present"
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed ${#missing[@]} packages"
