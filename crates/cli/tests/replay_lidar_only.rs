//! A LiDAR-only recording (no camera topics at all, as on many robots): the bundled sample with its
//! camera and camera_info topics filtered out by Debian's `rosbag filter`. Replay builds a calibration
//! without cameras from `/tf_static` and fuses every sweep with LiDAR and map text.

mod common;

use common::{replay, repo, scenes};
use sensorium_testkit::testdata::{require, ros_python};
use std::process::Command;

#[test]
fn a_recording_without_camera_replays_lidar_only() {
    let rosbag_ok = Command::new(ros_python())
        .args(["-c", "import rosbag"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !require("Debian rosbag (rosbag filter)", rosbag_ok) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let bag = tmp.path().join("lidar_only.bag");
    let filtered = Command::new(ros_python())
        .args(["/usr/bin/rosbag", "filter"])
        .arg(repo().join("tests/fixtures/sample.bag"))
        .arg(&bag)
        .arg("not topic.startswith('/camera')")
        .output()
        .expect("rosbag filter");
    assert!(
        filtered.status.success(),
        "rosbag filter: {}",
        String::from_utf8_lossy(&filtered.stderr)
    );
    let out = tmp.path().join("out");
    let s = replay(&[bag.to_str().expect("utf-8 path"), "--render", "10"], &out);
    assert_eq!(s["received"].get("camera"), None, "{}", s["received"]);
    assert_eq!(s["framesets_fused"].as_u64(), Some(50), "every sweep: {s}");
    assert_eq!(
        s["modalities"],
        serde_json::json!({"lidar+map_text": 50}),
        "{}",
        s["modalities"]
    );
    let sc = scenes(&out);
    assert_eq!(sc.len(), 50);
    assert!(sc
        .iter()
        .all(|v| v["camera_stamp"].is_null() && v["mask"].as_u64() == Some(6)));
    assert!(
        out.join("scene_000010.png").is_file(),
        "the PNG without a camera panel"
    );
    // what the bundled models see without the camera (README, docs/architecture.md): pinned to 2 points
    // (or one object of the class) on x86-64, whose default is fp32
    let m = &s["metrics"];
    if cfg!(target_arch = "x86_64") {
        for (key, want, n) in [
            ("occupancy_iou", 0.780, None),
            ("recall.car", 0.963, m["objects"]["car"].as_f64()),
            ("object_recall", 0.698, None),
        ] {
            let got = key
                .split('.')
                .fold(m, |v, k| &v[k])
                .as_f64()
                .unwrap_or_else(|| panic!("metrics.{key} missing: {m}"));
            let tol = n.filter(|n| *n > 0.0).map_or(0.02, |n| (1.0 / n).max(0.02));
            assert!(
                (got - want).abs() <= tol + 1e-3,
                "LiDAR-only metrics.{key} = {got:.4}, stated {want:.3}: {m}"
            );
        }
    }
}
