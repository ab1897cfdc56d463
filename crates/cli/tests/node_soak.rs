//! Soak: the node on the sample played in a loop by Debian's `rosbag play -l` for
//! `SENSORIUM_SOAK_SECONDS` (300 in the test command; the documented long run is 1800). Checked: the
//! node stays up; resident memory after warm-up (median of the first vs the last tenth) does not grow by
//! more than 5 %, or ends within 1 % of the peak of the first half after warm-up; the latency p90 of the
//! last fifth of the run is not above the first fifth's (within noise); every frame set the node formed
//! is accounted for (scenes + drops by reason = frame sets).

use sensorium_testkit::listener::{listener_summary, start_listener};
use sensorium_testkit::rosmaster::{Killed as Proc, RosMaster};
use sensorium_testkit::rosnode;
use sensorium_testkit::rosnode::{report_value, rss_kb};
use sensorium_testkit::testdata::{repo_root, require};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len().max(1) - 1) as f64 * q).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

#[test]
fn node_soak_keeps_memory_latency_and_accounting() {
    let repo = repo_root();
    let models = repo.join("models");
    let bag = repo.join("tests/fixtures/sample.bag");
    if !require(
        "Debian ROS (roscore, rosbag, rospy, genpy)",
        RosMaster::available() && rosnode::ros_python_ok(),
    ) || !require(
        "models/ and tests/fixtures/sample.bag",
        models.is_dir() && bag.is_file(),
    ) {
        return;
    }
    let seconds: u64 = std::env::var("SENSORIUM_SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let home = tempfile::tempdir().expect("ROS_HOME");
    let home = home.path();
    let ros = RosMaster::start(home, Duration::from_secs(30)).expect("roscore");
    let gen = rosnode::genpy(home);
    let mut node = rosnode::start_node(
        &ros,
        std::path::Path::new(env!("CARGO_BIN_EXE_sensorium")),
        &["--models", models.to_str().expect("utf-8 path")],
        &home.join("node.log"),
        &[],
    );
    rosnode::wait_subscribed(&ros);
    let (listener, lines) = start_listener(&ros, &gen, seconds as f64 + 5.0, false);
    let _play = Proc::new(
        ros.command("rosbag")
            .args(["play", "-l", "-q"])
            .arg(&bag)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rosbag play"),
        "rosbag play",
    );
    let pid = node.id();
    let t0 = Instant::now();
    let mut rss = Vec::new();
    while t0.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(1));
        let kb = rss_kb(pid).unwrap_or_else(|| panic!("the node exited during the soak"));
        rss.push((t0.elapsed().as_secs_f64(), kb));
    }
    let summary = listener_summary(lines).expect("listener summary");
    drop(listener);
    let (status, _, report) = rosnode::stop_node(&mut node);
    assert!(status.success(), "node exit {status:?}");
    let get = |k: &str| report_value(&report, k) as u64;

    // memory: a leak is growth that goes on, not the steps glibc's allocator takes while its arenas and
    // mmap threshold settle (CI saw +3.3 MB at 33 s, then flat to the end; one CI run rose in steps of up
    // to 6 MB until 82 s, then stayed flat: +5.95 % over a 30-s warm-up of a 120-s run, while a 300-s run
    // measured +0.17 %). 300 s by default: the 75-s warm-up outlasts that settling,
    // and the check gets more sensitive, not less: the two windows' middles are 195 s apart (78 s at 120 s),
    // so ~1 MB/min of growth on ~63 MB exceeds 5 % (2.4 MB/min at 120 s).
    // Warm-up: a quarter of the run (at least 30 s); then the median RSS of the first and the last tenth of
    // the run are compared, and the least-squares slope over what follows the warm-up is printed (KB/min)
    // for the long documented run.
    let warm = (seconds as f64 / 4.0).max(30.0);
    let steady: Vec<(f64, f64)> = rss
        .iter()
        .filter(|(t, _)| *t >= warm)
        .map(|(t, kb)| (*t, *kb as f64))
        .collect();
    assert!(
        steady.len() >= 10,
        "the soak needs at least {} s to measure memory after warm-up (SENSORIUM_SOAK_SECONDS={seconds})",
        warm as u64 + 10
    );
    let median = |v: &[(f64, f64)]| {
        let mut v: Vec<f64> = v.iter().map(|(_, kb)| *kb).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let k = (rss.len() / 10).clamp(5, steady.len() / 2);
    let first = median(&steady[..k]);
    let last = median(&steady[steady.len() - k..]);
    let growth = (last - first) / first.max(1.0) * 100.0;
    // growth that goes on leaves the last tenth above everything the first half of the steady period
    // reached; settling that outlasts the warm-up does not (one CI run: swings of 56-69 MB until
    // 166 s, then flat at 68.9 MB to 300 s: +9.3 % first to last tenth, -1 % over the first half's peak;
    // ~1 MB/min of steady growth is ~+2.5 % over that peak, and ~+5 % first to last tenth)
    let half_peak = steady[..steady.len() / 2]
        .iter()
        .map(|(_, kb)| *kb)
        .fold(0.0, f64::max);
    let over_peak = (last - half_peak) / half_peak.max(1.0) * 100.0;
    let slope_kb_min = {
        let n = steady.len() as f64;
        let (mt, mk) = steady
            .iter()
            .fold((0.0, 0.0), |(a, b), (t, kb)| (a + t / n, b + kb / n));
        let (sxy, sxx) = steady.iter().fold((0.0, 0.0), |(a, b), (t, kb)| {
            (a + (t - mt) * (kb - mk), b + (t - mt) * (t - mt))
        });
        sxy / sxx.max(1e-9) * 60.0
    };
    // latency (received -> published, from each scene): first vs last fifth of the scenes
    let scenes = summary["scenes"].as_array().expect("scenes");
    let lat: Vec<f64> = scenes
        .iter()
        .filter_map(|s| s["end_to_end_ms"].as_f64())
        .collect();
    let fifth = (lat.len() / 5).max(1);
    let (mut a, mut b) = (
        lat[..fifth.min(lat.len())].to_vec(),
        lat[lat.len().saturating_sub(fifth)..].to_vec(),
    );
    // the check is on p90: a slowdown that builds up (a leak, a queue that keeps growing) moves the
    // whole tail, while p99 of a fifth (~240 scenes: its 3rd-worst) is one outside burst on this 2-core
    // machine that also runs roscore, rosbag play and the Python listener (one run had 25
    // late sets in its last fifth, p99 117 -> 304 ms; the rerun 82 -> 118 ms, no drop). p99 is printed.
    let (q_first, q_last) = (quantile(&mut a, 0.9), quantile(&mut b, 0.9));
    let (p_first, p_last) = (quantile(&mut a, 0.99), quantile(&mut b, 0.99));
    let framesets = get("framesets");
    let fused = get("scenes");
    let set_drops = get("dropped_late") + get("dropped_pipeline_error");
    println!(
        "soak {seconds} s: {fused} scenes of {framesets} frame sets (+{set_drops} dropped: late {}, pipeline_error {}), \
         {} LiDAR sweeps received; RSS after warm-up {:.1} -> {:.1} MB ({growth:+.2} %, {over_peak:+.2} % over the first half's peak, slope {slope_kb_min:+.0} KB/min); latency p90 first fifth {q_first:.1} ms, \
         last fifth {q_last:.1} ms (p99 {p_first:.1} -> {p_last:.1} ms)",
        get("dropped_late"),
        get("dropped_pipeline_error"),
        get("received_lidar"),
        first / 1024.0,
        last / 1024.0
    );
    // the RSS trace every 10 s (MB), for reading a failed or a long run
    let trace: Vec<String> = rss
        .iter()
        .step_by(10)
        .map(|(t, kb)| format!("{t:.0}s:{:.1}", *kb as f64 / 1024.0))
        .collect();
    println!("soak RSS trace: {}", trace.join(" "));
    assert!(
        fused as f64 >= seconds as f64 * 3.0,
        "scenes all along: {fused} in {seconds} s"
    );
    assert!(
        growth <= 5.0 || over_peak <= 1.0,
        "RSS grew {growth:.2} % and ends {over_peak:+.2} % over the first half's peak ({rss:?})"
    );
    assert!(
        q_last <= q_first * 1.5 + 30.0,
        "latency p90 rose from {q_first:.1} to {q_last:.1} ms (p99 {p_first:.1} -> {p_last:.1} ms)"
    );
    assert_eq!(
        framesets,
        fused + set_drops,
        "every frame set is a scene or a counted drop:\n{report}"
    );
}
