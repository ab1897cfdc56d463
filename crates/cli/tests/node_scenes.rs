//! The node against a real ROS master: Debian's `roscore` on a free port, the sample recording published
//! by rospy three times back to back with the camera silent during the second pass, and a rospy listener
//! reading `~scene` with the genpy-generated `sensorium_msgs/Scene`, `~occupancy` and `/diagnostics`.

use sensorium_testkit::listener::{listener_summary, start_listener};
use sensorium_testkit::rosmaster::{wait_until, RosMaster};
use sensorium_testkit::rosnode;
use sensorium_testkit::testdata::{repo_root, require};
use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;

#[test]
fn node_publishes_scenes_occupancy_and_diagnostics_and_degrades_without_camera() {
    let repo = repo_root();
    let models = repo.join("models");
    let bag = repo.join("tests/fixtures/sample.bag");
    let have_roscore = RosMaster::available();
    if !require(
        "Debian ROS (roscore, rospy, genpy)",
        have_roscore && rosnode::ros_python_ok(),
    ) || !require(
        "models/ and tests/fixtures/sample.bag",
        models.is_dir() && bag.is_file(),
    ) {
        return;
    }
    let home = tempfile::tempdir().expect("ROS_HOME");
    let home = home.path();
    let ros = RosMaster::start(home, Duration::from_secs(30)).expect("starting roscore");

    // the generated Python class of sensorium_msgs/Scene, for the listener
    let gen = rosnode::genpy(home);
    let config = home.join("node.toml");
    std::fs::write(
        &config,
        "[scene]\nqueries = [\"a parked car\", \"a pedestrian\"]\n",
    )
    .expect("config");
    // the test machine is shared: let frame sets wait for the pipeline instead of dropping them
    let mut node = rosnode::start_node(
        &ros,
        std::path::Path::new(env!("CARGO_BIN_EXE_sensorium")),
        &[
            "--models",
            models.to_str().expect("utf-8 path"),
            "--config",
            config.to_str().expect("utf-8 path"),
            "--deadline-ms",
            "2000",
        ],
        &home.join("node.log"),
        &[],
    );
    wait_until("the node's subscriptions", Duration::from_secs(120), || {
        ros.topic_info("/lidar/points").contains("/sensorium")
            && ros.topic_info("/sensorium/scene").contains("/sensorium")
    });
    let scene_info = ros.topic_info("/sensorium/scene");
    assert!(scene_info.contains("sensorium_msgs/Scene"), "{scene_info}");

    let (listener, lines) = start_listener(&ros, &gen, 24.0, true);

    let player = ros
        .command(sensorium_testkit::testdata::ros_python())
        .arg(rosnode::peer_script())
        .args(["play", bag.to_str().expect("utf-8 path"), "3", "1"])
        .stderr(Stdio::inherit())
        .output()
        .expect("running the player");
    assert!(player.status.success(), "player failed");
    let events = rosnode::peer_events(&player.stdout);
    let at = |name: &str| rosnode::event_time(&events, name);
    let (off, on, done) = (at("camera_off"), at("camera_on"), at("done"));

    let summary = listener_summary(lines).expect("listener summary");
    drop(listener);

    // SIGINT: the node drains and exits within a second
    let (status, exit_s, report) = rosnode::stop_node(&mut node);
    let log = std::fs::read_to_string(home.join("node.log")).unwrap_or_default();
    assert!(status.success(), "node exit {status:?}\n{log}");
    println!("node report:\n{report}");
    println!("node exit after SIGINT: {exit_s:.3} s");
    assert!(exit_s < 1.0, "node took {exit_s:.3} s to exit after SIGINT");

    let scenes = summary["scenes"].as_array().expect("scenes");
    let grids = summary["grids"].as_array().expect("grids");
    let diags = summary["diagnostics"].as_array().expect("diagnostics");
    let t = |v: &Value| v["t"].as_f64().unwrap_or(0.0);
    let mask = |v: &Value| v["mask"].as_u64().unwrap_or(0);
    let phase = |from: f64, to: f64| scenes.iter().filter(move |s| t(s) >= from && t(s) < to);

    // every scene: the expected fields
    assert!(!scenes.is_empty(), "no scene received; node log:\n{log}");
    for s in scenes {
        assert_eq!(s["frame_id"], "base_link");
        assert!(mask(s) & 2 != 0, "every scene has LiDAR: {s}");
        let cells = s["width"].as_u64().unwrap_or(0) * s["height"].as_u64().unwrap_or(0);
        assert!(cells > 0 && s["cells"].as_u64() == Some(cells) && s["classes"].as_u64() == Some(cells));
        let (lo, hi) = (
            s["occ_min"].as_f64().unwrap_or(-1.0),
            s["occ_max"].as_f64().unwrap_or(2.0),
        );
        assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi), "{s}");
        assert!(
            (s["embedding_norm"].as_f64().unwrap_or(0.0) - 1.0).abs() < 1e-3,
            "{s}"
        );
        assert_eq!(s["queries"], serde_json::json!(["a parked car", "a pedestrian"]));
        assert!(s["stages"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "fusion")));
        assert_eq!(
            s["object_arrays_agree"], true,
            "one entry per object in each array: {s}"
        );
    }
    let cars = scenes
        .iter()
        .filter(|s| {
            s["objects"]
                .as_array()
                .is_some_and(|o| o.iter().any(|c| c == "car"))
        })
        .count();
    assert!(
        cars * 2 >= scenes.len(),
        "scenes with a car among their objects: {cars} of {}",
        scenes.len()
    );
    // pass 1: camera + LiDAR fused
    let p1: Vec<&Value> = phase(0.0, off).collect();
    let fused1 = p1.iter().filter(|s| mask(s) & 3 == 3).count();
    println!(
        "pass 1: {} scenes in {:.1} s ({} with camera+LiDAR); LiDAR input 10 Hz",
        p1.len(),
        off - p1.first().map_or(off, |s| t(s)),
        fused1
    );
    assert!(
        fused1 >= p1.len() / 2 && fused1 >= 3,
        "camera+LiDAR scenes in pass 1: {fused1}/{}",
        p1.len()
    );
    // pass 2 (camera silent): LiDAR-only scenes once the camera is stale
    let p2: Vec<&Value> = phase(off + 1.5, on).collect();
    let lidar_only = p2.iter().filter(|s| mask(s) & 1 == 0).count();
    println!("pass 2 (no camera): {} scenes, {lidar_only} LiDAR-only", p2.len());
    assert!(
        lidar_only >= 3 && lidar_only * 10 >= p2.len() * 8,
        "LiDAR-only scenes {lidar_only}/{}",
        p2.len()
    );
    // pass 3: the camera is back
    let p3: Vec<&Value> = phase(on + 1.5, done + 2.0).collect();
    let fused3 = p3.iter().filter(|s| mask(s) & 3 == 3).count();
    println!("pass 3 (camera back): {} scenes, {fused3} with camera", p3.len());
    assert!(
        fused3 >= 3,
        "camera+LiDAR scenes after recovery: {fused3}/{}",
        p3.len()
    );

    // occupancy grids: one per scene, 0..100
    assert!(
        grids.len() >= scenes.len() * 9 / 10,
        "{} grids for {} scenes",
        grids.len(),
        scenes.len()
    );
    for g in grids {
        assert!(
            g["min"].as_i64().is_some_and(|v| v >= 0) && g["max"].as_i64().is_some_and(|v| v <= 100),
            "{g}"
        );
        assert!(
            g["n"].as_u64() == Some(g["width"].as_u64().unwrap_or(0) * g["height"].as_u64().unwrap_or(0))
        );
    }

    // markers (RViz): one array per scene, in the scene frame, with the grid outline, the modality status
    // (camera off while it is silent), the two queries with their scores, and a box and a label per object
    let markers = summary["markers"].as_array().expect("markers");
    assert!(
        markers.len() >= scenes.len() * 9 / 10,
        "{} marker arrays for {} scenes",
        markers.len(),
        scenes.len()
    );
    for m in markers {
        assert_eq!(m["frame_ids"], serde_json::json!(["base_link"]), "{m}");
        assert_eq!(
            m["namespaces"],
            serde_json::json!([
                "sensorium/extent",
                "sensorium/object_labels",
                "sensorium/objects",
                "sensorium/queries",
                "sensorium/status"
            ]),
            "{m}"
        );
        assert_eq!(m["extent_points"], serde_json::json!([5]), "{m}");
        let q = m["queries"].as_array().expect("query rows");
        assert!(
            q.len() == 2 && q[0].as_str().is_some_and(|s| s.starts_with("a parked car: ")),
            "{m}"
        );
        let labels = m["objects"].as_array().expect("object labels");
        assert_eq!(
            m["object_boxes"].as_u64(),
            Some(labels.len() as u64),
            "a box per label: {m}"
        );
    }
    let with_objects: Vec<&Value> = markers
        .iter()
        .filter(|m| m["objects"].as_array().is_some_and(|o| !o.is_empty()))
        .collect();
    assert!(
        with_objects.len() * 2 >= markers.len(),
        "most scenes of the sample show objects: {} of {}",
        with_objects.len(),
        markers.len()
    );
    assert!(
        with_objects
            .iter()
            .flat_map(|m| m["objects"].as_array().into_iter().flatten())
            .any(|l| l.as_str().is_some_and(|s| s.starts_with("car 0."))),
        "a car among the labels"
    );
    let status_in = |from: f64, to: f64| -> Vec<String> {
        markers
            .iter()
            .filter(|m| t(m) >= from && t(m) < to)
            .filter_map(|m| m["status"][0].as_str().map(str::to_string))
            .collect()
    };
    let silent = status_in(off + 1.5, on);
    assert!(
        silent.iter().filter(|s| s.contains("camera off")).count() * 10 >= silent.len() * 8
            && !silent.is_empty(),
        "status markers while the camera is silent: {silent:?}"
    );
    assert!(
        status_in(on + 1.5, done + 2.0)
            .iter()
            .any(|s| s.contains("camera on | lidar on")),
        "status markers after recovery"
    );

    // painted points (published while someone listens): the scene's LiDAR points in its frame with
    // x, y, z, intensity, the in-image flag and the 32 image-feature channels; painted (flag 1, nonzero
    // features) where the camera sees them, all unseen in LiDAR-only scenes
    let painted = summary["painted"].as_array().expect("painted clouds");
    assert!(
        painted.len() >= scenes.len() * 9 / 10,
        "{} painted clouds for {} scenes",
        painted.len(),
        scenes.len()
    );
    let mut fields = vec!["x", "y", "z", "intensity", "seen"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    fields.extend((0..32).map(|c| format!("f{c}")));
    for c in painted {
        assert_eq!(c["frame_id"], "base_link", "{c}");
        assert_eq!(c["fields"], serde_json::json!(fields), "{c}");
        assert!(c["floats"] == true && c["n"].as_u64().unwrap_or(0) > 100, "{c}");
        assert!(c["finite"] == true, "{c}");
        assert!(
            c["unseen_feature_max"].as_f64() == Some(0.0),
            "unseen points carry no features: {c}"
        );
    }
    let seen_fraction = |from: f64, to: f64| -> Vec<f64> {
        painted
            .iter()
            .filter(|c| t(c) >= from && t(c) < to)
            .map(|c| c["seen"].as_f64().unwrap_or(0.0) / c["n"].as_f64().unwrap_or(1.0))
            .collect()
    };
    let (seen1, seen2) = (seen_fraction(0.0, off), seen_fraction(off + 1.5, on));
    println!(
        "painted points: {} clouds, in-image fraction pass 1 {:?}…, camera silent {:?}…",
        painted.len(),
        &seen1[..seen1.len().min(3)],
        &seen2[..seen2.len().min(3)]
    );
    assert!(
        seen1.iter().filter(|f| **f > 0.05).count() * 2 >= seen1.len() && !seen1.is_empty(),
        "points painted while the camera streams: {seen1:?}"
    );
    assert!(
        seen2.iter().filter(|f| **f == 0.0).count() * 10 >= seen2.len() * 8 && !seen2.is_empty(),
        "no painted point while the camera is silent: {seen2:?}"
    );
    assert!(
        painted
            .iter()
            .any(|c| c["seen_feature_mean_abs"].as_f64().unwrap_or(0.0) > 0.0),
        "painted points carry image features"
    );

    // diagnostics: OK while both stream, WARN then ERROR for the camera when it stops, OK again after
    let level_of = |name: &str, from: f64, to: f64| -> Vec<u64> {
        diags
            .iter()
            .filter(|d| d["name"] == name && t(d) >= from && t(d) < to)
            .map(|d| d["level"].as_u64().unwrap_or(9))
            .collect()
    };
    let cam1 = level_of("sensorium: input camera", off - 3.0, off);
    let pipe1 = level_of("sensorium: pipeline", off - 3.0, off);
    assert!(
        cam1.contains(&0) && pipe1.contains(&0),
        "pass 1 diagnostics: camera {cam1:?} pipeline {pipe1:?}"
    );
    let cam2 = level_of("sensorium: input camera", off, on);
    let pipe2 = level_of("sensorium: pipeline", off, on);
    println!("camera diagnostics while silent: {cam2:?}; pipeline: {pipe2:?}");
    let first_warn = cam2.iter().position(|l| *l == 1);
    let first_error = cam2.iter().position(|l| *l == 2);
    assert!(
        matches!((first_warn, first_error), (Some(w), Some(e)) if w < e),
        "camera WARN then ERROR expected: {cam2:?}"
    );
    assert!(
        pipe2.iter().any(|l| *l >= 1),
        "pipeline degraded while the camera is silent: {pipe2:?}"
    );
    let cam3 = level_of("sensorium: input camera", on + 1.5, done);
    assert!(
        cam3.last() == Some(&0),
        "camera diagnostics after recovery: {cam3:?}"
    );
    let models_ok = diags
        .iter()
        .any(|d| d["name"] == "sensorium: models" && d["level"] == 0);
    assert!(models_ok, "models diagnostic OK");

    // latency inside the node (message received → scene published), as the node reports it
    let get = |k: &str| rosnode::report_value(&report, k);
    println!(
        "node latency (received → published): p50 {:.1} ms, p99 {:.1} ms over {} scenes",
        get("latency_p50_ms"),
        get("latency_p99_ms"),
        get("scenes")
    );
    assert!(get("latency_p50_ms") > 0.0 && get("latency_p99_ms") >= get("latency_p50_ms"));
}
