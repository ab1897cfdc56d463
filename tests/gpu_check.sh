#!/usr/bin/env bash
# GPU check for the `cuda` feature (tract-cuda), on a machine with an NVIDIA GPU and its driver:
#   bash tests/gpu_check.sh [MODELS_DIR]
# Builds `sensorium` with `--features cuda` (release), then for every model in MODELS_DIR (default
# models/) runs `sensorium models check` on the CPU and on the GPU, both against the onnxruntime goldens:
#   - parity: every fp32/f16 output on the GPU within the same bounds as the CPU (fp32 rel. L2 <= 1e-4 of
#     onnxruntime; f16 <= 1e-2). int8 variants are reported, not required: tract-cuda has no int8
#     conv/matmul kernels, so GPU models run f32/f16;
#   - that the GPU run really ran on the GPU (`runtime` = "cuda", not a CPU fallback);
#   - latency of both, printed as a table with the GPU/CPU ratio.
# Exits 1 when a GPU run fell back to the CPU or an fp32/f16 model failed parity on the GPU.
# Without a GPU the build still works and every model falls back to the CPU with one warning: the
# script then says so and exits 2.
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${1:-models}
export SENSORIUM_CACHE_DIR=${SENSORIUM_CACHE_DIR:-$(mktemp -d)}
OUT=${OUT:-$(mktemp -d)}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: no GPU visible"
cargo build --release --features cuda -p sensorium 2>&1 | tail -2
BIN=${CARGO_TARGET_DIR:-target}/release/sensorium
"$BIN" models check "$MODELS" --json --device cpu > "$OUT/cpu.json" || true
"$BIN" models check "$MODELS" --json --device cuda > "$OUT/cuda.json" 2> "$OUT/cuda.err" || true
cat "$OUT/cuda.err" | grep -i -m3 "warn\|cuda" || true
python3 - "$OUT/cpu.json" "$OUT/cuda.json" <<'EOF'
import json, sys
cpu = {(r["name"], v["variant"]): v for r in json.load(open(sys.argv[1])) for v in r["variants"]}
gpu = {(r["name"], v["variant"]): v for r in json.load(open(sys.argv[2])) for v in r["variants"]}
print(f"{'model':<16}{'variant':<8}{'cpu ms':>10}{'gpu ms':>10}{'gpu/cpu':>9}  device  parity on gpu (worst rel L2 / max abs)")
bad, fell_back = 0, 0
for key in sorted(gpu):
    g, c = gpu[key], cpu.get(key, {})
    worst = max((o["rel_l2"] for o in g["outputs"]), default=float("nan"))
    worst_abs = max((o["max_abs"] for o in g["outputs"]), default=float("nan"))
    ratio = g["latency_median_ms"] / c["latency_median_ms"] if c.get("latency_median_ms") else float("nan")
    required = g["format"] in ("fp32", "f16")
    ok = g["pass"] or not required
    if g["runtime"] != "cuda":
        fell_back += 1
    if not ok:
        bad += 1
    print(f"{key[0]:<16}{key[1]:<8}{c.get('latency_median_ms', float('nan')):>10.3f}{g['latency_median_ms']:>10.3f}"
          f"{ratio:>9.2f}  {g['runtime']:<6}  {'PASS' if g['pass'] else ('FAIL' if required else 'n/a (int8)')} "
          f"{worst:.2e} / {worst_abs:.2e}{'  ' + g['error'][:120] if g.get('error') else ''}")
if fell_back == len(gpu):
    print("no model ran on the GPU (no driver/GPU here): the build works, the GPU check did not run")
    sys.exit(2)
print(f"{bad} fp32/f16 model files failed parity on the GPU; {fell_back} fell back to the CPU")
sys.exit(1 if bad or fell_back else 0)
EOF
