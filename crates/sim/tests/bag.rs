//! Bags written by sensorium-sim: determinism, and Debian's rosbag tools as peers.

use sensorium_sim::{simulate_to_bag, SimConfig};
use sensorium_testkit::testdata::{require, ros_python};
use std::path::Path;
use std::process::Command;

fn quick() -> SimConfig {
    let mut c = SimConfig::sample();
    c.camera.raw = true; // both image topics
    c
}

#[test]
fn same_seed_gives_byte_identical_bag_and_other_seeds_differ() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = quick();
    let (a, b, c) = (
        dir.path().join("a.bag"),
        dir.path().join("b.bag"),
        dir.path().join("c.bag"),
    );
    let ra = simulate_to_bag(&cfg, 12, 42, &a).unwrap();
    simulate_to_bag(&cfg, 12, 42, &b).unwrap();
    simulate_to_bag(&cfg, 12, 43, &c).unwrap();
    let (ba, bb, bc) = (
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        std::fs::read(&c).unwrap(),
    );
    assert_eq!(ra.sweeps, 12);
    assert_eq!(ra.images, 12);
    assert_eq!(ra.bytes, ba.len() as u64);
    assert!(ba == bb, "same seed, different bytes");
    assert!(ba != bc, "different seeds, same bytes");
    // Our own reader sees every message in record-time order.
    let r = sensorium_bag::BagReader::open(&a).unwrap();
    assert_eq!(r.message_count(), ra.messages);
    assert!(r.warnings().is_empty());
}

#[test]
fn rosbag_info_and_python_rosbag_read_the_bag() {
    let py = ros_python();
    let rosbag = Path::new("/usr/bin/rosbag");
    if !require("Debian rosbag (python3-rosbag)", py.exists() && rosbag.exists()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = quick();
    let bag = dir.path().join("s.bag");
    let rep = simulate_to_bag(&cfg, 25, 7, &bag).unwrap();
    let ros_home = dir.path().join("ros_home");
    std::fs::create_dir_all(&ros_home).unwrap();
    let out = Command::new(rosbag)
        .arg("info")
        .arg(&bag)
        .env("ROS_HOME", &ros_home)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "rosbag info failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "/lidar/points",
        "25 msgs",
        "sensor_msgs/PointCloud2",
        "/camera/image_raw/compressed",
        "/camera/camera_info",
        "/tf_static",
        "tf2_msgs/TFMessage",
        "/sensorium/ground_truth",
        "/map/text",
        "bz2",
    ] {
        assert!(text.contains(needle), "rosbag info lacks {needle:?}:\n{text}");
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_bag.py");
    let out = Command::new(&py)
        .arg(&script)
        .arg(&bag)
        .env("ROS_HOME", &ros_home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "read_bag.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["topics"]["/lidar/points"], 25);
    assert_eq!(v["topics"]["/sensorium/ground_truth"], 25);
    assert_eq!(v["topics"]["/camera/camera_info"], 25);
    assert_eq!(v["topics"]["/tf_static"], 1);
    assert_eq!(v["topics"]["/map/text"], 3);
    assert_eq!(v["latching"]["/tf_static"], "1");
    let clouds = v["clouds"].as_array().unwrap();
    let total: u64 = clouds.iter().map(|c| c["n"].as_u64().unwrap()).sum();
    assert_eq!(total, rep.points);
    for (i, c) in clouds.iter().enumerate() {
        assert_eq!(c["frame"], "lidar_top");
        assert_eq!(c["ring_max"], u64::from(cfg.lidar.beams - 1));
        assert!(c["time_max"].as_f64().unwrap() < 0.1);
        // Stamps jitter by milliseconds around the 10 Hz grid; records come 2–12 ms later.
        let stamp = c["stamp"].as_f64().unwrap();
        let nominal = 1_700_000_000.0 + i as f64 * 0.1;
        assert!(
            (stamp - nominal).abs() <= 0.0031,
            "sweep {i}: stamp {stamp} vs {nominal}"
        );
        let delay = c["record"].as_f64().unwrap() - stamp;
        assert!(
            (0.0019..=0.0121).contains(&delay),
            "sweep {i}: record delay {delay}"
        );
    }
    // The ground truth is stamped exactly like its sweep.
    for (c, g) in clouds.iter().zip(v["truth"].as_array().unwrap()) {
        assert!((c["stamp"].as_f64().unwrap() - g["stamp"].as_f64().unwrap()).abs() < 1e-6);
    }
    // Images decode (OpenCV) to the configured size, in the optical frame.
    for im in v["images"].as_array().unwrap() {
        assert_eq!(im["shape"], serde_json::json!([360, 640, 3]));
        assert_eq!(im["frame"], "camera_front_optical");
        assert!(im["mean"].as_f64().unwrap() > 40.0);
    }
    // tf_static: the three transforms of calibration/README.md.
    let tf = v["tf"].as_array().unwrap();
    assert_eq!(tf.len(), 3);
    assert_eq!(tf[0]["child"], "lidar_top");
    assert_eq!(tf[0]["t"], serde_json::json!([0.0, 0.0, 1.8]));
    assert_eq!(tf[1]["t"], serde_json::json!([1.5, 0.0, 1.6]));
    let q: Vec<f64> = tf[2]["q"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    for (a, b) in q.iter().zip([-0.5, 0.5, -0.5, 0.5]) {
        assert!((a - b).abs() < 1e-12, "optical quaternion {q:?}");
    }
    // Map text parses as the contract's JSON with positions.
    let mt = &v["map_text"][0]["annotations"];
    assert!(mt
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["text"].as_str().unwrap().starts_with("speed limit")));
}

/// The committed sample (tests/fixtures/sample.bag) is exactly what this code generates, on whatever
/// platform the test runs: it was written on x86_64, so on aarch64 this checks cross-platform identity.
#[test]
fn bundled_sample_is_reproduced_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let committed = root.join("sample.bag");
    let Ok(expected) = std::fs::read(&committed) else {
        panic!(
            "{} missing: run `cargo run --release -p sensorium-sim --example make_sample`",
            committed.display()
        );
    };
    assert!(expected.len() <= 6_000_000, "sample is {} bytes", expected.len());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sample.bag");
    // Same settings as examples/make_sample.rs.
    simulate_to_bag(&SimConfig::sample(), 50, 2024, &out).unwrap();
    let got = std::fs::read(&out).unwrap();
    assert!(
        got == expected,
        "regenerated sample differs from {} ({} vs {} bytes): if the change is intended, rerun \
         `cargo run --release -p sensorium-sim --example make_sample`",
        committed.display(),
        got.len(),
        expected.len()
    );
    // The committed calibration matches the sample config.
    let calib = dir.path().join("calib");
    sensorium_sim::write_calibration(&SimConfig::sample(), &calib).unwrap();
    for f in ["extrinsics.yaml", "camera_front.yaml"] {
        assert_eq!(
            std::fs::read(calib.join(f)).unwrap(),
            std::fs::read(root.join("sample_calib").join(f)).unwrap(),
            "{f}"
        );
    }
}
