//! `sensorium_msgs/Scene` against Debian's genmsg (md5sum, md5 text, full definition) and genpy (the
//! generated Python class deserializes what the Rust encoder writes, field by field).

mod common;

use sensorium_core::{ModalityMask, QueryScore, Scene, SceneBev, SceneObject, StageTiming, Stamp};
use sensorium_ros::scene_msg;
use sensorium_testkit::testdata::require;

#[test]
fn md5_and_definition_match_genmsg() {
    if !require(
        "Debian ROS python (genmsg, genpy, rospy)",
        common::ros_python_ok(),
    ) {
        return;
    }
    let msg_dir = common::msg_dir();
    let out = common::peer(&["md5", msg_dir.to_str().expect("utf-8 path")], None);
    let v: serde_json::Value = serde_json::from_str(&out).expect("peer JSON");
    let deps = |t: &str| match t {
        "std_msgs/Header" => Some(sensorium_msgs::defs::STD_MSGS_HEADER_MD5),
        "geometry_msgs/Pose" => Some(scene_msg::GEOMETRY_MSGS_POSE_MD5),
        _ => None,
    };
    let text = scene_msg::md5_text(scene_msg::DATATYPE, scene_msg::SCENE_MSG, &deps).expect("md5 text");
    assert_eq!(v["text"].as_str(), Some(text.as_str()));
    assert_eq!(v["md5"].as_str(), Some(scene_msg::md5sum()));
    assert_eq!(v["full_text"].as_str(), Some(scene_msg::definition()));
}

#[test]
fn genpy_class_reads_the_rust_encoding() {
    if !require(
        "Debian ROS python (genmsg, genpy, rospy)",
        common::ros_python_ok(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let msg_dir = common::msg_dir();
    common::peer(
        &[
            "genpy",
            msg_dir.to_str().expect("utf-8 path"),
            dir.path().to_str().expect("utf-8 path"),
        ],
        None,
    );
    let scene = Scene {
        seq: 7,
        stamp: Stamp::new(1_700_000_001, 250_000_000),
        frame_id: "base_link".into(),
        mask: ModalityMask(7),
        camera_stamp: Some(Stamp::new(1_700_000_001, 200_000_000)),
        lidar_stamp: Some(Stamp::new(1_700_000_001, 250_000_000)),
        map_text_stamp: None,
        embedding: vec![0.6, -0.8, 0.0],
        bev: SceneBev {
            resolution: 0.5,
            width: 3,
            height: 2,
            origin_x: -10.0,
            origin_y: -20.0,
            channels: 2,
            features: (0..12).map(|i| i as f32 * 0.25).collect(),
            occupancy: vec![0.0, 0.125, 0.5, 0.75, 1.0, 0.25],
            class: vec![0, 1, 2, 3, 4, 5],
            map_text: vec![0, 1, 0, 0, 2, 0],
        },
        queries: vec![
            QueryScore {
                query: "a parked car".into(),
                score: 0.5,
                map: vec![0.0, 0.125, 0.25, 0.5, 0.75, 1.0],
            },
            QueryScore {
                query: "zebra crossing ahead".into(),
                score: -0.25,
                map: vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.5],
            },
        ],
        objects: vec![
            SceneObject {
                class: "car".into(),
                score: 0.75,
                x: 12.5,
                y: -2.0,
                z: 0.75,
                yaw: 0.5,
                length: 4.5,
                width: 2.0,
                height: 1.5,
                points: 120,
                class_id: 1,
            },
            SceneObject {
                class: "pedestrian".into(),
                score: 0.5,
                x: 3.0,
                y: 4.0,
                length: 0.5,
                width: 0.5,
                class_id: 3,
                ..Default::default()
            },
        ],
        timing: vec![
            StageTiming {
                stage: "image_encoder".into(),
                ms: 12.5,
            },
            StageTiming {
                stage: "fusion".into(),
                ms: 3.25,
            },
        ],
        end_to_end_ms: 42.5,
    };
    for with_features in [false, true] {
        let body = scene_msg::encode(&scene, 11, with_features);
        let file = dir.path().join("scene.bin");
        std::fs::write(&file, &body).expect("write body");
        let out = common::peer(&["decode", file.to_str().expect("utf-8 path")], Some(dir.path()));
        let v: serde_json::Value = serde_json::from_str(&out).expect("peer JSON");
        let f32s = |k: &str| -> Vec<f64> {
            v[k].as_array()
                .unwrap_or_else(|| panic!("{k}"))
                .iter()
                .filter_map(|x| x.as_f64())
                .collect()
        };
        assert_eq!(v["seq"], 11);
        assert_eq!(v["stamp"], serde_json::json!([1_700_000_001u32, 250_000_000u32]));
        assert_eq!(v["frame_id"], "base_link");
        assert_eq!(v["mask"], 7);
        assert_eq!(
            v["camera_stamp"],
            serde_json::json!([1_700_000_001u32, 200_000_000u32])
        );
        assert_eq!(v["map_text_stamp"], serde_json::json!([0, 0]));
        assert_eq!(f32s("embedding"), vec![0.6f32 as f64, -0.8f32 as f64, 0.0]);
        assert_eq!(v["resolution"], 0.5);
        assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(3), Some(2)));
        assert_eq!(f32s("origin"), vec![-10.0, -20.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(v["channels"], 2);
        let features: Vec<f64> = if with_features {
            scene.bev.features.iter().map(|x| f64::from(*x)).collect()
        } else {
            Vec::new()
        };
        assert_eq!(f32s("features"), features);
        assert_eq!(f32s("occupancy"), vec![0.0, 0.125, 0.5, 0.75, 1.0, 0.25]);
        assert_eq!(v["classes"], serde_json::json!([0, 1, 2, 3, 4, 5]));
        assert_eq!(v["map_text"], serde_json::json!([0, 1, 0, 0, 2, 0]));
        assert_eq!(
            v["query_texts"],
            serde_json::json!(["a parked car", "zebra crossing ahead"])
        );
        assert_eq!(f32s("query_scores"), vec![0.5, -0.25]);
        assert_eq!(
            f32s("query_maps"),
            vec![0.0, 0.125, 0.25, 0.5, 0.75, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.5],
            "per query, row-major, in query order"
        );
        assert_eq!(v["object_classes"], serde_json::json!(["car", "pedestrian"]));
        assert_eq!(f32s("object_scores"), vec![0.75, 0.5]);
        assert_eq!(
            f32s("object_boxes"),
            vec![12.5, -2.0, 0.75, 0.5, 4.5, 2.0, 1.5, 3.0, 4.0, 0.0, 0.0, 0.5, 0.5, 0.0],
            "x y z yaw length width height per object"
        );
        assert_eq!(v["object_points"], serde_json::json!([120, 0]));
        assert_eq!(v["stage_names"], serde_json::json!(["image_encoder", "fusion"]));
        assert_eq!(f32s("stage_ms"), vec![12.5, 3.25]);
        assert_eq!(v["end_to_end_ms"], 42.5);
    }
}

/// The generated Python module shipped for users (`crates/msgs/sensorium_msgs/src/sensorium_msgs`, what
/// `rostopic echo /sensorium/scene` and rospy subscribers import with that folder on `PYTHONPATH`) is
/// exactly what genpy generates from `Scene.msg` today.
#[test]
fn shipped_python_module_is_genpys_output_of_scene_msg() {
    if !require(
        "Debian ROS python (genmsg, genpy, rospy)",
        common::ros_python_ok(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    common::peer(
        &[
            "genpy",
            common::msg_dir().to_str().expect("utf-8 path"),
            dir.path().to_str().expect("utf-8 path"),
        ],
        None,
    );
    let shipped = common::repo().join("crates/msgs/sensorium_msgs/src");
    for rel in [
        "sensorium_msgs/__init__.py",
        "sensorium_msgs/msg/__init__.py",
        "sensorium_msgs/msg/_Scene.py",
    ] {
        let fresh = std::fs::read_to_string(dir.path().join(rel)).expect("generated file");
        let ours = std::fs::read_to_string(shipped.join(rel)).unwrap_or_else(|e| {
            panic!(
                "{} missing ({e}): regenerate it (docs/ros.md)",
                shipped.join(rel).display()
            )
        });
        assert!(
            ours == fresh,
            "{} differs from genpy's output for Scene.msg: regenerate it with \
             `/usr/bin/python3 crates/ros/tests/python/ros_peer.py genpy crates/msgs/sensorium_msgs/msg \
             crates/msgs/sensorium_msgs/src` (docs/ros.md)",
            shipped.join(rel).display()
        );
    }
}
