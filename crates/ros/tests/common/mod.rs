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
    crate_dir().join("sensorium_msgs/msg")
}

/// ROS_PACKAGE_PATH for roslaunch/rospack: the repository (the package `sensorium`), the message
/// package (rospack does not look inside another package) and Debian's packages.
pub fn ros_package_path() -> String {
    format!(
        "{}:{}:/usr/share",
        repo().display(),
        crate_dir().join("sensorium_msgs").display()
    )
}

pub fn peer_script() -> PathBuf {
    crate_dir().join("tests/python/ros_peer.py")
}

/// Does Debian's ROS python (genmsg, genpy, rospy) work here?
pub fn ros_python_ok() -> bool {
    Command::new(sensorium_core::testdata::ros_python())
        .args(["-c", "import genmsg, genpy, rospy, rosbag"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the peer script; returns its stdout (panics with stderr on failure).
pub fn peer(args: &[&str], pythonpath: Option<&std::path::Path>) -> String {
    let mut c = Command::new(sensorium_core::testdata::ros_python());
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
