#!/usr/bin/env bash
# Fuzz every parser that takes outside bytes with cargo fuzz (libFuzzer + AddressSanitizer): the ROS1
# message decoders, the ROS 2 (CDR) decoders and the ROS1 → CDR conversion, the bag reader (whole files,
# single chunks and their compression), the ROS 2 recording reader (MCAP), the calibration
# loaders, the cloud file readers (PCD incl. LZF, KITTI .bin, .npy), map text and the model manifest.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 30 s, every target)
# Long documented run: bash scripts/fuzz.sh 3600
# Built optimised, our crates with debug assertions and overflow checks on (crates/fuzz/Cargo.toml's
# profile): an arithmetic overflow on outside bytes is a finding, as a panic is.
# Needs cargo-fuzz (installed when missing) and nightly features: RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept -Zsanitizer. Each run starts from the committed seed corpus (crates/fuzz/corpus) plus
# the repository's calibration files and manifests and, where present, small real files from
# ../shared/data (SENSORIUM_DATA); they are copied to a scratch directory so runs do not grow the
# repository. A crash leaves its input under crates/fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
data=${SENSORIUM_DATA:-$repo/../shared/data}
cd "$repo/crates/fuzz"
SECS=${1:-30}
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$(pwd)/target}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list --fuzz-dir .)
cargo fuzz build -O --fuzz-dir . >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# seed NAME FILE...: copies the small (< 64 KB) existing files into target NAME's scratch corpus
seed() {
  local t=$1 n=0 f
  shift
  for f in "$@"; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 65536 ] || continue
    n=$((n + 1))
    cp "$f" "$work/$t/extra-$n-$(basename "$f")"
  done
}
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  cp -r corpus/"$t"/. "$work/$t/" 2>/dev/null || true
  case $t in
    bag) seed bag "$data"/rosbag.js_fixtures/fixtures/*.bag "$data"/derived_bags/*.bag ;;
    calibration)
      seed calibration "$repo"/calibration/*.yaml
      if [ -d "$data" ]; then
        mapfile -t found < <(find "$data" \( -name 'calib*.txt' -o -name '*-intrinsic.json' \
          -o -name '*-extrinsic.json' -o -name 'test_calibration.yaml' \) -size -64k | sort | head -40)
        seed calibration "${found[@]}"
      fi ;;
    cloud_files) seed cloud_files "$data"/pcl_test_pcd/test/*.pcd ;;
    manifest) seed manifest "$repo"/models/*/manifest.toml ;;
  esac
  out=$(cargo fuzz run -O --fuzz-dir . "$t" "$work/$t" -- -max_total_time="$SECS" -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -timeout=20 2>&1) || { grep -E -m1 -A8 "panicked|ERROR: AddressSanitizer|ERROR: libFuzzer" <<<"$out" | cut -c1-300 || true; grep -E -A2 "Test unit written|Reproduce with" <<<"$out" | cut -c1-300 || true; echo "fuzz target $t FAILED"; exit 1; }
  echo "$out" | grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" | tail -1 | sed "s/^/$t: /"
done
