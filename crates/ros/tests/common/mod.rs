//! Helpers shared by the sensorium-ros integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The repository root, resolved through symlinks (the crate may be built from another workspace).
pub fn repo() -> PathBuf {
    let here = std::fs::canonicalize(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    here.join("../..")
}

pub fn crate_dir() -> PathBuf {
    repo().join("crates/ros")
}

pub fn msg_dir() -> PathBuf {
    repo().join("crates/msgs/sensorium_msgs/msg")
}

/// ROS_PACKAGE_PATH for roslaunch/rospack: the repository (the package `sensorium`), the message
/// package (rospack does not look inside another package) and Debian's packages.
pub fn ros_package_path() -> String {
    format!(
        "{}:{}:/usr/share",
        repo().display(),
        repo().join("crates/msgs/sensorium_msgs").display()
    )
}

pub fn peer_script() -> PathBuf {
    crate_dir().join("tests/python/ros_peer.py")
}

/// Does Debian's ROS python (genmsg, genpy, rospy) work here?
pub fn ros_python_ok() -> bool {
    Command::new(sensorium_testkit::testdata::ros_python())
        .args(["-c", "import genmsg, genpy, rospy, rosbag"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the peer script; returns its stdout (panics with stderr on failure).
pub fn peer(args: &[&str], pythonpath: Option<&std::path::Path>) -> String {
    let mut c = Command::new(sensorium_testkit::testdata::ros_python());
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

/// The example node binary (`cargo test` builds the examples): target/<profile>/examples/node.
pub fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(std::path::Path::parent)
        .map(|p| p.join("examples/node"))
        .expect("target folder")
}

/// The generated Python class of `sensorium_msgs/Scene` under `home/genpy` (PYTHONPATH for listeners).
pub fn genpy(home: &std::path::Path) -> PathBuf {
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

/// The example node as `sensorium` with the models in `models`: report on stdout (piped), log to `log`.
pub fn start_node(
    ros: &sensorium_testkit::rosmaster::RosMaster,
    models: &std::path::Path,
    log: &std::path::Path,
    envs: &[(&str, &str)],
) -> sensorium_testkit::rosmaster::Killed {
    sensorium_testkit::rosmaster::Killed::new(
        ros.command(example_binary())
            .arg(models)
            .arg("sensorium")
            .envs(envs.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(log).expect("node log"))
            .spawn()
            .expect("starting the node"),
        "node",
    )
}

/// Waits (≤ 120 s) until the node subscribes to the LiDAR topic.
pub fn wait_subscribed(ros: &sensorium_testkit::rosmaster::RosMaster) {
    let t = std::time::Instant::now();
    while !ros.topic_info("/lidar/points").contains("/sensorium") {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(120),
            "the node did not subscribe to /lidar/points"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

// each test binary uses part of this module
#[allow(unused_imports)]
pub use sensorium_testkit::listener::{start_listener, Lines};

/// The listener's summary (its JSON line with `scenes`).
pub fn listener_summary(lines: Lines) -> serde_json::Value {
    sensorium_testkit::listener::listener_summary(lines).expect("listener summary")
}

/// SIGINT to the node; waits for it (≤ 5 s). Returns its exit status, the seconds it took, its report.
pub fn stop_node(node: &mut sensorium_testkit::rosmaster::Killed) -> (std::process::ExitStatus, f64, String) {
    use std::io::Read;
    let t = std::time::Instant::now();
    node.interrupt();
    let status = loop {
        if let Ok(Some(s)) = node.child.try_wait() {
            break s;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "node still running 5 s after SIGINT"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let exit_s = t.elapsed().as_secs_f64();
    let mut report = String::new();
    if let Some(mut out) = node.child.stdout.take() {
        let _ = out.read_to_string(&mut report);
    }
    (status, exit_s, report)
}

/// A `key=value` figure of the node report (0 when absent).
pub fn report_value(report: &str, key: &str) -> f64 {
    report
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
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
