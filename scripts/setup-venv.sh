#!/usr/bin/env bash
# Creates .venv (with Debian's system site-packages, so rosbag/rospy/sensor_msgs stay visible) and
# installs the pinned PyPI peers: onnxruntime (reference inference), onnx (model tooling),
# tokenizers (the recipe's tokenizer, for its offline evaluation of a bag), OpenCV
# (opencv-python-headless, built for the venv's numpy; the recipe's preprocessing and the bench's
# OpenCV peers), ray (the fleet runner's engine), pyarrow (the Argoverse 2 reading that `sensorium eval`
# is checked against), rosbags, mcap and mcap-ros2-support (ROS 2 bags and MCAP, written and read) and pytest;
# then, editable, the fleet runner
# (tools/fleet: `python -m sensorium_fleet`) and the training recipe's package (models/recipes:
# `python -m sensorium_recipe.evaluate_bag`; training needs models/recipes/requirements.txt).
# Also .venv-ros2: the ROS 2 peers of `sensorium node --ros2` (scripts/requirements-ros2.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
if ! .venv/bin/python -c "import onnxruntime, onnx, tokenizers, cv2, ray, pyarrow, rosbags, mcap, mcap_ros2, pytest" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
fi
if ! .venv/bin/python -c "import sensorium_fleet" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e tools/fleet
fi
if ! .venv/bin/python -c "import sensorium_recipe" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e models/recipes
fi
# ROS 2 peers (rclpy Jazzy + Fast DDS, Cyclone DDS) in a venv of their own: Debian's ROS 1 sensor_msgs and
# std_msgs, visible in .venv, have the same module names
if [ ! -x .venv-ros2/bin/python ]; then
  /usr/bin/python3 -m venv .venv-ros2
fi
if ! .venv-ros2/bin/python -c "import rclpy, sensor_msgs.msg, nav_msgs.msg, visualization_msgs.msg, diagnostic_msgs.msg, cyclonedds, rosbags, numpy" 2>/dev/null; then
  .venv-ros2/bin/pip install -q --disable-pip-version-check -r scripts/requirements-ros2.txt
fi
.venv-ros2/bin/python -c "import rclpy, cyclonedds; from importlib.metadata import version; print('rclpy', version('ros-jazzy-rclpy'), 'cyclonedds', version('cyclonedds'))"
.venv/bin/python -c "import onnxruntime, onnx, numpy, cv2, sensorium_recipe.pipeline; print('onnxruntime', onnxruntime.__version__, 'onnx', onnx.__version__, 'numpy', numpy.__version__, 'opencv', cv2.__version__)"
