//! Datatype, md5sum and full definition of every message type equal Debian's ROS message packages
//! (genpy `_md5sum`/`_full_text`, or genmsg on the installed .msg files), and tf/tfMessage equals what real
//! recordings carry.

use sensorium_msgs::*;
use sensorium_testkit::testdata::{require, ros_python, shared_data_dir};
use std::process::Command;

fn entries() -> Vec<(&'static str, &'static str, &'static str)> {
    fn e<T: RosMessage>() -> (&'static str, &'static str, &'static str) {
        (T::DATATYPE, T::MD5SUM, T::DEFINITION)
    }
    vec![
        e::<Header>(),
        e::<StringMsg>(),
        e::<Image>(),
        e::<CompressedImage>(),
        e::<CameraInfo>(),
        e::<RegionOfInterest>(),
        e::<PointCloud2>(),
        e::<PointField>(),
        e::<TransformStamped>(),
        e::<TFMessage>(),
        e::<LegacyTfMessage>(),
        e::<OccupancyGrid>(),
        e::<Marker>(),
        e::<MarkerArray>(),
        e::<DiagnosticArray>(),
    ]
}

#[test]
fn md5_and_definitions_equal_debian_packages() {
    let py = ros_python();
    if !require("ROS python", py.exists()) {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/msg_defs.py");
    let out = Command::new(&py).arg(script).output().expect("run python");
    if !require("genpy/genmsg message packages", out.status.success()) {
        return;
    }
    let peer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (dt, md5, def) in entries() {
        let p = &peer[dt];
        assert!(p.is_object(), "{dt}: the peer does not know it");
        assert_eq!(md5, p["md5"].as_str().unwrap(), "{dt}: md5sum");
        assert_eq!(def, p["definition"].as_str().unwrap(), "{dt}: definition");
    }
}

#[test]
fn tf_types_match_real_recordings() {
    // watercan.bag (a real robot) has /tf connections of both datatypes; their md5sums must equal ours.
    let bag = shared_data_dir().join("jsk_recognition_bags/jsk_pcl_ros/sample/data/watercan.bag");
    let py = ros_python();
    if !require("watercan.bag and ROS python", bag.exists() && py.exists()) {
        return;
    }
    let code = "import rosbag,sys,json\nb=rosbag.Bag(sys.argv[1])\n\
                print(json.dumps(sorted({(c.datatype,c.md5sum) for c in b._connections.values()})))";
    let out = Command::new(&py).arg("-c").arg(code).arg(&bag).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let conns: Vec<(String, String)> = serde_json::from_slice(&out.stdout).unwrap();
    let mut seen = 0;
    for (dt, md5, _) in entries() {
        for (cdt, cmd5) in &conns {
            if cdt == dt {
                assert_eq!(cmd5, md5, "{dt}");
                seen += 1;
            }
        }
    }
    assert!(
        seen >= 3,
        "expected tf/tfMessage, tf2_msgs/TFMessage and PointCloud2 connections, saw {conns:?}"
    );
}

#[test]
fn definitions_are_well_formed() {
    for (dt, md5, def) in entries() {
        assert_eq!(md5.len(), 32, "{dt}");
        assert!(md5.bytes().all(|b| b.is_ascii_hexdigit()), "{dt}");
        // Dependencies follow the main text, each introduced by a separator and `MSG: pkg/Name`.
        for part in def
            .split("\n================================================================================\n")
            .skip(1)
        {
            assert!(part.starts_with("MSG: "), "{dt}: dependency block {part:.40}");
        }
    }
    assert_eq!(TFMessage::MD5SUM, LegacyTfMessage::MD5SUM);
    assert_ne!(TFMessage::DATATYPE, LegacyTfMessage::DATATYPE);
}
