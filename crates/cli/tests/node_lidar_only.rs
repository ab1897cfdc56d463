//! `sensorium node` on a LiDAR-only rig: the camera topics configured empty, the sample played by
//! `rosbag play` (its camera messages go unheard). The node builds its calibration from `/tf_static`
//! alone and publishes LiDAR + map-text scenes with their objects.

use sensorium_testkit::listener::{listener_summary, start_listener};
use sensorium_testkit::rosmaster::RosMaster;
use sensorium_testkit::rosnode;
use sensorium_testkit::testdata::{repo_root, require};
use std::time::Duration;

#[test]
fn node_without_camera_topics_fuses_lidar_alone() {
    let bag = repo_root().join("tests/fixtures/sample.bag");
    if !require(
        "Debian ROS (roscore, rospy, genpy, rosbag)",
        RosMaster::available() && rosnode::ros_python_ok(),
    ) {
        return;
    }
    let home = tempfile::tempdir().expect("ROS_HOME");
    let home = home.path();
    let ros = RosMaster::start(home, Duration::from_secs(30)).expect("starting roscore");
    let gen = rosnode::genpy(home);
    let config = home.join("lidar_only.toml");
    std::fs::write(
        &config,
        "[input]\ncamera_topic = \"\"\ncamera_compressed_topic = \"\"\ncamera_info_topic = \"\"\n\
         [engine]\ndeadline_ms = 2000.0\n",
    )
    .expect("config");
    let mut node = rosnode::start_node(
        &ros,
        std::path::Path::new(env!("CARGO_BIN_EXE_sensorium")),
        &["--config", config.to_str().expect("utf-8 path")],
        &home.join("node.log"),
        &[],
    );
    rosnode::wait_subscribed(&ros);
    assert!(
        !ros.topic_info("/camera/image_raw/compressed")
            .contains("/sensorium"),
        "no camera subscription"
    );
    let (listener, lines) = start_listener(&ros, &gen, 12.0, false);
    ros.play(&bag);
    let summary = listener_summary(lines).expect("listener summary");
    drop(listener);
    let (status, _, report) = rosnode::stop_node(&mut node);
    let log = std::fs::read_to_string(home.join("node.log")).unwrap_or_default();
    assert!(status.success(), "node exit {status:?}:\n{log}");
    let scenes = summary["scenes"].as_array().expect("scenes");
    println!("{} LiDAR-only scenes; report:\n{report}", scenes.len());
    assert!(scenes.len() >= 40, "{} scenes of 50 sweeps:\n{log}", scenes.len());
    for s in scenes {
        let mask = s["mask"].as_u64().unwrap_or(0);
        assert!(mask & 2 != 0 && mask & 1 == 0, "LiDAR without camera: {s}");
    }
    let with_cars = scenes
        .iter()
        .filter(|s| {
            s["objects"]
                .as_array()
                .is_some_and(|o| o.iter().any(|c| c == "car"))
        })
        .count();
    assert!(with_cars * 2 >= scenes.len(), "scenes with a car: {with_cars}");
    assert_eq!(
        rosnode::report_value(&report, "received_camera_info"),
        0.0,
        "{report}"
    );
}
