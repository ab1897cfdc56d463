//! The rospy listener the node tests subscribe with (`crates/ros/tests/python/ros_peer.py listen`): it
//! records what the node publishes on `/sensorium/...` and `/diagnostics` and prints one JSON summary.

use crate::rosmaster::{Killed, RosMaster};
use crate::testdata::{repo_root, ros_python};
use std::io::BufRead;
use std::path::Path;
use std::process::Stdio;

pub type Lines = std::io::Lines<std::io::BufReader<std::process::ChildStdout>>;

/// `ros_peer.py listen SECONDS /sensorium` with `pythonpath` holding the `sensorium_msgs` module (with
/// `~painted_points` when `painted`), returned once it is subscribed.
pub fn start_listener(ros: &RosMaster, pythonpath: &Path, seconds: f64, painted: bool) -> (Killed, Lines) {
    let mut listener = Killed::new(
        ros.command(ros_python())
            .arg(repo_root().join("crates/ros/tests/python/ros_peer.py"))
            .args(["listen", &format!("{seconds}"), "/sensorium"])
            .env("PYTHONPATH", pythonpath)
            .env("SENSORIUM_LISTEN_PAINTED", if painted { "1" } else { "0" })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the listener"),
        "listener",
    );
    let mut lines = std::io::BufReader::new(listener.child.stdout.take().expect("listener stdout")).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(ready.contains("ready"), "listener: {ready:?}");
    (listener, lines)
}

/// The listener's summary (its JSON line with `scenes`); `None` when it ended without one.
pub fn listener_summary(lines: Lines) -> Option<serde_json::Value> {
    lines.map_while(Result::ok).find_map(|l| {
        serde_json::from_str::<serde_json::Value>(&l)
            .ok()
            .filter(|v| v.get("scenes").is_some())
    })
}
