//! `roslaunch launch/replay.launch bag:=...` runs the node on a recording with simulated time.
//!
//! roslaunch needs a ROS package `sensorium` with a `sensorium` executable: the test makes one in a
//! temporary folder (package.xml + a script running the example node binary) and puts it first on
//! ROS_PACKAGE_PATH, next to Debian's packages under /usr/share.

mod common;

use sensorium_core::testdata::require;
use std::process::Command;

#[test]
fn replay_launch_runs_the_node_on_the_sample() {
    let repo = common::repo();
    let models = repo.join("models");
    let bag = repo.join("tests/fixtures/sample.bag");
    let have_roslaunch = Command::new("roslaunch").arg("--help").output().is_ok();
    if !require(
        "Debian ROS (roslaunch, rosbag)",
        have_roslaunch && common::ros_python_ok(),
    ) || !require(
        "models/ and tests/fixtures/sample.bag",
        models.is_dir() && bag.is_file(),
    ) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let pkg = tmp.path().join("pkgs/sensorium");
    std::fs::create_dir_all(&pkg).expect("package folder");
    std::fs::write(
        pkg.join("package.xml"),
        "<?xml version=\"1.0\"?>\n<package format=\"2\"><name>sensorium</name><version>0.1.0</version>\
         <description>test package</description><maintainer email=\"x@example.invalid\">x</maintainer>\
         <license>Apache-2.0</license></package>\n",
    )
    .expect("package.xml");
    let script = pkg.join("sensorium");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nexec {} \"$@\"\n", common::example_binary().display()),
    )
    .expect("node script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let home = tmp.path().join("ros_home");
    let out = Command::new("timeout")
        .args(["-s", "INT", "120", "roslaunch", "-p", &port.to_string()])
        .arg(repo.join("launch/replay.launch"))
        .arg(format!("bag:={}", bag.display()))
        .arg(format!("models:={}", models.display()))
        .env("ROS_MASTER_URI", format!("http://127.0.0.1:{port}"))
        .env("ROS_HOSTNAME", "localhost")
        .env("ROS_HOME", &home)
        .env("ROS_LOG_DIR", home.join("log"))
        .env(
            "ROS_PACKAGE_PATH",
            format!("{}:/usr/share", tmp.path().join("pkgs").display()),
        )
        .output()
        .expect("running roslaunch");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let scenes: u64 = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("scenes="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no node report in roslaunch output:\n{stdout}\n{stderr}"));
    println!("replay.launch: {scenes} scenes from the sample (50 LiDAR sweeps)");
    assert!(scenes >= 25, "{scenes} scenes\n{stdout}");
    assert!(
        stdout.contains("received_tf_static=1"),
        "the node read /tf_static from the bag:\n{stdout}"
    );
}
