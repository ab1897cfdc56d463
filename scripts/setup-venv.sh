#!/usr/bin/env bash
# Creates .venv (with Debian's system site-packages, so numpy/cv2/rospy stay visible) and
# installs the pinned PyPI peers: onnxruntime (reference inference), onnx (model tooling),
# tokenizers (the recipe's tokenizer, for its offline evaluation of a bag), ray (the fleet runner's
# engine) and pytest; then the fleet runner itself (tools/fleet, editable: `python -m sensorium_fleet`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
if ! .venv/bin/python -c "import onnxruntime, onnx, tokenizers, ray, pytest" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
fi
if ! .venv/bin/python -c "import sensorium_fleet" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e tools/fleet
fi
.venv/bin/python -c "import onnxruntime, onnx, numpy; print('onnxruntime', onnxruntime.__version__, 'onnx', onnx.__version__, 'numpy', numpy.__version__)"
