//! The real `sensorium node` with every private parameter set on the master (`rosparam load` under
//! `/sensorium`, as `launch/sensorium.launch` does), each changed from its default and each seen taking
//! effect where a subscriber can see it, while `rosbag play` plays the sample:
//! `frame_id`, `queries`, `publish_features`, `publish_painted_points`, `max_rate_hz`, `map_text_ttl`,
//! `models_dir` and `deadline_ms` in one run, `max_message_bytes` in a second; `stale_factor` and
//! `image_preference` (the sample has one camera topic) are checked as applied.

use sensorium_testkit::listener::{listener_summary, start_listener};
use sensorium_testkit::rosmaster::{wait_until, Killed, RosMaster};
use sensorium_testkit::testdata::{repo_root, require, ros_python};
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const PARAMS: [&str; 11] = [
    "stale_factor",
    "deadline_ms",
    "map_text_ttl",
    "publish_features",
    "publish_painted_points",
    "max_message_bytes",
    "max_rate_hz",
    "image_preference",
    "models_dir",
    "frame_id",
    "queries",
];

/// Loads `yaml` as the node's private parameters, starts `sensorium node`, plays the sample and
/// listens; returns the listener's summary, the node's log and the advertised topics.
fn run(ros: &RosMaster, home: &Path, yaml: &str) -> (Value, String, String) {
    let params = home.join("params.yaml");
    std::fs::write(&params, yaml).expect("params file");
    let loaded = ros
        .command("rosparam")
        .arg("load")
        .arg(&params)
        .arg("/sensorium")
        .output()
        .expect("rosparam load");
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let log_path = home.join("node.log");
    let mut node = Killed::new(
        ros.command(env!("CARGO_BIN_EXE_sensorium"))
            .arg("node")
            .current_dir(repo_root())
            .env("SENSORIUM_CACHE_DIR", home.join("cache"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).expect("node log"))
            .spawn()
            .expect("starting sensorium node"),
        "sensorium node",
    );
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    wait_until("the node's subscription", Duration::from_secs(120), || {
        ros.topic_info("/lidar/points").contains("/sensorium")
    });
    let (_listener, lines) = start_listener(
        ros,
        &repo_root().join("crates/msgs/sensorium_msgs/src"),
        14.0,
        false,
    );
    ros.play(&repo_root().join("tests/fixtures/sample.bag"));
    let topics = ros
        .command("rostopic")
        .arg("list")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let summary =
        listener_summary(lines).unwrap_or_else(|| panic!("no listener summary; node log:\n{}", log()));
    node.interrupt();
    let t = std::time::Instant::now();
    while matches!(node.child.try_wait(), Ok(None)) && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    (summary, log(), topics)
}

/// The last value of diagnostic `key` in status `name`.
fn diag(summary: &Value, name: &str, key: &str) -> Option<String> {
    summary["diagnostics"]
        .as_array()?
        .iter()
        .rev()
        .filter(|d| d["name"] == name)
        .find_map(|d| d["values"][key].as_str().map(str::to_string))
}

#[test]
fn every_private_parameter_takes_effect_in_sensorium_node() {
    if !require(
        "Debian ROS (roscore, rosparam, rosbag, rospy)",
        RosMaster::available() && ros_python().exists(),
    ) {
        return;
    }
    let home = tempfile::tempdir().expect("ROS_HOME");
    let ros = RosMaster::start(home.path(), Duration::from_secs(60)).expect("roscore");
    // the models through another path, so that the parameter is seen in /diagnostics
    let models = home.path().join("models-link");
    std::os::unix::fs::symlink(repo_root().join("models"), &models).expect("models link");
    let yaml = format!(
        "frame_id: lidar_top\n\
         image_preference: compressed\n\
         stale_factor: 5.0\n\
         deadline_ms: 5000.0\n\
         map_text_ttl: 0.0001\n\
         publish_features: true\n\
         publish_painted_points: false\n\
         max_message_bytes: 50000000\n\
         max_rate_hz: 4.0\n\
         models_dir: {}\n\
         queries: [a parked car, a cyclist]\n",
        models.display()
    );
    let (s, log, topics) = run(&ros, home.path(), &yaml);
    let applied = log
        .lines()
        .find(|l| l.contains("private parameters applied"))
        .unwrap_or_else(|| panic!("no 'private parameters applied' line:\n{log}"));
    for p in PARAMS {
        assert!(
            applied.contains(&format!("\"{p}\"")),
            "{p} not applied: {applied}"
        );
    }
    let scenes = s["scenes"].as_array().expect("scenes");
    // max_rate_hz 4: of the sample's 50 sweeps in 5 s, about 20 pass (4 a second + the banked second)
    assert!(
        (5..=30).contains(&scenes.len()),
        "{} scenes from 50 sweeps at 4 Hz; node log:\n{log}",
        scenes.len()
    );
    let limited: u64 = [
        "dropped_rate_limited_lidar",
        "dropped_rate_limited_camera_compressed",
    ]
    .iter()
    .filter_map(|k| diag(&s, "sensorium: pipeline", k))
    .filter_map(|v| v.parse::<u64>().ok())
    .sum();
    assert!(
        limited >= 40,
        "rate-limited messages: {limited}: {}",
        s["diagnostics"]
    );
    println!(
        "parameters: {} scenes, {limited} messages over max_rate_hz",
        scenes.len()
    );
    for sc in scenes {
        assert_eq!(sc["frame_id"], "lidar_top", "frame_id: {sc}");
        assert_eq!(
            sc["queries"],
            serde_json::json!(["a parked car", "a cyclist"]),
            "queries: {sc}"
        );
        assert_eq!(sc["features"], 32 * 96 * 96, "publish_features: {sc}");
        // map text is received at other instants than the sensors: never within 0.1 ms
        assert_eq!(sc["mask"].as_u64().map(|m| m & 4), Some(0), "map_text_ttl: {sc}");
        // with a 5 s deadline on an idle pipeline nothing is late
    }
    assert!(
        diag(&s, "sensorium: pipeline", "dropped_late").is_none(),
        "deadline_ms 5000: {}",
        s["diagnostics"]
    );
    assert!(!topics.contains("/sensorium/painted_points"), "{topics}");
    assert!(topics.contains("/sensorium/scene"), "{topics}");
    assert_eq!(
        diag(&s, "sensorium: models", "dir").as_deref(),
        Some(models.to_str().unwrap_or_default()),
        "models_dir"
    );

    // max_message_bytes under a sweep's size (118 KB): every sweep is refused before it is read, so
    // the node never learns the LiDAR frame and waits for calibration
    let (s, log, _) = run(
        &ros,
        home.path(),
        "max_message_bytes: 100000\nmax_rate_hz: 0.0\npublish_painted_points: true\n",
    );
    assert!(
        s["scenes"].as_array().is_some_and(Vec::is_empty),
        "{}",
        s["scenes"]
    );
    let oversized: u64 = diag(&s, "sensorium: pipeline", "dropped_oversized")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(oversized >= 40, "oversized: {oversized}; node log:\n{log}");
    println!("max_message_bytes 100000: {oversized} sweeps refused, no scene");
}
