#!/usr/bin/env bash
# Fuzz every ROS1 message decoder with cargo fuzz (libFuzzer + AddressSanitizer).
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 30: the short run the test command uses)
# Long documented run: bash scripts/fuzz.sh 3600
# Needs cargo-fuzz (installed when missing) and nightly features: RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept -Zsanitizer. The committed seed corpus is copied so runs do not grow the repository;
# a crash leaves its input under crates/msgs/fuzz/artifacts/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/../crates/msgs/fuzz"
SECS=${1:-30}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$(pwd)/target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in $(cargo fuzz list); do
  mkdir -p "$work/$t"
  cp -r corpus/"$t"/. "$work/$t/" 2>/dev/null || true
  out=$(cargo fuzz run -O "$t" "$work/$t" -- -max_total_time="$SECS" -rss_limit_mb=2048 2>&1) || { echo "$out" | tail -40; echo "fuzz target $t FAILED"; exit 1; }
  echo "$out" | grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" | tail -1 | sed "s/^/$t: /"
done
