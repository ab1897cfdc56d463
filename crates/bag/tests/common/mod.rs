//! Shared helpers for the integration tests: the real bags, the python peer, message digests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use md5::{Digest, Md5};
use sensorium_bag::{BagReader, ReadOptions};
use sensorium_testkit::testdata::{require, ros_python, shared_data_dir};

/// (topic, record time in ns, md5 of the payload).
pub type Rec = (String, u64, String);

pub fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Every real bag in the shared data folder (None when the folder is missing and peers are optional).
pub fn real_bags() -> Option<Vec<PathBuf>> {
    let root = shared_data_dir();
    if !require(&format!("shared data at {}", root.display()), root.is_dir()) {
        return None;
    }
    let dirs = [
        "rosbag.js_fixtures/fixtures",
        "robot_localization_test_bags/test",
        "jsk_recognition_bags/jsk_pcl_ros/sample/data",
        "derived_bags",
    ];
    let mut bags = Vec::new();
    for d in dirs {
        let dir = root.join(d);
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "bag") {
                bags.push(p);
            }
        }
    }
    bags.sort();
    assert!(
        bags.len() >= 13,
        "expected the 13 bags listed in the data README, found {}",
        bags.len()
    );
    Some(bags)
}

pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = shared_data_dir().join(rel);
    require(&format!("{}", p.display()), p.is_file()).then_some(p)
}

pub fn python_available() -> bool {
    let ok = Command::new(ros_python())
        .args(["-c", "import rosbag"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    require("python3 with Debian's rosbag module", ok)
}

/// What python's rosbag reports for a bag (see tests/python/bag_summary.py).
pub struct PySummary {
    pub messages: u64,
    pub start_ns: Option<u64>,
    pub end_ns: Option<u64>,
    pub connections: Vec<(u32, String, String, String)>,
    pub records: Vec<Rec>,
    /// lz4 chunks roslz4 could not decode (handed to the reference `lz4` tool instead).
    pub lz4_fallbacks: u64,
}

pub fn py_summary(bag: &Path, reindex: bool) -> PySummary {
    try_py_summary(bag, reindex).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`py_summary`], but python's failure is an `Err` with its stderr.
pub fn try_py_summary(bag: &Path, reindex: bool) -> Result<PySummary, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/bag_summary.py");
    let mut cmd = Command::new(ros_python());
    cmd.arg(&script).arg(bag);
    if reindex {
        cmd.arg("--reindex");
    }
    let ros_home = tempfile::tempdir().unwrap();
    let out = cmd
        .env("ROS_HOME", ros_home.path())
        .output()
        .expect("running python");
    if !out.status.success() {
        return Err(format!(
            "python rosbag failed on {}: {}",
            bag.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python JSON");
    let records = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_u64().unwrap(),
                r[2].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let connections = v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_u64().unwrap() as u32,
                c["topic"].as_str().unwrap().to_string(),
                c["datatype"].as_str().unwrap().to_string(),
                c["md5sum"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    Ok(PySummary {
        messages: v["messages"].as_u64().unwrap(),
        start_ns: v["start_ns"].as_u64(),
        end_ns: v["end_ns"].as_u64(),
        connections,
        records,
        lz4_fallbacks: v["lz4_fallbacks"].as_u64().unwrap_or(0),
    })
}

/// All messages of a bag through sensorium, in our order, asserting the order is by record time.
pub fn our_records(reader: &BagReader, opts: &ReadOptions) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut last = 0u64;
    for m in reader.messages(opts) {
        let m = m.unwrap_or_else(|e| panic!("{}: {e}", reader.path().display()));
        let t = m.time.as_nanos();
        assert!(
            t >= last,
            "{}: messages out of time order ({t} after {last})",
            reader.path().display()
        );
        last = t;
        out.push((m.conn.topic.clone(), t, md5_hex(&m.data)));
    }
    out
}

pub fn sorted(mut v: Vec<Rec>) -> Vec<Rec> {
    v.sort();
    v
}

pub fn ros_env(cmd: &mut Command, ros_home: &Path) {
    cmd.env("ROS_HOME", ros_home)
        .env("ROS_LOG_DIR", ros_home)
        .env("TZ", "UTC");
}
