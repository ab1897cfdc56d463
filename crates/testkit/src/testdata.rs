//! Where tests and benches find real data and peer tools.
//!
//! Real recordings live outside the repository (`../shared/data` beside the
//! checkout; never committed). `SENSORIUM_DATA` overrides the location.

use std::path::{Path, PathBuf};

/// Root of the repository (the workspace folder holding `Cargo.lock`).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|p| p.join("Cargo.lock").exists() && p.join("crates").is_dir())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| here.join("../.."))
}

/// The shared real-data folder: `$SENSORIUM_DATA`, else `<repo>/../shared/data`.
pub fn shared_data_dir() -> PathBuf {
    if let Ok(p) = std::env::var("SENSORIUM_DATA") {
        return PathBuf::from(p);
    }
    repo_root().join("../shared/data")
}

/// True when the test suite runs with peers installed (set by `scripts/test.sh`):
/// a missing peer or data file is then a failure, not a skip.
pub fn peers_required() -> bool {
    std::env::var("SENSORIUM_REQUIRE_PEERS")
        .map(|v| v == "1")
        .unwrap_or(false)
}

/// Python interpreter with Debian's ROS modules and OpenCV (`/usr/bin/python3`),
/// overridable with `SENSORIUM_PYTHON`.
pub fn ros_python() -> PathBuf {
    std::env::var("SENSORIUM_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/usr/bin/python3"))
}

/// Python interpreter of the project venv (scripts/setup-venv.sh: onnxruntime, onnx, tokenizers,
/// OpenCV, the recipe's `sensorium_recipe` package; Debian's ROS modules through its system
/// site-packages): `$SENSORIUM_VENV_PYTHON` or `<repo>/.venv/bin/python`.
pub fn venv_python() -> PathBuf {
    std::env::var("SENSORIUM_VENV_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".venv/bin/python"))
}

/// Python interpreter of the ROS 2 peers' venv (scripts/setup-venv.sh: rclpy Jazzy with Fast DDS, its
/// message packages, Cyclone DDS, rosbags): `$SENSORIUM_ROS2_PYTHON` or `<repo>/.venv-ros2/bin/python`.
pub fn ros2_python() -> PathBuf {
    std::env::var("SENSORIUM_ROS2_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".venv-ros2/bin/python"))
}

/// Whether the project venv ([`venv_python`]) imports `modules` (a Python import list, e.g.
/// `"rosbag, cv2, sensorium_recipe"`).
pub fn venv_imports(modules: &str) -> bool {
    std::process::Command::new(venv_python())
        .args(["-c", &format!("import {modules}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Skip (return false, with a note on stderr) or panic when a peer/data file is missing.
pub fn require(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    if peers_required() {
        panic!("required for this test but missing: {what} (scripts/test.sh installs it)");
    }
    eprintln!("SKIP: {what} missing; run scripts/test.sh to install peers");
    false
}

/// Whether onnxruntime's int8 kernels reproduce the goldens on this CPU. On x86-64 without VNNI
/// (AVX2 only, e.g. AMD EPYC before Zen 4) onnxruntime's u8s8 GEMM multiplies with `vpmaddubsw`,
/// whose int16 pair sums saturate (onnxruntime's quantization docs name this and suggest
/// `reduce_range`): its int8 outputs then drift from goldens written on a VNNI machine — ~1 % of
/// the image encoder's features two or more steps off. tract computes int8 in exact i32 everywhere.
/// Tests that use onnxruntime as an int8 reference loosen exactly what that drift moves, and say so.
pub fn ort_int8_exact() -> bool {
    if !cfg!(target_arch = "x86_64") {
        return true;
    }
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = flags.lines().find(|l| l.starts_with("flags")).unwrap_or_default();
    flags
        .split_whitespace()
        .any(|f| f == "avx512_vnni" || f == "avx_vnni")
}
