//! `sensorium node` under test: the ROS Python peer (`crates/ros/tests/python/ros_peer.py`: genpy,
//! md5, play, decode), starting the node against a private master, stopping it with SIGINT and
//! reading the run report it prints on exit.

use crate::rosmaster::{Killed, RosMaster};
use crate::testdata::{repo_root, ros_python};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The ROS message package's `msg/` folder (`sensorium_msgs/Scene.msg`).
pub fn msg_dir() -> PathBuf {
    repo_root().join("crates/msgs/sensorium_msgs/msg")
}

/// ROS_PACKAGE_PATH for roslaunch/rospack: the repository (the package `sensorium`), the message
/// package (rospack does not look inside another package) and Debian's packages.
pub fn ros_package_path() -> String {
    format!(
        "{}:{}:/usr/share",
        repo_root().display(),
        repo_root().join("crates/msgs/sensorium_msgs").display()
    )
}

/// The ROS Python peer script.
pub fn peer_script() -> PathBuf {
    repo_root().join("crates/ros/tests/python/ros_peer.py")
}

/// Does Debian's ROS python (genmsg, genpy, rospy, rosbag) work here?
pub fn ros_python_ok() -> bool {
    Command::new(ros_python())
        .args(["-c", "import genmsg, genpy, rospy, rosbag"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the peer script; returns its stdout (panics with its stderr on failure).
pub fn peer(args: &[&str], pythonpath: Option<&Path>) -> String {
    let mut c = Command::new(ros_python());
    c.arg(peer_script()).args(args);
    if let Some(p) = pythonpath {
        c.env("PYTHONPATH", p);
    }
    let out = c.output().expect("running the ROS python peer");
    assert!(
        out.status.success(),
        "ros_peer.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The generated Python class of `sensorium_msgs/Scene` under `home/genpy` (PYTHONPATH for listeners).
pub fn genpy(home: &Path) -> PathBuf {
    let gen = home.join("genpy");
    peer(
        &[
            "genpy",
            msg_dir().to_str().expect("utf-8 path"),
            gen.to_str().expect("utf-8 path"),
        ],
        None,
    );
    gen
}

/// `BIN node ARGS...` registered as `/sensorium` on `ros`: the report on stdout (piped), the log to `log`.
pub fn start_node(ros: &RosMaster, bin: &Path, args: &[&str], log: &Path, envs: &[(&str, &str)]) -> Killed {
    Killed::new(
        ros.command(bin)
            .arg("node")
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("node log"))
            .spawn()
            .expect("starting the node"),
        "node",
    )
}

/// Waits (≤ 120 s) until the node subscribes to the LiDAR topic.
pub fn wait_subscribed(ros: &RosMaster) {
    crate::rosmaster::wait_until(
        "the node's /lidar/points subscription",
        Duration::from_secs(120),
        || ros.topic_info("/lidar/points").contains("/sensorium"),
    );
}

/// SIGINT to the node; waits for it (≤ 5 s). Returns its exit status, the seconds it took and its
/// report (stdout).
pub fn stop_node(node: &mut Killed) -> (ExitStatus, f64, String) {
    let t = Instant::now();
    node.interrupt();
    let status = loop {
        if let Ok(Some(s)) = node.child.try_wait() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "node still running 5 s after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let exit_s = t.elapsed().as_secs_f64();
    (status, exit_s, read_report(node))
}

/// The run report the exited node printed on its (piped) stdout; empty when none.
pub fn read_report(node: &mut Killed) -> String {
    let mut report = String::new();
    if let Some(mut out) = node.child.stdout.take() {
        let _ = out.read_to_string(&mut report);
    }
    report
}

/// The JSON event lines a peer (`ros_peer.py play`/`flood`) printed: `{"event": NAME, "t": SECONDS, ...}`.
pub fn peer_events(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The time (`t`) of the peer event `name`; panics naming it when the peer did not print it.
pub fn event_time(events: &[serde_json::Value], name: &str) -> f64 {
    events
        .iter()
        .find(|e| e["event"] == name)
        .and_then(|e| e["t"].as_f64())
        .unwrap_or_else(|| panic!("peer event {name} missing: {events:?}"))
}

/// A `key=value` figure of the node report (0 when absent).
pub fn report_value(report: &str, key: &str) -> f64 {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Resident memory of a process (kB).
pub fn rss_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}
