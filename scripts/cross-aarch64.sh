#!/usr/bin/env bash
# Docker-free aarch64 cross-build on Debian/Ubuntu (bookworm here):
#   bash scripts/cross-aarch64.sh [build|test|replay] [--release] [--cpu orin|pi5|generic]
# Uses Debian's rustc-web toolchain (rustc at /usr/bin/rustc) with the arm64 standard library
# (libstd-rust-web-dev:arm64), gcc-aarch64-linux-gnu as linker, qemu-user-static as test runner.
# Prints the binary size and its shared-library dependencies at the end of a build.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-build}; shift || true
PROFILE=debug; CPU=generic; EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --release) PROFILE=release; EXTRA+=(--release) ;;
    --cpu) CPU=$2; shift ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done
TARGET=aarch64-unknown-linux-gnu
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
[ -x /usr/bin/rustc ] || need+=(rustc-web)
dpkg-query -W -f='${Status}' libstd-rust-web-dev:arm64 2>/dev/null | grep -q "install ok installed" || need+=(libstd-rust-web-dev:arm64)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64-static >/dev/null || command -v qemu-aarch64 >/dev/null || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  dpkg --print-foreign-architectures | grep -q arm64 || $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
QEMU=$(command -v qemu-aarch64-static || command -v qemu-aarch64)
case "$CPU" in
  orin) RUSTFLAGS_CPU="-C target-cpu=cortex-a78ae" ;;   # Jetson Orin: ARMv8.2 + dotprod + fp16
  pi5) RUSTFLAGS_CPU="-C target-cpu=cortex-a76" ;;      # Raspberry Pi 5: ARMv8.2 + dotprod + fp16
  generic) RUSTFLAGS_CPU="" ;;                          # any ARMv8-A (Xavier, Pi 4, ECUs)
  *) echo "unknown --cpu $CPU (orin, pi5, generic)"; exit 2 ;;
esac
export RUSTC=/usr/bin/rustc
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/cross}
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$QEMU -L /usr/aarch64-linux-gnu"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="$RUSTFLAGS_CPU"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
echo "rustc: $($RUSTC --version); target $TARGET; cpu $CPU; profile $PROFILE"
case "$MODE" in
  build)
    cargo build --target $TARGET -p sensorium "${EXTRA[@]}"
    BIN=$CARGO_TARGET_DIR/$TARGET/$PROFILE/sensorium
    echo "binary: $BIN ($(du -h "$BIN" | cut -f1))"
    echo "shared libraries (NEEDED):"; aarch64-linux-gnu-readelf -d "$BIN" | grep NEEDED || true
    ;;
  test)
    cargo test --target $TARGET "${EXTRA[@]}" ;;
  replay)
    cargo run --target $TARGET -p sensorium "${EXTRA[@]}" -- replay --fast --quiet --summary-json "${CARGO_TARGET_DIR}/aarch64-summary.json" --out "${CARGO_TARGET_DIR}/aarch64-out" ;;
  *) echo "usage: $0 build|test|replay [--release] [--cpu orin|pi5|generic]"; exit 2 ;;
esac
