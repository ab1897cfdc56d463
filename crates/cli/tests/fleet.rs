//! The fleet runner (`tools/fleet`, Python on Ray) end to end against this build's `sensorium`: its
//! pytest suite on local Ray with two CPUs — a dozen simulated recordings and a damaged one, an
//! interrupted run resumed, a worker killed mid-replay and retried, summaries equal to serial
//! replays, a rerun with a baseline and worse models listing the regressions, and the HTML report
//! checked in headless Chromium. Bounded: the suite is stopped (and fails) past its time limit.

use sensorium_testkit::testdata::{repo_root, require, venv_python};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The whole suite takes 2 to 5 minutes on two cores with a debug build.
const LIMIT: Duration = Duration::from_secs(900);

#[test]
fn fleet_runner_on_local_ray() {
    let py = venv_python();
    let ready = py.exists()
        && Command::new(&py)
            .args(["-c", "import ray, pytest, onnx, sensorium_fleet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !require(
        "the project venv with ray, pytest, onnx and sensorium_fleet (scripts/setup-venv.sh)",
        ready,
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let log_path = dir.path().join("pytest.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut child = {
        use std::os::unix::process::CommandExt;
        Command::new(&py)
            .args([
                "-m",
                "pytest",
                "tools/fleet/tests",
                "-x",
                "-q",
                "-p",
                "no:cacheprovider",
                "--basetemp",
            ])
            .arg(dir.path().join("pytest"))
            .current_dir(repo_root())
            .env("SENSORIUM_BIN", env!("CARGO_BIN_EXE_sensorium"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            // its own process group: on the time limit, Ray's processes go with it
            .process_group(0)
            .spawn()
            .expect("run pytest")
    };
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if t0.elapsed() > LIMIT {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = std::fs::read_to_string(&log_path).unwrap_or_default();
    println!("{out}");
    println!("fleet suite: {:.0} s", t0.elapsed().as_secs_f64());
    let status =
        status.unwrap_or_else(|| panic!("the fleet suite ran past its {LIMIT:?} limit and was stopped"));
    assert!(status.success(), "fleet suite failed ({status})");
    assert!(
        !out.contains(" skipped") || !sensorium_testkit::testdata::peers_required(),
        "a fleet test was skipped while peers are required:\n{out}"
    );
}
