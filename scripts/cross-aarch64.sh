#!/usr/bin/env bash
# Docker-free aarch64 cross-build on Debian/Ubuntu (bookworm here):
#   bash scripts/cross-aarch64.sh build [--release | --profile P] [--cpu orin|pi5|generic] [--static]
#   bash scripts/cross-aarch64.sh run [--release | --profile P] -- ARGS...   # build, then the binary under qemu-aarch64
#   bash scripts/cross-aarch64.sh test [cargo test arguments] [-- test arguments]   # cargo test under qemu-aarch64
#   bash scripts/cross-aarch64.sh replay [--release]                         # the sample through replay under qemu
#   bash scripts/cross-aarch64.sh compare [--release] [--x86-bin PATH]       # replay + sim of `ci` on the binary alone
#   bash scripts/cross-aarch64.sh ci [--release] [--x86-bin PATH]            # the aarch64 step of scripts/test.sh
#     (ARM_REPLAY_FRAMES=N|all: frame sets replayed under qemu, default 12; ARM_QEMU_CPUS: the emulated cores
#      the replay is compared on, default "cortex-a72 cortex-a76"; QEMU_CPU: the core of `run`/`test`)
# Uses Debian's rustc-web toolchain (rustc at /usr/bin/rustc) with the arm64 standard library
# (libstd-rust-web-dev:arm64), gcc-aarch64-linux-gnu as linker, qemu-user-static as test runner.
# `build` prints the binary's size, its NEEDED entries and what the aarch64 loader resolves them to.
# `--static` links glibc statically (-C target-feature=+crt-static): one file, no libc on the board.
#
# Profiles: `--release` is what boards run (Cargo.toml's [profile.release]: opt-level 3, thin LTO). `ci` without
# `--release` builds the `arm-ci` profile: the release profile's code generation for the workspace's own crates
# (opt-level 3, no debug assertions, no overflow checks), dependencies at opt-level 0 and no LTO, which Debian's
# rustc-web cross-builds in a fraction of the release profile's time (see Cargo.toml). `ci --release` runs the same
# checks on the deployed profile (a long run: tract at opt-level 3 with LTO).
#
# `ci`: cross-builds the unit tests of the crates that do not link tract, the models' parity tests and the binary,
# then under qemu-aarch64: the unit tests, the models' parity tests against onnxruntime's goldens, replay of the
# bundled sample (first 12 frame sets) on each core of ARM_QEMU_CPUS compared number by number with the x86_64
# binary's run (scripts/compare-outputs.py), and `sensorium sim` giving the same bytes as on x86_64. One PASS/FAIL
# line per check; exits 1 when any failed.
#
# The runner is qemu without `-L /usr/aarch64-linux-gnu` whenever the multiarch loader is installed:
# libstd-rust-web-dev:arm64 pulls in libc6:arm64 (/lib/ld-linux-aarch64.so.1, /lib/aarch64-linux-gnu), and
# /etc/ld.so.cache then points the cross sysroot's loader (libc6-arm64-cross, an older build) at that newer
# libc.so.6. The mismatched pair hangs in the first pthread_create (glibc's stack-cache list walked with the
# wrong layout): `sensorium replay` loads its models on the main thread and then spins at 100 % of one core
# forever when it starts its first thread, whatever the build profile. `run` and `replay` use the right runner.
set -euo pipefail
CALLER_PWD=$PWD
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=${1:-build}; shift || true
PROFILE=""; CPU=generic; STATIC=0; EXTRA=(); X86_BIN=""; RUN_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --release | -r) PROFILE=release ;;
    --profile) PROFILE=${2:?--profile needs a name}; shift ;;
    --profile=*) PROFILE=${1#--profile=} ;;
    --cpu) CPU=$2; shift ;;
    --static) STATIC=1 ;;
    --x86-bin) X86_BIN=$2; shift ;;
    --) shift; RUN_ARGS=("$@"); break ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done
# the profile: dev (cargo's debug) by default, arm-ci for `ci` and `compare`
[ -n "$PROFILE" ] || case "$MODE" in ci | compare) PROFILE=arm-ci ;; *) PROFILE=dev ;; esac
case "$PROFILE" in
  dev | debug) PROFILE=dev; PROFILE_DIR=debug ;;
  test) PROFILE_DIR=debug; EXTRA+=(--profile "$PROFILE") ;;
  bench) PROFILE_DIR=release; EXTRA+=(--profile "$PROFILE") ;;
  *) PROFILE_DIR=$PROFILE; EXTRA+=(--profile "$PROFILE") ;;
esac
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
if [ -e /lib/ld-linux-aarch64.so.1 ]; then
  RUNNER=("$QEMU")                                     # libc6:arm64: loader and libc of one build
else
  RUNNER=("$QEMU" -L /usr/aarch64-linux-gnu)           # only the cross sysroot is installed
fi
# QEMU_CPU: the core qemu emulates. Not qemu's default `max`: with its SVE, inference ran ~8x slower than
# on an emulated Cortex-A76 (image encoder 4.2 s against 0.47 s a run); the A76 is the Pi 5's core and
# close to Orin's A78AE (qemu 7.2 has no A78), the A72 is the Pi 4's.
case "$CPU" in
  orin) RUSTFLAGS_CPU="-C target-cpu=cortex-a78ae"; QCPU=cortex-a76 ;;  # Jetson Orin: ARMv8.2 + dotprod + fp16
  pi5) RUSTFLAGS_CPU="-C target-cpu=cortex-a76"; QCPU=cortex-a76 ;;     # Raspberry Pi 5: ARMv8.2 + dotprod + fp16
  generic) RUSTFLAGS_CPU=""; QCPU=cortex-a72 ;;                         # any ARMv8-A (Xavier, Pi 4, ECUs)
  *) echo "unknown --cpu $CPU (orin, pi5, generic)"; exit 2 ;;
esac
export QEMU_CPU=${QEMU_CPU:-$QCPU}
[ "$STATIC" = 1 ] && RUSTFLAGS_CPU="$RUSTFLAGS_CPU -C target-feature=+crt-static"
# the x86_64 reference binary of `ci`: the one `cargo test --workspace` built, in the caller's target dir
X86_DIR=${CARGO_TARGET_DIR:-target}
X86_BIN=${X86_BIN:-$X86_DIR/debug/sensorium}
export RUSTC=/usr/bin/rustc
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/cross}
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="${RUNNER[*]}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="$RUSTFLAGS_CPU"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
echo "rustc: $($RUSTC --version); target $TARGET; cpu $CPU; profile $PROFILE; static $STATIC; runner ${RUNNER[*]} (QEMU_CPU=$QEMU_CPU)"
BIN=$CARGO_TARGET_DIR/$TARGET/$PROFILE_DIR/sensorium

report_binary() {
  echo "binary: $BIN ($(stat -c %s "$BIN") bytes, $(du -h "$BIN" | cut -f1))"
  echo "shared libraries (NEEDED):"
  aarch64-linux-gnu-readelf -d "$BIN" | grep NEEDED || echo "  none (static)"
  echo "as resolved by the aarch64 loader (ldd):"
  if aarch64-linux-gnu-readelf -l "$BIN" | grep -q "program interpreter"; then
    "${RUNNER[@]}" /lib/ld-linux-aarch64.so.1 --list "$BIN" 2>/dev/null \
      || "$QEMU" -L /usr/aarch64-linux-gnu /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 --list "$BIN" \
      || echo "  (the loader could not list it)"
  else
    echo "  not a dynamic executable"
  fi
}

results=(); failed=0
check() {   # check NAME COMMAND...: runs it, records PASS/FAIL
  local name=$1; shift
  echo; echo "-- aarch64: $name"
  local t=$SECONDS
  if "$@"; then results+=("PASS: $name ($((SECONDS - t)) s)"); else results+=("FAIL: $name ($((SECONDS - t)) s)"); failed=1; fi
  echo "${results[-1]}"
}

# The replay of the sample on every core of ARM_QEMU_CPUS compared with the x86_64 binary's, and the simulator's
# byte identity: what `ci` and `compare` check on $BIN.
compare_checks() {
  work=$CARGO_TARGET_DIR/aarch64-ci-$PROFILE_DIR
  rm -rf "$work"; mkdir -p "$work"
  if [ ! -x "$X86_BIN" ]; then
    echo "x86_64 reference $X86_BIN missing: building it"
    (unset RUSTC CARGO_PROFILE_DEV_DEBUG; CARGO_TARGET_DIR=$X86_DIR command cargo build -p sensorium)
  fi
  REPLAY_FRAMES=${ARM_REPLAY_FRAMES:-12}
  # ARM_REPLAY_FRAMES frame sets (default 12; `all`: the whole sample, 49): a few seconds each under qemu
  REPLAY_ARGS=(replay tests/fixtures/sample.bag --fast --quiet --render none --threads 2 --backend tract --variant int8)
  [ "$REPLAY_FRAMES" = all ] || REPLAY_ARGS+=(--max-frames "$REPLAY_FRAMES")
  x86_replay() {
    SENSORIUM_CACHE_DIR=$work/x86/cache "$X86_BIN" "${REPLAY_ARGS[@]}" \
      --summary-json "$work/x86/summary.json" --out "$work/x86" >"$work/x86.log" 2>&1 \
      || { echo "x86_64 replay failed:"; cat "$work/x86.log"; return 1; }
  }
  arm_replay() {   # arm_replay CPU: the aarch64 binary on that emulated core, bounded in time (a stall fails)
    local cpu=$1 t=$SECONDS
    SENSORIUM_CACHE_DIR=$work/arm-$cpu/cache QEMU_CPU=$cpu timeout --kill-after=10 "${ARM_REPLAY_TIMEOUT:-900}" \
      "${RUNNER[@]}" "$BIN" "${REPLAY_ARGS[@]}" --summary-json "$work/arm-$cpu/summary.json" \
      --out "$work/arm-$cpu" >"$work/arm-$cpu.log" 2>&1 \
      || { echo "aarch64 replay on $cpu failed or ran past ${ARM_REPLAY_TIMEOUT:-900} s:"; cat "$work/arm-$cpu.log"; return 1; }
    cat "$work/arm-$cpu.log"
    echo "aarch64 replay on $cpu: $REPLAY_FRAMES frame sets in $((SECONDS - t)) s under qemu"
  }
  # stopped early, the reader thread's progress (received/dropped/decode_errors) is timing-dependent
  IGNORE=(timing latency_ms end_to_end_ms wall_s)
  [ "$REPLAY_FRAMES" = all ] || IGNORE+=(received dropped decode_errors)
  check "replay of the sample on x86_64 ($REPLAY_FRAMES frame sets)" x86_replay
  # a generic build runs on every core (on an A72 tract's ISA is `aarch64`, on an A76 `aarch64,dotprod`: its SDOT
  # int8 kernels); a tuned build only on the core it was tuned for
  local cpus="cortex-a72 cortex-a76"
  [ "$CPU" = generic ] || cpus=$QCPU
  for cpu in ${ARM_QEMU_CPUS:-$cpus}; do
    check "replay of the sample on aarch64 ($PROFILE profile, qemu $cpu, $REPLAY_FRAMES frame sets)" arm_replay "$cpu"
    check "replay scenes: aarch64 ($cpu) = x86_64 within tolerance" \
      python3 scripts/compare-outputs.py scenes "$work/x86/scenes.jsonl" "$work/arm-$cpu/scenes.jsonl"
    check "replay summary: aarch64 ($cpu) = x86_64 within tolerance" \
      python3 scripts/compare-outputs.py summary "$work/x86/summary.json" "$work/arm-$cpu/summary.json" \
      --ignore "${IGNORE[@]}"
  done
  sim_same() {
    "$X86_BIN" sim --out "$work/x86.bag" --frames 8 --seed 7 >/dev/null || return 1
    "${RUNNER[@]}" "$BIN" sim --out "$work/arm.bag" --frames 8 --seed 7 >/dev/null || return 1
    local a b
    a=$(sha256sum "$work/x86.bag" | cut -d' ' -f1); b=$(sha256sum "$work/arm.bag" | cut -d' ' -f1)
    echo "sim --frames 8 --seed 7: x86_64 $a ($(stat -c %s "$work/x86.bag") bytes), aarch64 $b ($(stat -c %s "$work/arm.bag") bytes)"
    [ "$a" = "$b" ] && [ -s "$work/x86.bag" ]
  }
  check "sim: same seed, byte-identical bag on x86_64 and aarch64" sim_same
}

case "$MODE" in
  compare)
    # the checks of `ci` that need only the binary (built with `build` and the same profile flags when missing)
    t0=$SECONDS
    [ -x "$BIN" ] || check "cross-build ($PROFILE profile): sensorium" \
      cargo build --target $TARGET -p sensorium --bin sensorium "${EXTRA[@]}"
    [ -x "$BIN" ] && { report_binary; compare_checks; }
    echo
    echo "aarch64 compare ($PROFILE profile): $((SECONDS - t0)) s"
    printf '%s\n' "${results[@]}"
    exit "$failed"
    ;;
  build)
    cargo build --target $TARGET -p sensorium --bin sensorium "${EXTRA[@]}"
    report_binary
    ;;
  run)
    # built (or brought up to date) first; the arguments are resolved from the caller's folder
    cargo build --target $TARGET -p sensorium --bin sensorium "${EXTRA[@]}"
    BIN=$(realpath -m "$BIN")
    cd "$CALLER_PWD"
    exec "${RUNNER[@]}" "$BIN" ${RUN_ARGS[@]+"${RUN_ARGS[@]}"} ;;
  test)
    cargo test --target $TARGET "${EXTRA[@]}" ${RUN_ARGS[@]+-- "${RUN_ARGS[@]}"} ;;
  replay)
    cargo build --target $TARGET -p sensorium --bin sensorium "${EXTRA[@]}"
    "${RUNNER[@]}" "$BIN" replay --fast --quiet --summary-json "${CARGO_TARGET_DIR}/aarch64-summary.json" \
      --out "${CARGO_TARGET_DIR}/aarch64-out" ;;
  ci)
    # Unit tests of the crates that do not link tract (their numerics, parsers and geometry on aarch64);
    # what links tract (infer, pipeline, the CLI) is checked on aarch64 by the models' parity tests and by
    # the replay compared with x86_64 below, and its unit tests run on x86_64: building them again for
    # aarch64 (a test-mode copy of each crate, each linked with tract) cost minutes of CI for nothing new.
    # Not crates/ros nor the CLI integration tests: they need a roscore.
    CRATES=(core msgs bag geometry engine fusion sim)
    UNIT=(); for c in "${CRATES[@]}"; do UNIT+=(-p "sensorium-$c"); done
    # Everything that links tract comes from ONE cargo call (features unify over the selected packages and
    # targets: another selection, or `cargo build` beside `cargo test`, can change libc/serde/smallvec
    # features and compile tract twice). `--test cli` (the CLI's argument tests, no roscore, tract-free)
    # makes cargo build the `sensorium` binary itself, at $BIN, in the same call as the parity tests.
    TRACT=(-p sensorium-infer -p sensorium)
    TRACT_TARGETS=(--test models --test cli)
    # debuginfo: line tables only (backtraces keep file:line), much less to compile and link
    export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}
    echo "profile: $PROFILE ($PROFILE_DIR)"
    # Dependencies at opt-level 0, tract included (ARM_OPT_LEVEL to change); the workspace's crates keep Cargo.toml's
    # opt-levels. Debian's rustc-web spent most of CI's aarch64 step optimising tract: cross-build 2,215 s at
    # opt-level 3, 2,136 s at 1, 902 s at 0, 700 s with the proc-macros at 0 too (a 2-core machine). Opt-levels do not change float results
    # (no fast-math, no FMA contraction) and tract's matmul kernels are assembly either way; the checks below
    # compare numbers, not speed. Measured at 0: every check passed, qemu checks 318 s (unit 49, parity 149,
    # replay 96, sim 23) against 125 s at opt-level 1.
    # (With `--profile dev` the same holds through a generated config: Cargo.toml builds tract at opt-level 3 in dev.
    # arm-ci sets it in Cargo.toml; the release profile is left as users build it.)
    mkdir -p "$CARGO_TARGET_DIR"
    CFG=$CARGO_TARGET_DIR/aarch64-ci-profile.toml
    {
      if [ "$PROFILE" = dev ]; then
        printf '[profile.dev.package."*"]\nopt-level = %s\n' "${ARM_OPT_LEVEL:-0}"
        for p in $(sed -nE 's/^\[profile\.dev\.package\.(tract-[a-z-]+|ndarray)\]$/\1/p' Cargo.toml); do
          printf '[profile.dev.package.%s]\nopt-level = %s\n' "$p" "${ARM_OPT_LEVEL:-0}"
        done
      elif [ "$PROFILE" = arm-ci ] && [ -n "${ARM_OPT_LEVEL:-}" ]; then
        printf '[profile.arm-ci.package."*"]\nopt-level = %s\n' "$ARM_OPT_LEVEL"
      fi
    } >"$CFG"
    cargo() { command cargo --config "$CFG" "$@"; }
    export -f cargo
    export CFG
    t0=$SECONDS
    build_all() {
      cargo test --target $TARGET --no-run "${TRACT[@]}" "${TRACT_TARGETS[@]}" "${EXTRA[@]}" &&
        cargo test --target $TARGET --no-run "${UNIT[@]}" --lib "${EXTRA[@]}"
    }
    check "cross-build ($PROFILE profile): unit tests (${CRATES[*]}), parity tests, sensorium" build_all
    build_s=$((SECONDS - t0))
    [ -x "$BIN" ] || { echo "cross-build did not leave $BIN"; results+=("FAIL: binary at $BIN"); failed=1; }
    if [ "$failed" = 0 ]; then
      report_binary
      check "unit tests (${CRATES[*]}) under qemu" cargo test --target $TARGET "${UNIT[@]}" --lib "${EXTRA[@]}"
      check "models' parity vs onnxruntime goldens (tiny test models + every model in models/) under qemu" \
        cargo test --target $TARGET "${TRACT[@]}" "${TRACT_TARGETS[@]}" "${EXTRA[@]}" -- match_onnxruntime
      compare_checks
    fi
    echo
    echo "aarch64 step: ${build_s} s cross-build, $((SECONDS - t0)) s in all"
    printf '%s\n' "${results[@]}"
    exit "$failed"
    ;;
  *) echo "usage: $0 build|run|test|replay|compare|ci [--release | --profile P] [--cpu orin|pi5|generic] [--static] [--x86-bin PATH] [-- ARGS]"; exit 2 ;;
esac
