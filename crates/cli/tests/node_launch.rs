//! `roslaunch launch/replay.launch bag:=...` runs the node on a recording with simulated time.
//!
//! The repository is the ROS package `sensorium` (package.xml at its root); roslaunch finds the node
//! type `sensorium_node` (scripts/sensorium_node), which runs the binary named by `SENSORIUM_BIN` — here
//! the `sensorium` binary that `cargo test` builds. ROS_PACKAGE_PATH: the repository, the message
//! package and Debian's packages under /usr/share.

use sensorium_testkit::rosmaster::{Killed, RosMaster};
use sensorium_testkit::rosnode;
use sensorium_testkit::testdata::{repo_root, require};
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn replay_launch_runs_the_node_on_the_sample() {
    let repo = repo_root();
    let models = repo.join("models");
    let bag = repo.join("tests/fixtures/sample.bag");
    let have_roslaunch = Command::new("roslaunch").arg("--help").output().is_ok();
    if !require(
        "Debian ROS (roslaunch, rosbag)",
        have_roslaunch && rosnode::ros_python_ok(),
    ) || !require(
        "models/ and tests/fixtures/sample.bag",
        models.is_dir() && bag.is_file(),
    ) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
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
        .env("ROS_PACKAGE_PATH", rosnode::ros_package_path())
        .env(
            "SENSORIUM_BIN",
            std::path::Path::new(env!("CARGO_BIN_EXE_sensorium")),
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

/// rosrust cannot re-register with a restarted master: the node notices the new `/run_id`, exits with
/// status 3, and roslaunch (`respawn` on in sensorium.launch) starts it again, registered with the new
/// master. roslaunch runs against an existing master here (as on a vehicle whose roscore is a service).
#[test]
fn node_exits_on_a_master_restart_and_roslaunch_respawns_it() {
    let repo = repo_root();
    let models = repo.join("models");
    if !require(
        "Debian ROS (roscore, roslaunch)",
        RosMaster::available() && rosnode::ros_python_ok(),
    ) || !require("models/", models.is_dir())
    {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut ros = RosMaster::start(&tmp.path().join("ros"), Duration::from_secs(30)).expect("roscore");
    let log_path = tmp.path().join("roslaunch.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let _launch = Killed::new(
        ros.command("roslaunch")
            .args(["--wait", "sensorium", "sensorium.launch"])
            .arg(format!("models:={}", models.display()))
            .env("ROS_PACKAGE_PATH", rosnode::ros_package_path())
            .env(
                "SENSORIUM_BIN",
                std::path::Path::new(env!("CARGO_BIN_EXE_sensorium")),
            )
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("starting roslaunch"),
        "roslaunch",
    );
    let registered = |ros: &RosMaster, timeout: Duration| -> bool {
        let t = Instant::now();
        while t.elapsed() < timeout {
            if ros
                .topic_info("/sensorium/scene")
                .contains("sensorium_msgs/Scene")
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        false
    };
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        registered(&ros, Duration::from_secs(120)),
        "the node never advertised ~scene:\n{}",
        read_log()
    );
    let t_restart = Instant::now();
    ros.restart(Duration::from_secs(30)).expect("restarting roscore");
    assert!(
        registered(&ros, Duration::from_secs(120)),
        "the node is not registered with the new master:\n{}",
        read_log()
    );
    let back_s = t_restart.elapsed().as_secs_f64();
    let log = read_log();
    println!("node registered with the restarted master {back_s:.1} s after the restart");
    assert!(
        log.contains("exit code 3"),
        "the node exits with status 3 on a master restart:\n{log}"
    );
    assert!(
        log.contains("restarting process"),
        "roslaunch respawned the node:\n{log}"
    );
}
