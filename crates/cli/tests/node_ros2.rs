//! `sensorium node --ros2` against real ROS 2 peers, on loopback in a network namespace this test makes
//! (`unshare -n`, `lo` up with multicast): rclpy Jazzy (rcl + Fast DDS, from PyPI) publishes the sample
//! drive at its own rate and then twenty 2.5 MB clouds at 10 Hz, Cyclone DDS publishes `/tf_static`
//! (transient local); rclpy reads `~occupancy`, `~markers`, `~painted_points` and `/diagnostics` with the
//! generated ROS 2 types and the node's parameters through the parameter services, Cyclone DDS reads
//! `~scene` with `sensorium_msgs/msg/Scene` generated from its definition. Three malformed clouds come first. The node gets launch/params_ros2.yaml
//! and one `-p` override as `ros2 launch` passes them.

use sensorium_testkit::testdata::{repo_root, require, ros2_python};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

fn ros2_peers_ok() -> bool {
    Command::new(ros2_python())
        .args([
            "-c",
            "import rclpy, sensor_msgs.msg, nav_msgs.msg, visualization_msgs.msg, diagnostic_msgs.msg, cyclonedds, rosbags",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn netns_ok() -> bool {
    Command::new("unshare")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|o| o.status.success())
}

const SCRIPT: &str = r#"
set -u
ip link set lo up
ip link set lo multicast on
"$BIN" node --ros2 --models "$MODELS" --config "$CONFIG" \
  --ros-args --params-file "$PARAMS" -p engine.deadline_ms:=2000.0 \
  > "$OUT/node.out" 2> "$OUT/node.log" &
NODE=$!
"$PY" "$PEER" drive "$BAG" --params /sensorium --painted --big-cloud 2500000 --garbage 3 \
  > "$OUT/peer.json" 2> "$OUT/peer.log"
PEER_RC=$?
kill -INT $NODE
wait $NODE
echo "$PEER_RC $?" > "$OUT/rc"
"#;

/// The queries of launch/params_ros2.yaml, which override the test's configuration file (its frame id too).
const PARAMS_QUERIES: [&str; 3] = ["a pedestrian crossing the road", "a parked car", "a cyclist"];

#[test]
fn ros2_node_serves_rclpy_and_cyclone_dds_peers() {
    let repo = repo_root();
    let models = repo.join("models");
    let bag = repo.join("tests/fixtures/sample.bag");
    if !require(
        "ROS 2 peers in .venv-ros2 (rclpy Jazzy, Cyclone DDS, rosbags)",
        ros2_peers_ok(),
    ) || !require("network namespaces (unshare -n)", netns_ok())
        || !require(
            "models/ and tests/fixtures/sample.bag",
            models.is_dir() && bag.is_file(),
        )
    {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path();
    let config = out.join("node.toml");
    std::fs::write(
        &config,
        "[scene]\nqueries = [\"a parked car\", \"a pedestrian\"]\nframe_id = \"odom\"\n",
    )
    .expect("config");
    let script = out.join("run.sh");
    std::fs::write(&script, SCRIPT).expect("script");
    let status = Command::new("timeout")
        .args(["300", "unshare", "-n", "bash"])
        .arg(&script)
        .env("BIN", env!("CARGO_BIN_EXE_sensorium"))
        .env("MODELS", &models)
        .env("CONFIG", &config)
        .env("PARAMS", repo.join("launch/params_ros2.yaml"))
        .env("BAG", &bag)
        .env("OUT", out)
        .env("PY", ros2_python())
        .env("PEER", repo.join("crates/ros/tests/python/ros2_peer.py"))
        .env("ROS_DOMAIN_ID", "42")
        // the receiving Fast DDS participant asks for large socket buffers (launch/fastdds_large_messages.xml)
        .env(
            "FASTRTPS_DEFAULT_PROFILES_FILE",
            repo.join("launch/fastdds_large_messages.xml"),
        )
        .status()
        .expect("running the namespace");
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    let logs = format!(
        "--- node.log\n{}\n--- peer.log\n{}",
        read("node.log"),
        read("peer.log")
    );
    assert!(status.success(), "namespace run failed: {status:?}\n{logs}");
    assert_eq!(read("rc").trim(), "0 0", "peer / node exit status\n{logs}");

    // the node's report: every frame set became a scene, every published sweep was received
    let report: BTreeMap<String, String> = read("node.out")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let num = |k: &str| report.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let peer: Value = serde_json::from_str(&read("peer.json")).expect("peer JSON");
    let published = &peer["published"];
    assert_eq!(published["/lidar/points"], 50, "{peer}");
    assert_eq!(published["big_cloud"], 20, "{peer}");
    assert!(peer["big_cloud_bytes"].as_u64().unwrap_or(0) >= 2_500_000);
    // three malformed clouds first: counted as decode errors, nothing else lost
    assert_eq!(published["garbage"], 3, "{peer}");
    assert_eq!(num("received_lidar"), 73, "{report:?}\n{logs}");
    assert_eq!(num("dropped_decode_error_lidar"), 3, "{report:?}");
    assert_eq!(num("received_tf_static"), 1, "{report:?}");
    let scenes = num("scenes");
    assert_eq!(num("framesets"), scenes, "{report:?}");
    // the first camera frame may come before the calibration is complete; nothing else is lost
    assert!(scenes >= 69, "{report:?}\n{logs}");

    // Cyclone DDS decoded every scene with the generated type
    let got = peer["scenes"].as_array().expect("scenes");
    assert_eq!(got.len() as u64, scenes, "scenes through Cyclone DDS");
    for s in got {
        assert_eq!(s["frame_id"], "base_link");
        assert_eq!(
            s["cells"],
            s["width"].as_u64().unwrap() * s["height"].as_u64().unwrap()
        );
        assert_eq!(s["cells"], 96 * 96);
        assert_eq!(s["embedding"], 64);
        assert_eq!(s["queries"], serde_json::json!(PARAMS_QUERIES));
    }
    // the big clouds are stamped on from the end of the recording
    let from = peer["big_cloud_from"].as_f64().expect("big_cloud_from");
    let big = got
        .iter()
        .filter(|s| s["lidar_stamp"].as_f64().unwrap_or(0.0) >= from - 1e-3)
        .count();
    assert_eq!(big, 20, "every 2.5 MB cloud fused");
    assert!(
        got.iter()
            .filter(|s| !s["objects"].as_array().unwrap().is_empty())
            .count()
            >= 40
    );

    // rclpy (Fast DDS) decoded the grid, the markers and the painted clouds with its own types
    assert_eq!(peer["occupancy"].as_array().unwrap().len() as u64, scenes);
    assert_eq!(peer["markers"].as_array().unwrap().len() as u64, scenes);
    for g in peer["occupancy"].as_array().unwrap() {
        assert_eq!((g["width"].as_u64(), g["height"].as_u64()), (Some(96), Some(96)));
        assert_eq!(g["resolution"], 0.5);
    }
    assert!(peer["markers"].as_array().unwrap().iter().all(|m| m["ns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "sensorium/objects")));
    let painted = peer["painted"].as_array().unwrap();
    let painted_big = painted
        .iter()
        .filter(|p| p["bytes"].as_u64().unwrap_or(0) > 5_000_000)
        .count();
    assert!(painted.len() >= 60, "painted clouds at rclpy: {}", painted.len());
    assert!(
        painted_big >= 18,
        "7.5 MB painted clouds at rclpy: {painted_big} of 20"
    );
    assert!(painted
        .iter()
        .all(|p| p["fields"][0] == "x" && p["bytes"].as_u64().unwrap() > 0));

    let diags = peer["diagnostics"].as_array().unwrap();
    let pipeline = diags
        .iter()
        .rfind(|d| d["name"] == "sensorium: pipeline")
        .expect("pipeline diagnostics");
    assert_eq!(pipeline["hardware_id"], "/sensorium");
    assert!(
        pipeline["values"]["scenes"]
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            > 0
    );
    assert!(diags
        .iter()
        .any(|d| d["name"] == "sensorium: models" && d["level"] == 0));

    // parameters: the configuration, readable with rclpy's parameter client, changes refused
    let p = &peer["params"];
    let names: Vec<&str> = p["names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for k in [
        "engine.deadline_ms",
        "ros.version",
        "scene.frame_id",
        "input.lidar_topic",
    ] {
        assert!(names.contains(&k), "{k} not among {names:?}");
    }
    assert_eq!(p["engine.deadline_ms"], 2000.0, "from --ros-args -p");
    assert_eq!(p["ros.version"], 2);
    assert_eq!(p["scene.queries"], serde_json::json!(PARAMS_QUERIES));
    assert_eq!(p["set_successful"], false);
    assert!(p["set_reason"].as_str().unwrap().contains("restart"), "{p}");
}
