//! ROS 2 recordings in replay: the bundled sample and a real KITTI bag, converted by `rosbags` (PyPI, in
//! the project venv) to MCAP and to rosbag2 sqlite3, replay to the same frame sets, the same metrics and
//! the same scenes as the ROS1 originals; `bag info` lists them as `ros2 bag info` does; a damaged MCAP
//! or sqlite3 file is read as far as it is sound.

mod common;

use common::{replay, repo, scenes};
use sensorium_testkit::testdata::{require, shared_data_dir, venv_imports, venv_python};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn have_rosbags() -> bool {
    require(
        "rosbags and mcap in the project venv",
        venv_imports("rosbags, mcap"),
    )
}

/// `rosbags-convert SRC --dst DST [--dst-storage mcap]`: the rosbag2 folder DST.
fn convert(src: &Path, dst: &Path, storage: &str) -> PathBuf {
    let bin = venv_python().with_file_name("rosbags-convert");
    let o = Command::new(&bin)
        .arg("--src")
        .arg(src)
        .arg("--dst")
        .arg(dst)
        .args(["--dst-storage", storage])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    assert!(
        o.status.success(),
        "rosbags-convert: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    dst.to_path_buf()
}

/// The MCAP rewritten by the `mcap` PyPI writer with `compression` chunks (`crates/bag/tests/python`).
fn rewrite(src: &Path, dst: &Path, compression: &str) {
    let script = repo().join("crates/bag/tests/python/mcap_rewrite.py");
    let o = Command::new(venv_python())
        .arg(&script)
        .arg(src)
        .arg(dst)
        .arg(compression)
        .output()
        .expect("mcap_rewrite.py");
    assert!(
        o.status.success(),
        "mcap_rewrite.py: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `sensorium bag info PATH`: its stdout (it must succeed).
fn bag_info(path: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_sensorium"))
        .args(["bag", "info"])
        .arg(path)
        .output()
        .expect("bag info");
    let info = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{info}{}", String::from_utf8_lossy(&o.stderr));
    info
}

/// `compare_records.py BAG MCAP` (`crates/bag/tests/python`): every message of the ROS1 bag decoded
/// equal from the MCAP by rosbags and mcap-ros2-support; messages compared per topic.
fn compare_records(bag: &Path, mcap: &Path) -> Value {
    let o = Command::new(venv_python())
        .arg(repo().join("crates/bag/tests/python/compare_records.py"))
        .arg(bag)
        .arg(mcap)
        .output()
        .expect("compare_records.py");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("counts")
}

fn only_file(dir: &Path, ext: &str) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.remove(0)
}

/// Scenes without their timings (which differ run to run).
fn scene_values(out: &Path) -> Vec<Value> {
    scenes(out)
        .into_iter()
        .map(|mut s| {
            if let Some(o) = s.as_object_mut() {
                o.remove("timing");
                o.remove("end_to_end_ms");
            }
            s
        })
        .collect()
}

fn same_run(a: &Value, b: &Value, what: &str) {
    for k in [
        "framesets_fused",
        "received",
        "metrics",
        "modalities",
        "decode_errors",
        "errors",
    ] {
        assert_eq!(a[k], b[k], "{what}: summary.{k}");
    }
}

#[test]
fn the_sample_as_mcap_and_sqlite3_replays_as_the_ros1_bag_does() {
    if !have_rosbags() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let sample = repo().join("tests/fixtures/sample.bag");
    let mcap = convert(&sample, &tmp.path().join("sample_mcap"), "mcap");
    let db3 = convert(&sample, &tmp.path().join("sample_db3"), "sqlite3");
    let ros1_out = tmp.path().join("ros1");
    let ros1 = replay(&[sample.to_str().expect("utf-8")], &ros1_out);
    let reference = scene_values(&ros1_out);
    assert_eq!(reference.len(), 49);
    let cases = [
        ("mcap folder", mcap.clone()),
        ("mcap file", only_file(&mcap, "mcap")),
        ("sqlite3 folder", db3.clone()),
        ("sqlite3 file", only_file(&db3, "db3")),
    ];
    for (i, (what, path)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        let s = replay(&[path.to_str().expect("utf-8")], &out);
        same_run(&ros1, &s, what);
        assert_eq!(s["bag_warnings"], Value::Array(vec![]), "{what}: {s}");
        assert!(
            scene_values(&out) == reference,
            "{what}: the scenes differ from the ROS1 bag's"
        );
    }

    // the synchronizer alone and the calibration check read it as they read the ROS1 bag
    let run = |args: &[&std::ffi::OsStr]| -> Vec<u8> {
        let o = Command::new(env!("CARGO_BIN_EXE_sensorium"))
            .args(args)
            .current_dir(repo())
            .output()
            .expect("sensorium");
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    let sets = |rec: &Path, out: &Path| -> String {
        run(&[
            "sync".as_ref(),
            rec.as_os_str(),
            "--topics".as_ref(),
            "/camera/image_raw/compressed,/lidar/points".as_ref(),
            "--jsonl".as_ref(),
            out.as_os_str(),
        ]);
        std::fs::read_to_string(out).expect("sets")
    };
    let ros1_sets = sets(&sample, &tmp.path().join("s1.jsonl"));
    assert_eq!(ros1_sets.lines().count(), 49);
    assert_eq!(sets(&mcap, &tmp.path().join("s2.jsonl")), ros1_sets);
    let check = |rec: &Path| {
        run(&[
            "calib".as_ref(),
            "check".as_ref(),
            rec.as_os_str(),
            "--json".as_ref(),
        ])
    };
    assert_eq!(check(&mcap), check(&sample), "calib check");
    // bag export: the same clouds (.npy) from the sqlite3 bag as from the ROS1 one
    let export = |rec: &Path, out: &Path| -> Vec<(String, Vec<u8>)> {
        run(&[
            "bag".as_ref(),
            "export".as_ref(),
            rec.as_os_str(),
            "--topic".as_ref(),
            "/lidar/points".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out)
            .expect("exported")
            .map(|e| {
                let p = e.expect("entry").path();
                (
                    p.file_name().expect("name").to_string_lossy().into_owned(),
                    std::fs::read(&p).expect("read"),
                )
            })
            .collect();
        files.sort();
        files
    };
    let clouds = export(&sample, &tmp.path().join("e1"));
    assert_eq!(clouds.len(), 50);
    assert!(
        export(&db3, &tmp.path().join("e2")) == clouds,
        "bag export of the sqlite3 bag"
    );

    // bag info: ROS 2 type names and the counts rosbags wrote into metadata.yaml
    let info = bag_info(&mcap);
    let meta = std::fs::read_to_string(mcap.join("metadata.yaml")).expect("metadata.yaml");
    assert!(
        info.contains("Storage id:        mcap") && info.contains("Messages:          206"),
        "{info}"
    );
    for (topic, ty, n) in [
        ("/lidar/points", "sensor_msgs/msg/PointCloud2", 50),
        (
            "/camera/image_raw/compressed",
            "sensor_msgs/msg/CompressedImage",
            50,
        ),
        ("/tf_static", "tf2_msgs/msg/TFMessage", 1),
        ("/map/text", "std_msgs/msg/String", 5),
    ] {
        assert!(
            meta.contains(topic) && meta.contains(ty),
            "metadata.yaml lacks {topic}"
        );
        let line = info
            .lines()
            .find(|l| l.contains(&format!("Topic: {topic} ")))
            .unwrap_or_else(|| panic!("{info}"));
        assert!(line.contains(&format!("Type: {ty} | Count: {n} |")), "{line}");
    }

    // bag read: every message of the folder (mcap) and of the sqlite3 bag, and one topic alone
    for (path, topics, want) in [(&mcap, "", 206), (&db3, "", 206), (&mcap, "/lidar/points", 50)] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sensorium"));
        cmd.args(["bag", "read", "--json"]).arg(path);
        if !topics.is_empty() {
            cmd.args(["--topics", topics]);
        }
        let o = cmd.output().expect("bag read");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).expect("bag read JSON");
        assert_eq!(v["messages"], want, "{v}");
        assert!(v["payload_mb"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
    }
}

#[test]
fn a_real_kitti_bag_as_mcap_replays_as_the_ros1_bag_does() {
    let bag = shared_data_dir().join("derived_bags/kitti_object_000000-000002_bz2.bag");
    if !have_rosbags() || !require("KITTI derived bag in ../shared/data", bag.exists()) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let mcap = convert(&bag, &tmp.path().join("kitti"), "mcap");
    let cfg = tmp.path().join("kitti.toml");
    std::fs::write(&cfg, "[scene]\nframe_id = \"velo_link\"\n").expect("config");
    let args = |rec: &Path| -> Vec<String> {
        vec![
            rec.display().to_string(),
            "--config".into(),
            cfg.display().to_string(),
            "--topics".into(),
            "/kitti/velo/pointcloud:=/lidar/points,/kitti/camera_color_left/image_raw/compressed:=/camera/image_raw/compressed,/kitti/camera_color_left/camera_info:=/camera/camera_info".into(),
        ]
    };
    let run = |rec: &Path, out: &Path| {
        let a = args(rec);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        replay(&a, out)
    };
    let (o1, o2) = (tmp.path().join("ros1"), tmp.path().join("mcap"));
    let (s1, s2) = (run(&bag, &o1), run(&mcap, &o2));
    assert_eq!(s1["framesets_fused"].as_u64(), Some(3), "{s1}");
    same_run(&s1, &s2, "KITTI as MCAP");
    assert!(scene_values(&o1) == scene_values(&o2), "the KITTI scenes differ");
}

#[test]
fn damaged_ros2_recordings_are_read_as_far_as_they_are_sound() {
    if !have_rosbags() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let sample = repo().join("tests/fixtures/sample.bag");
    let mcap = only_file(&convert(&sample, &tmp.path().join("m"), "mcap"), "mcap");
    let bytes = std::fs::read(&mcap).expect("mcap");

    // cut at 60 %: no summary, no end magic; the messages before the cut are replayed
    let cut = tmp.path().join("cut.mcap");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).expect("write");
    let s = replay(&[cut.to_str().expect("utf-8")], &tmp.path().join("o_cut"));
    let fused = s["framesets_fused"].as_u64().expect("fused");
    assert!((20..49).contains(&fused), "{s}");
    assert!(s["bag_warnings"].to_string().contains("cut.mcap"), "{s}");

    // chunks compressed with zstd and lz4, each with its CRC (the `mcap` PyPI writer): the same scenes;
    // a flipped byte inside a chunk: its CRC fails, the chunks before it are replayed
    let reference = {
        let out = tmp.path().join("o_ref");
        replay(&[mcap.to_str().expect("utf-8")], &out);
        scene_values(&out)
    };
    for comp in ["zstd", "lz4"] {
        let file = tmp.path().join(format!("{comp}.mcap"));
        rewrite(&mcap, &file, comp);
        let out = tmp.path().join(format!("o_{comp}"));
        let s = replay(&[file.to_str().expect("utf-8")], &out);
        assert_eq!(s["framesets_fused"].as_u64(), Some(49), "{comp}: {s}");
        assert!(scene_values(&out) == reference, "{comp}: the scenes differ");
    }
    let mut bad = std::fs::read(tmp.path().join("zstd.mcap")).expect("zstd.mcap");
    let at = bad.len() / 2;
    bad[at] ^= 0xff;
    let crc = tmp.path().join("crc.mcap");
    std::fs::write(&crc, &bad).expect("write");
    let s = replay(&[crc.to_str().expect("utf-8")], &tmp.path().join("o_crc"));
    assert!(s["framesets_fused"].as_u64().is_some_and(|n| n < 49), "{s}");
    assert!(
        s["bag_warnings"].to_string().to_lowercase().contains("crc"),
        "{s}"
    );

    // sqlite3 cut short: an error naming the file, never a crash
    let db3 = only_file(&convert(&sample, &tmp.path().join("d"), "sqlite3"), "db3");
    let data = std::fs::read(&db3).expect("db3");
    let short = tmp.path().join("short.db3");
    std::fs::write(&short, &data[..data.len() / 3]).expect("write");
    let o = Command::new(env!("CARGO_BIN_EXE_sensorium"))
        .args(["replay", "--fast", "--quiet"])
        .arg(&short)
        .current_dir(repo())
        .output()
        .expect("replay");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code().is_some_and(|c| c == 0 || c == 3), "{err}");
    if o.status.code() == Some(3) {
        assert!(err.contains("short.db3"), "{err}");
    }
}

#[test]
fn record_to_mcap_reads_back_in_rosbags_and_mcap_ros2_support_as_the_ros1_record() {
    if !require(
        "rosbags and mcap-ros2-support in the project venv",
        venv_imports("rosbags, mcap_ros2"),
    ) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (bag, mcap) = (tmp.path().join("run.bag"), tmp.path().join("run.mcap"));
    let s1 = replay(
        &["--record", bag.to_str().expect("utf-8")],
        &tmp.path().join("o1"),
    );
    let s2 = replay(
        &["--record", mcap.to_str().expect("utf-8")],
        &tmp.path().join("o2"),
    );
    assert_eq!(s1["errors"], Value::Array(vec![]), "{s1}");
    assert_eq!(s2["errors"], Value::Array(vec![]), "{s2}");
    let counts = compare_records(&bag, &mcap);
    for topic in [
        "/sensorium/scene",
        "/sensorium/occupancy",
        "/sensorium/markers",
        "/sensorium/scene_json",
    ] {
        assert_eq!(
            counts[topic].as_u64(),
            s1["framesets_fused"].as_u64(),
            "{topic}: {counts}"
        );
    }
    // and sensorium reads its own MCAP back
    let info = bag_info(&mcap);
    assert!(
        info.contains("Type: sensorium_msgs/msg/Scene | Count: 49 |"),
        "{info}"
    );
}

#[test]
fn sim_writes_mcap_with_the_messages_of_its_ros1_bag() {
    if !require(
        "rosbags and mcap-ros2-support in the project venv",
        venv_imports("rosbags, mcap_ros2"),
    ) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (bag, mcap) = (tmp.path().join("sim.bag"), tmp.path().join("sim.mcap"));
    for (out, format) in [(&bag, "bag"), (&mcap, "mcap")] {
        let o = Command::new(env!("CARGO_BIN_EXE_sensorium"))
            .args([
                "sim", "--frames", "4", "--seed", "11", "--format", format, "--out",
            ])
            .arg(out)
            .output()
            .expect("sim");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let counts = compare_records(&bag, &mcap);
    assert_eq!(counts["/lidar/points"].as_u64(), Some(4), "{counts}");
    assert_eq!(counts["/tf_static"].as_u64(), Some(1), "{counts}");
    let (o1, o2) = (tmp.path().join("o1"), tmp.path().join("o2"));
    let (s1, s2) = (
        replay(&[bag.to_str().expect("utf-8")], &o1),
        replay(&[mcap.to_str().expect("utf-8")], &o2),
    );
    same_run(&s1, &s2, "sim as MCAP");
    assert!(scene_values(&o1) == scene_values(&o2), "the sim scenes differ");
}
