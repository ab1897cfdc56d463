//! launch/sensorium.rviz shows what the node publishes and reads, in the frame its scenes are in: every
//! display topic is one of the node's outputs (`/sensorium/...` under the default node name) or one of its
//! default inputs, and the fixed frame is the scene frame.

mod common;

use sensorium_ros::NodeSettings;

#[test]
fn rviz_config_shows_the_node_topics_in_the_scene_frame() {
    let path = common::repo().join("launch/sensorium.rviz");
    let text = std::fs::read_to_string(&path).expect("launch/sensorium.rviz");
    let cfg: serde_yaml::Value = serde_yaml::from_str(&text).expect("RViz config is YAML");
    let s = NodeSettings::new("models".into());
    let vm = &cfg["Visualization Manager"];
    assert_eq!(
        vm["Global Options"]["Fixed Frame"].as_str(),
        Some(s.frame_id.as_str())
    );
    let outputs = [
        "/sensorium/occupancy",
        "/sensorium/markers",
        "/sensorium/scene",
        "/sensorium/painted_points",
    ];
    let inputs = [
        s.topics.camera.as_str(),
        s.topics.camera_compressed.as_str(),
        s.topics.lidar.as_str(),
    ];
    let mut shown = Vec::new();
    for d in vm["Displays"].as_sequence().expect("displays") {
        for key in ["Topic", "Marker Topic", "Image Topic"] {
            if let Some(t) = d[key].as_str() {
                assert!(
                    outputs.contains(&t) || inputs.contains(&t),
                    "display {:?} shows {t}, which the node neither publishes nor reads",
                    d["Name"]
                );
                shown.push(t.to_string());
            }
        }
    }
    for want in [
        "/sensorium/occupancy",
        "/sensorium/markers",
        s.topics.lidar.as_str(),
        s.topics.camera.as_str(),
    ] {
        assert!(shown.iter().any(|t| t == want), "{want} not shown: {shown:?}");
    }
    // the launch file opens it
    let launch =
        std::fs::read_to_string(common::repo().join("launch/sensorium.launch")).expect("launch file");
    assert!(launch.contains("$(dirname)/sensorium.rviz"));
}
