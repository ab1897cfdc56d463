//! `sensorium node` started before its ROS master waits for it, as roscpp and rospy nodes do, registers
//! once Debian's `roscore` comes up on that port, publishes scenes that a user's `rostopic echo` decodes
//! with the shipped message module while `rosbag play` plays the sample, and on SIGTERM (what systemd
//! and roslaunch send) says goodbye on /diagnostics (STALE) and exits cleanly.

use sensorium_testkit::rosmaster::{wait_until, Killed, RosMaster};
use sensorium_testkit::testdata::{repo_root, require};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn node_started_before_the_master_waits_registers_and_stops_on_sigterm() {
    if !require("Debian ROS (roscore, rostopic)", RosMaster::available()) {
        return;
    }
    let home = tempfile::tempdir().expect("ROS_HOME");
    let mut ros = RosMaster::reserve(home.path()).expect("a free port");
    let log_path = home.path().join("node.log");
    let mut node = Killed::new(
        ros.command(env!("CARGO_BIN_EXE_sensorium"))
            .arg("node")
            .current_dir(repo_root())
            .env("SENSORIUM_CACHE_DIR", home.path().join("cache"))
            // the test machine is shared: frame sets wait for the pipeline instead of being dropped late
            .env("SENSORIUM__ENGINE__DEADLINE_MS", "2000")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log_path).expect("node log"))
            .spawn()
            .expect("starting sensorium node"),
        "sensorium node",
    );
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    // no master yet: the node says so and keeps waiting
    wait_until(
        "the node's 'failed to contact' line",
        Duration::from_secs(30),
        || log().contains("failed to contact the ROS master"),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        matches!(node.child.try_wait(), Ok(None)),
        "the node exited without a master instead of waiting:\n{}",
        log()
    );

    ros.start_now(Duration::from_secs(30)).expect("starting roscore");
    wait_until(
        "the node's registration with the new master",
        Duration::from_secs(120),
        || {
            ros.topic_info("/sensorium/scene").contains("/sensorium")
                && ros.topic_info("/lidar/points").contains("/sensorium")
        },
    );
    assert!(log().contains("the ROS master answers"), "{}", log());

    // a user's `rostopic echo`, with the shipped message module on PYTHONPATH as docs/ros.md says
    let msgs_py = repo_root().join("crates/msgs/sensorium_msgs/src");
    let pythonpath = match std::env::var("PYTHONPATH") {
        Ok(p) if !p.is_empty() => format!("{}:{p}", msgs_py.display()),
        _ => msgs_py.display().to_string(),
    };
    let mut echo = Killed::new(
        ros.command("rostopic")
            .args(["echo", "-n", "1", "--noarr", "/sensorium/scene"])
            .env("PYTHONPATH", pythonpath)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rostopic echo"),
        "rostopic echo",
    );
    wait_until("rostopic echo's subscription", Duration::from_secs(60), || {
        ros.topic_info("/sensorium/scene").contains("/rostopic_")
    });
    ros.play(&repo_root().join("tests/fixtures/sample.bag"));
    let t = Instant::now();
    while matches!(echo.child.try_wait(), Ok(None)) && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    // still waiting after a minute: stop it, so that its output can be read
    let _ = echo.child.kill();
    let _ = echo.child.wait();
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = echo.child.stdout.take() {
        let _ = std::io::Read::read_to_string(&mut o, &mut out);
    }
    if let Some(mut e) = echo.child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert!(
        out.contains("frame_id: \"base_link\"")
            && out.contains("modality_mask: ")
            && out.contains("occupancy: \"<array type: float32, length: 9216>\""),
        "rostopic echo /sensorium/scene printed {out:?}, stderr {err:?}\nnode log:\n{}",
        log()
    );

    // a monitor on /diagnostics, to see the node's goodbye
    let diag_out = home.path().join("diagnostics.txt");
    let mut diag = Killed::new(
        ros.command("rostopic")
            .args(["echo", "/diagnostics"])
            .env("PYTHONUNBUFFERED", "1")
            .stdout(std::fs::File::create(&diag_out).expect("diagnostics file"))
            .stderr(Stdio::null())
            .spawn()
            .expect("rostopic echo /diagnostics"),
        "rostopic echo /diagnostics",
    );
    wait_until(
        "the /diagnostics monitor's subscription",
        Duration::from_secs(60),
        || ros.topic_info("/diagnostics").contains("/rostopic_"),
    );

    // SIGTERM: the node says goodbye on /diagnostics, unregisters and exits with status 0
    let t = Instant::now();
    Command::new("kill")
        .args(["-TERM", &node.id().to_string()])
        .status()
        .expect("kill -TERM");
    let status = loop {
        if let Ok(Some(s)) = node.child.try_wait() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "node still running 10 s after SIGTERM:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit {status:?} after SIGTERM:\n{}", log());
    let goodbye = || std::fs::read_to_string(&diag_out).unwrap_or_default();
    wait_until("the goodbye on /diagnostics", Duration::from_secs(10), || {
        goodbye().contains("stopped (SIGINT/SIGTERM)")
    });
    let _ = diag.child.kill();
    let text = goodbye();
    let last = text.rsplit("stopped (SIGINT/SIGTERM)").nth(1).unwrap_or_default();
    assert!(
        last.rsplit("level: ").next().is_some_and(|l| l.starts_with('3')),
        "the goodbye is not STALE (level 3): {}",
        &text[text.len().saturating_sub(600)..]
    );
    // the run report on stdout
    let report = sensorium_testkit::rosnode::read_report(&mut node);
    let scenes = sensorium_testkit::rosnode::report_value(&report, "scenes");
    assert!(
        scenes >= 1.0 && report.contains("latency_p99_ms="),
        "the node's report on exit:\n{report}\n{}",
        log()
    );
    wait_until("the node's unregistration", Duration::from_secs(10), || {
        let nodes = ros
            .command("rosnode")
            .arg("list")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        nodes.contains("/rosout") && !nodes.lines().any(|l| l.trim() == "/sensorium")
    });
}
