//! `sensorium replay --record` on the bundled sample: the bag of what was published, read back by rosbag
//! (info, and played to a live master), and closed with what was read when SIGINT stops the replay.

use serde_json::Value;
use std::process::Command;

mod common;
use common::{replay, repo, scenes};

#[test]
fn record_writes_what_is_published_readable_by_rosbag() {
    let out = tempfile::tempdir().expect("tmp");
    let rec = out.path().join("published.bag");
    replay(
        &[
            "--max-frames",
            "6",
            "--render",
            "none",
            "--record",
            rec.to_str().unwrap_or_default(),
        ],
        out.path(),
    );
    let py = sensorium_testkit::testdata::ros_python();
    if !sensorium_testkit::testdata::require("Debian python3-rosbag", py.exists()) {
        return;
    }
    let script = r#"
import sys, rosbag
from nav_msgs.msg import OccupancyGrid
b = rosbag.Bag(sys.argv[1])
n = 0
for topic, msg, t in b.read_messages(topics=['/sensorium/occupancy']):
    assert msg.info.width == 96 and msg.info.height == 96, (msg.info.width, msg.info.height)
    assert len(msg.data) == 96 * 96 and msg.header.frame_id == 'base_link'
    assert max(msg.data) > 50, max(msg.data)
    n += 1
print(n, b.get_message_count())
"#;
    let home = tempfile::tempdir().expect("tmp");
    let o = Command::new(&py)
        .arg("-c")
        .arg(script)
        .arg(&rec)
        .env("ROS_HOME", home.path())
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "6 24");
    let info = Command::new("rosbag")
        .arg("info")
        .arg(&rec)
        .env("ROS_HOME", home.path())
        .output()
        .expect("rosbag info");
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success() && text.contains("nav_msgs/OccupancyGrid") && text.contains("lz4"),
        "{text}"
    );

    // `rosbag play` publishes every recorded message to a live master; a rospy subscriber (AnyMsg: no
    // message classes needed) on each recorded topic counts them against the bag's own counts.
    use sensorium_testkit::rosmaster::{Killed, RosMaster};
    use std::io::{BufRead, BufReader};
    use std::time::Duration;
    if !sensorium_testkit::testdata::require("Debian roscore", RosMaster::available()) {
        return;
    }
    let ros = RosMaster::start(&home.path().join("master"), Duration::from_secs(30)).expect("roscore");
    let counter = r#"
import json, sys, time, rosbag, rospy
b = rosbag.Bag(sys.argv[1])
expected = {t: i.message_count for t, i in b.get_type_and_topic_info().topics.items()}
b.close()
rospy.init_node('play_counter', anonymous=True, disable_signals=True)
got = {t: 0 for t in expected}
def counter(t):
    def cb(_m):
        got[t] += 1
    return cb
subs = [rospy.Subscriber(t, rospy.AnyMsg, counter(t), queue_size=1000) for t in expected]
print('ready', flush=True)
end = time.time() + float(sys.argv[2])
while time.time() < end and got != expected:
    time.sleep(0.05)
print(json.dumps({'expected': expected, 'got': got}), flush=True)
"#;
    let mut listener = Killed::new(
        ros.command(&py)
            .arg("-c")
            .arg(counter)
            .arg(&rec)
            .arg("60")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the counting subscriber"),
        "counter",
    );
    let mut lines = BufReader::new(listener.child.stdout.take().expect("stdout")).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(ready, "ready");
    // -d 2: wait after advertising so the subscriber connects before the first message goes out
    let play = ros
        .command("rosbag")
        .args(["play", "-q", "-d", "2", "-r", "4"])
        .arg(&rec)
        .output()
        .expect("rosbag play");
    assert!(
        play.status.success(),
        "rosbag play failed: {}{}",
        String::from_utf8_lossy(&play.stdout),
        String::from_utf8_lossy(&play.stderr)
    );
    let result: Value = lines
        .map_while(Result::ok)
        .find_map(|l| serde_json::from_str(&l).ok())
        .expect("the subscriber's counts");
    eprintln!("rosbag play of the recording: {result}");
    let expected = result["expected"].as_object().expect("expected counts");
    assert!(expected.len() >= 3, "topics recorded: {expected:?}");
    for topic in ["/sensorium/scene", "/sensorium/occupancy", "/sensorium/markers"] {
        assert!(expected.contains_key(topic), "{topic} not recorded: {expected:?}");
    }
    assert_eq!(result["got"], result["expected"], "messages played vs recorded");
}

/// SIGINT (Ctrl-C) halfway through a real-time replay with `--record`: exit 130, the sets read so far
/// are fused and written, the recorded bag is closed (indexed: `rosbag` reads it without `reindex`) and
/// holds one scene per fused set, and the summary says it was interrupted.
#[test]
fn sigint_closes_the_recording_and_writes_what_was_read() {
    let out = tempfile::tempdir().expect("tmp");
    let rec = out.path().join("published.bag");
    let summary = out.path().join("summary.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sensorium"))
        .args(["replay", "--quiet", "--rate", "1", "--render", "none", "--record"])
        .arg(&rec)
        .arg("--out")
        .arg(out.path())
        .arg("--summary-json")
        .arg(&summary)
        .current_dir(repo())
        .env("SENSORIUM_CACHE_DIR", out.path().join("cache"))
        // the test machine is shared: sets wait for the pipeline instead of being dropped late
        .env("SENSORIUM__ENGINE__DEADLINE_MS", "5000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sensorium replay");
    // the sample is 5 s long: the signal comes about halfway, once the recording is open
    let t = std::time::Instant::now();
    while !rec.exists() && t.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(
        matches!(child.try_wait(), Ok(None)),
        "the replay ended before the signal"
    );
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(killed.success());
    let o = child.wait_with_output().expect("replay output");
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary written"))
        .expect("summary is JSON");
    assert_eq!(s["interrupted"], true, "{s}");
    let fused = s["framesets_fused"].as_u64().expect("framesets_fused");
    let sweeps = s["received"]["lidar"].as_u64().unwrap_or(0);
    assert!(
        fused >= 5 && sweeps < 45,
        "{fused} sets fused of {sweeps} sweeps read: {s}"
    );
    assert_eq!(scenes(out.path()).len() as u64, fused);
    let py = sensorium_testkit::testdata::ros_python();
    if !sensorium_testkit::testdata::require("Debian python3-rosbag", py.exists()) {
        return;
    }
    let home = tempfile::tempdir().expect("tmp");
    let o = Command::new(&py)
        .arg("-c")
        .arg("import sys, rosbag\nb = rosbag.Bag(sys.argv[1])\nprint(b.get_message_count('/sensorium/scene'), b.get_message_count('/sensorium/occupancy'))")
        .arg(&rec)
        .env("ROS_HOME", home.path())
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("{fused} {fused}")
    );
}
