//! The `sensorium` binary as users and scripts see it: help, configuration errors, bag tools.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sensorium"))
}

fn repo() -> PathBuf {
    sensorium_testkit::testdata::repo_root()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("run sensorium");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    let (code, top, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for sub in [
        "replay", "node", "bench", "calib", "models", "bag", "sim", "config", "sync",
    ] {
        assert!(top.contains(sub), "top-level help lacks {sub}");
    }
    for sub in [
        vec!["replay"],
        vec!["node"],
        vec!["bench"],
        vec!["calib", "project"],
        vec!["calib", "check"],
        vec!["models", "check"],
        vec!["bag", "info"],
        vec!["bag", "export"],
        vec!["bag", "read"],
        vec!["sim"],
        vec!["config", "show"],
        vec!["sync"],
    ] {
        let mut args = sub.clone();
        args.push("--help");
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{sub:?} --help failed: {err}");
        assert!(out.contains("Example"), "{sub:?} --help has no example:\n{out}");
    }
}

#[test]
fn config_errors_name_key_value_and_source() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("bad.yaml");
    std::fs::write(&f, "engine:\n  deadline_ms: 100.0\n  ring_capacity: 0\n").expect("write");
    let (code, _, err) = run(&["config", "show", "--config", f.to_str().unwrap_or_default()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("engine.ring_capacity") && err.contains('0') && err.contains("bad.yaml"),
        "{err}"
    );

    let out = bin()
        .args(["config", "show", "--json"])
        .env("SENSORIUM__SYNC__POLICY", "slop")
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["sync.policy"]["value"], "slop");
    assert_eq!(
        v["sync.policy"]["source"],
        "environment variable SENSORIUM__SYNC__POLICY"
    );
    assert_eq!(v["engine.deadline_ms"]["source"], "built-in default");

    let out = bin()
        .args(["config", "show"])
        .env("SENSORIUM__ENGINE__THREADS", "lots")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("engine.threads") && err.contains("lots"),
        "{err}"
    );
}

#[test]
fn bag_info_reads_the_bundled_sample() {
    let sample = repo().join("tests/fixtures/sample.bag");
    let (code, out, err) = run(&["bag", "info", sample.to_str().unwrap_or_default()]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "2.0",
        "sensor_msgs/PointCloud2",
        "/lidar/points",
        "/tf_static",
        "bz2 [11/11 chunks",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn bag_read_visits_what_the_index_counts() {
    let sample = repo().join("tests/fixtures/sample.bag");
    let path = sample.to_str().unwrap_or_default();
    let reader = sensorium_bag::BagReader::open(&sample).expect("sample");
    let counts = reader.topic_counts();
    let (t0, t1) = (
        reader.start_time().expect("start"),
        reader.end_time().expect("end"),
    );
    for (args, want) in [
        (vec![], reader.message_count()),
        (
            vec!["--topics", "/lidar/points", "--prefetch", "1"],
            counts["/lidar/points"],
        ),
        (vec!["--prefetch", "3"], reader.message_count()),
    ] {
        let mut a = vec!["bag", "read", path, "--json"];
        a.extend(&args);
        let (code, out, err) = run(&a);
        assert_eq!(code, 0, "{args:?}: {err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
        assert_eq!(v["messages"].as_u64(), Some(want), "{args:?}: {v}");
        assert!(v["file_mb_per_s"].as_f64().is_some_and(|x| x > 0.0), "{v}");
    }
    // --start/--duration: the messages with record time in [t0 + 1 s, t0 + 2 s], counted independently
    let (from, to) = (t0.as_nanos() + 1_000_000_000, t0.as_nanos() + 2_000_000_000);
    assert!(to < t1.as_nanos());
    let want = reader
        .messages(&sensorium_bag::ReadOptions::all())
        .filter_map(Result::ok)
        .filter(|m| (from..=to).contains(&m.time.as_nanos()))
        .count() as u64;
    let (code, out, err) = run(&["bag", "read", path, "--json", "--start", "1", "--duration", "1"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(v["messages"].as_u64(), Some(want), "{v}");
    assert!(want > 0);
}

#[test]
fn bag_export_writes_npy_clouds_and_png_images() {
    let sample = repo().join("tests/fixtures/sample.bag");
    let dir = tempfile::tempdir().expect("tmp");
    let s = sample.to_str().unwrap_or_default();
    let (code, _, err) = run(&[
        "bag",
        "export",
        s,
        "--topic",
        "/lidar/points",
        "--out",
        dir.path().to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{err}");
    let npys: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .collect();
    assert!(npys.len() >= 40, "{} clouds", npys.len());
    let first = std::fs::read(npys[0].path()).expect("read");
    assert_eq!(&first[..6], b"\x93NUMPY");
    let header = String::from_utf8_lossy(&first[10..80]).to_string();
    assert!(header.contains("'<f4'") && header.contains(", 4)"), "{header}");

    let imgs = tempfile::tempdir().expect("tmp");
    let (code, out, err) = run(&[
        "bag",
        "export",
        s,
        "--topic",
        "/camera/image_raw/compressed",
        "--out",
        imgs.path().to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let png = std::fs::read_dir(imgs.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .next()
        .expect("one image");
    let img = image::open(png.path()).expect("png");
    assert_eq!((img.width(), img.height()), (640, 360));

    let (code, _, err) = run(&["bag", "export", s, "--topic", "/nope", "--out", "/tmp/x"]);
    assert_ne!(code, 0);
    assert!(err.contains("/nope") && err.contains("/lidar/points"), "{err}");
}

#[test]
fn calib_tools_work_on_the_sample_recording() {
    let sample = repo().join("tests/fixtures/sample.bag");
    let s = sample.to_str().unwrap_or_default();
    // calibration from the recording's /tf_static + camera_info: every sweep paired with its image
    let (code, out, err) = run(&["calib", "check", s, "--json"]);
    assert_eq!(code, 0, "{err}");
    let frames: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(frames.len(), 50, "{err}");
    for f in &frames {
        let frac = f["fraction_in_image"].as_f64().unwrap_or(0.0);
        assert!(frac > 0.05 && frac < 0.5, "{f}");
        assert_eq!(f["flagged"], false, "a steady rig must not be flagged: {f}");
    }

    // project one sweep picked from the bag by stamp into an image exported from the same bag
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().to_str().unwrap_or_default();
    let (code, _, err) = run(&[
        "bag",
        "export",
        s,
        "--topic",
        "/camera/image_raw/compressed",
        "--out",
        d,
    ]);
    assert_eq!(code, 0, "{err}");
    let mut pngs: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    pngs.sort();
    let stamp = frames[10]["stamp"].as_f64().unwrap_or(0.0);
    let uv = dir.path().join("uv.npy");
    let calib = repo().join("tests/fixtures/sample_calib");
    let (code, out, err) = run(&[
        "calib",
        "project",
        "--calib",
        calib.to_str().unwrap_or_default(),
        "--cloud",
        s,
        "--topic",
        "/lidar/points",
        "--time",
        &stamp.to_string(),
        "--image",
        pngs[10].to_str().unwrap_or_default(),
        "--uv-out",
        uv.to_str().unwrap_or_default(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).expect("report");
    let frac = r["fraction_in_image"].as_f64().unwrap_or(0.0);
    assert!(
        (frac - frames[10]["fraction_in_image"].as_f64().unwrap_or(0.0)).abs() < 1e-9,
        "{r} vs {}",
        frames[10]
    );
    let npy = std::fs::read(&uv).expect("uv.npy");
    assert!(String::from_utf8_lossy(&npy[10..80]).contains("'<f8'"));
    assert_eq!(r["points_total"], frames[10]["points"]);
}

/// A camera knocked 2° in yaw and 1.5° in pitch half-way through a recording, with the recording's
/// calibration still the nominal one: `calib check` flags the sweeps right after the bump and none
/// before it.
#[test]
fn calib_check_flags_a_bumped_camera() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("bump.toml");
    std::fs::write(
        &cfg,
        "[camera]\nwidth = 640\nheight = 360\nfx = 450.0\nfy = 450.0\ncx = 320.0\ncy = 180.0\n\
         bump = { after_s = 1.55, rpy_deg = [0.0, 1.5, 2.0] }\n[lidar]\nbeams = 32\nazimuth_res_deg = 0.4\n",
    )
    .expect("write config");
    let bag = dir.path().join("bumped.bag");
    let (code, _, err) = run(&[
        "sim",
        "--out",
        bag.to_str().unwrap_or_default(),
        "--frames",
        "30",
        "--seed",
        "11",
        "--config",
        cfg.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&["calib", "check", bag.to_str().unwrap_or_default(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let frames: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(frames.len() >= 28, "{} frames checked: {err}", frames.len());
    let t0 = frames[0]["stamp"].as_f64().unwrap_or(0.0);
    let flagged: Vec<f64> = frames
        .iter()
        .filter(|f| f["flagged"] == true)
        .map(|f| f["stamp"].as_f64().unwrap_or(0.0) - t0)
        .collect();
    assert!(
        flagged.iter().all(|t| *t > 1.45),
        "flagged before the bump: {flagged:?}\n{out}"
    );
    assert!(
        flagged.iter().any(|t| (1.55..1.85).contains(t)),
        "the bump at 1.55 s was not flagged within 3 sweeps: {flagged:?}\n{out}"
    );
    // the offset measures the bump: 2° yaw and 1.5° pitch at f = 450 px are 15.7 and 11.8 px
    let offsets = |after: bool| -> Vec<(f64, f64)> {
        frames
            .iter()
            .filter(|f| (f["stamp"].as_f64().unwrap_or(0.0) - t0 > 1.6) == after)
            .map(|f| {
                (
                    f["offset_px"][0].as_f64().unwrap_or(99.0),
                    f["offset_px"][1].as_f64().unwrap_or(99.0),
                )
            })
            .collect()
    };
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (before, after) = (offsets(false), offsets(true));
    let (bu, bv) = (
        med(before.iter().map(|o| o.0).collect()),
        med(before.iter().map(|o| o.1).collect()),
    );
    let (au, av) = (
        med(after.iter().map(|o| o.0).collect()),
        med(after.iter().map(|o| o.1).collect()),
    );
    assert!(
        bu.abs() <= 4.0 && bv.abs() <= 4.0,
        "offset before the bump ({bu}, {bv})\n{out}"
    );
    assert!(
        (au.abs() - 15.7).abs() <= 4.0 && (av.abs() - 11.8).abs() <= 4.0,
        "offset after the bump ({au}, {av})\n{out}"
    );
}
