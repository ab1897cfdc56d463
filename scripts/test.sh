#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu machine with only Rust, Python and apt:
#   bash scripts/test.sh
# Installs what the tests need when missing (Debian's ROS1 packages, OpenCV, message_filters
# headers; onnxruntime/onnx from PyPI into .venv), then runs formatting, clippy and every test
# with peers required (a missing peer is a failure, not a skip).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export SENSORIUM_REQUIRE_PEERS=1
export SENSORIUM_DATA="${SENSORIUM_DATA:-$ROOT/../shared/data}"
export CARGO_TERM_COLOR=never
# One clean build per run: incremental caches would double target/ for nothing.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
TGT=${CARGO_TARGET_DIR:-target}

disk() { df -h --output=avail,used . 2>/dev/null | tail -1 | awk '{printf "disk: %s free, %s used", $1, $2}'; [ -d "$TGT" ] && du -sh "$TGT" 2>/dev/null | awk '{printf ", target %s", $1}'; echo; }
step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; disk; }
# limit SECONDS NAME COMMAND...: runs COMMAND under a time limit (a hang fails the step that hung, by name,
# instead of CI's whole budget); exits with the command's status, 124 when the limit tripped.
limit() {
  local secs=$1 name=$2 rc=0
  shift 2
  timeout --kill-after=30 "$secs" "$@" || rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "TIME LIMIT: step '$name' ran past its ${secs} s limit and was stopped" >&2
  fi
  return "$rc"
}

step "system packages"
limit 1200 "system packages" bash scripts/setup-deps.sh

step "python venv (.venv: onnxruntime, onnx)"
limit 900 "python venv" bash scripts/setup-venv.sh

[ -d "$SENSORIUM_DATA" ] || { echo "shared data not found at $SENSORIUM_DATA (set SENSORIUM_DATA)"; exit 1; }

step "cargo fmt --check"
limit 120 "cargo fmt" cargo fmt --all -- --check

# Lints and the cuda check write check-only metadata that nothing later uses: their own target dir,
# removed afterwards, keeps CI's peak disk use down. (Measured on a 2-core machine: linting while the tests build,
# clippy-driver as RUSTC_WORKSPACE_WRAPPER, took 21.8 min against 17.4 + 5.5 here, and the cuda check then
# needs a check-mode build of tract of its own, 4.7 min against 0.9: this order is the shorter.)
step "cargo clippy (all targets, -D warnings)"
CARGO_TARGET_DIR="$TGT/lint" limit 1800 "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings

step "cargo check --features cuda (tract-cuda loads the driver at run time: no CUDA needed to build)"
CARGO_TARGET_DIR="$TGT/lint" limit 900 "cargo check --features cuda" cargo check -p sensorium --features cuda --bin sensorium
[ -n "${KEEP_TARGETS:-}" ] || rm -rf "$TGT/lint"

step "cargo test (workspace)"
log=$(mktemp)
set +e
limit 2700 "cargo test (workspace)" cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# the patched XML-RPC crate rosrust runs on (crates/vendor: not a workspace member); its lock file is
# generated and ignored
step "cargo test (crates/vendor/xml-rpc: rosrust's XML-RPC client/server, bounded)"
CARGO_TARGET_DIR="$TGT" limit 600 "cargo test xml-rpc" cargo test --manifest-path crates/vendor/xml-rpc/Cargo.toml 2>&1 | tee -a "$log" || rc=1
step "cargo test (crates/vendor/rosrust --lib: upstream unit tests + the TCPROS length caps)"
CARGO_TARGET_DIR="$TGT" limit 600 "cargo test rosrust" cargo test --manifest-path crates/vendor/rosrust/Cargo.toml --lib -- --test-threads 1 2>&1 | tee -a "$log" || rc=1

step "sensorium bench --quick: every stage beside its peer, same run (full run: sensorium bench --update-docs)"
# without its 30-s node soak: the soak test above ran the node for 300 s
limit 1200 "sensorium bench --quick" "$TGT/debug/sensorium" bench --quick --strict --soak-seconds 0 --json "$TGT/bench-quick.json" || rc=1

step "aarch64 (arm-ci profile: release code generation for our crates; cross-build with Debian's rustc-web, unit + parity tests, replay on Cortex-A72 and A76 and sim under qemu-aarch64; ~20 min cold; the release profile itself: scripts/cross-aarch64.sh ci --release)"
limit 2400 "aarch64" bash scripts/cross-aarch64.sh ci --x86-bin "$TGT/debug/sensorium" || rc=1
[ -n "${KEEP_TARGETS:-}" ] || rm -rf "$TGT/cross"

step "fuzz: every parser of outside bytes (messages, bags, calibration, cloud files, map text, manifests), ${FUZZ_SECONDS:-6} s each (long run: bash scripts/fuzz.sh 3600)"
limit 1200 "fuzz" bash scripts/fuzz.sh "${FUZZ_SECONDS:-6}" || rc=1

step "done"
passed=$(grep -E "^test result:" "$log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
failed=$(grep -E "^test result:" "$log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
rm -f "$log"
echo
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$rc"
