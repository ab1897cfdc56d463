//! Decoded points and images compared with Debian's ROS Python (`sensor_msgs.point_cloud2.read_points`,
//! numpy, OpenCV) on real bags from `../shared/data` and on generated unusual layouts.
//!
//! `tests/python/read_points.py` dumps each message's raw serialized bytes (as rosbag stores them) and what
//! the peer reads from them; this test decodes exactly those bytes.

use sensorium_core::PointsSoA;
use sensorium_msgs::pointcloud::decode_soa;
use sensorium_msgs::{CompressedImage, Image, PointCloud2, PointCloud2Ref, PointCloud2View, RosMessage};
use sensorium_testkit::testdata::{require, ros_python, shared_data_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn read_f64s(path: &Path) -> Vec<f64> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    b.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn same_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn same_f32(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Runs the peer dump; `None` (skip) when python or the data is missing.
fn dump(args: &[String]) -> Option<(tempfile::TempDir, Vec<Value>)> {
    let py = ros_python();
    if !require(&format!("ROS python ({})", py.display()), py.exists()) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_points.py");
    let out = Command::new(&py)
        .arg(&script)
        .arg(dir.path())
        .args(args)
        .output()
        .expect("run python");
    let ok = out.status.success();
    if !ok {
        let err = String::from_utf8_lossy(&out.stderr);
        if !require(
            &format!("python peer dump (rosbag, sensor_msgs, cv2): {err}"),
            false,
        ) {
            return None;
        }
    }
    let manifest: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    Some((dir, manifest))
}

fn check_cloud(dir: &Path, e: &Value) {
    let name = e["name"].as_str().unwrap();
    let payload = std::fs::read(dir.join(e["payload"].as_str().unwrap())).unwrap();
    let cloud = PointCloud2::decode(&payload).unwrap_or_else(|err| panic!("{name}: {err}"));
    assert_eq!(
        cloud.to_bytes(),
        payload,
        "{name}: encode(decode(payload)) != payload"
    );
    let view = PointCloud2View::new(&cloud).unwrap_or_else(|err| panic!("{name}: {err}"));
    check_points(dir, e, &format!("{name} (owned)"), &view, &view.to_soa());

    // The in-place path the pipeline uses: points read straight out of the payload bytes.
    let borrowed = PointCloud2Ref::decode(&payload).unwrap_or_else(|err| panic!("{name}: {err}"));
    assert!(
        payload.as_ptr_range().contains(&borrowed.data.as_ptr()) || borrowed.data.is_empty(),
        "{name}: borrowed data is not inside the payload"
    );
    let bview = borrowed.view().unwrap_or_else(|err| panic!("{name}: {err}"));
    let soa = decode_soa(&payload).unwrap_or_else(|err| panic!("{name}: {err}"));
    check_points(dir, e, &format!("{name} (in place)"), &bview, &soa);
}

/// Every field of every point, and the SoA, against what the peer read.
fn check_points(dir: &Path, e: &Value, name: &str, view: &PointCloud2View, soa: &PointsSoA) {
    assert_eq!(view.len() as u64, e["n"].as_u64().unwrap(), "{name}: point count");

    // Every field, every point: exact f64 values as read_points gives them.
    let mut peer = std::collections::HashMap::new();
    for (field, file) in e["fields"].as_object().unwrap() {
        let want = read_f64s(&dir.join(file.as_str().unwrap()));
        let got = view.field_f64(field).unwrap();
        assert_eq!(got.len(), want.len(), "{name}.{field}: length");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                same_f64(*g, *w),
                "{name}.{field}[{i}]: ours {g:?} ({:#x}) read_points {w:?} ({:#x})",
                g.to_bits(),
                w.to_bits()
            );
        }
        peer.insert(field.clone(), want);
    }

    // SoA: NaN points dropped exactly as read_points(skip_nans=True) on x,y,z; values as float32.
    let kept = read_f64s(&dir.join(e["kept"].as_str().unwrap()));
    assert_eq!(
        soa.len() as u64,
        e["n_kept"].as_u64().unwrap(),
        "{name}: kept points"
    );
    assert_eq!(soa.stamp.sec as u64, e["stamp"][0].as_u64().unwrap());
    assert_eq!(soa.frame_id, e["frame_id"].as_str().unwrap());
    for i in 0..soa.len() {
        for (k, v) in [soa.x[i], soa.y[i], soa.z[i]].into_iter().enumerate() {
            let w = kept[i * 3 + k] as f32;
            assert!(
                same_f32(v, w),
                "{name}: point {i} coord {k}: ours {v} read_points {w}"
            );
        }
    }
    let mask: Vec<bool> = (0..view.len())
        .map(|i| !(peer["x"][i].is_nan() || peer["y"][i].is_nan() || peer["z"][i].is_nan()))
        .collect();
    let pick = |field: &str| -> Vec<f64> {
        peer[field]
            .iter()
            .zip(&mask)
            .filter(|(_, m)| **m)
            .map(|(v, _)| *v)
            .collect()
    };
    let int_name = ["intensity", "i", "reflectivity"]
        .into_iter()
        .find(|n| peer.contains_key(*n));
    match int_name {
        Some(n) => {
            for (i, (g, w)) in soa.intensity.iter().zip(pick(n)).enumerate() {
                assert!(same_f32(*g, w as f32), "{name}: intensity[{i}] ours {g} peer {w}");
            }
        }
        None => assert!(soa.intensity.iter().all(|v| *v == 0.0)),
    }
    if peer.contains_key("ring") {
        let want: Vec<u16> = pick("ring")
            .iter()
            .map(|v| v.clamp(0.0, 65535.0) as u16)
            .collect();
        assert_eq!(soa.ring.as_ref().unwrap(), &want, "{name}: ring");
    }
    if let Some(tn) = ["time", "t", "timestamp"]
        .into_iter()
        .find(|n| peer.contains_key(*n))
    {
        let stamp = e["stamp"][0].as_f64().unwrap() + e["stamp"][1].as_f64().unwrap() * 1e-9;
        let got = soa.time.as_ref().unwrap();
        for (i, (g, w)) in got.iter().zip(pick(tn)).enumerate() {
            let w = if w.abs() >= 1e6 {
                (w - stamp) as f32
            } else {
                w as f32
            };
            assert!(same_f32(*g, w), "{name}: time[{i}] ours {g} peer {w}");
        }
    }
}

fn check_image(dir: &Path, e: &Value) {
    let name = e["name"].as_str().unwrap();
    let payload = std::fs::read(dir.join(e["payload"].as_str().unwrap())).unwrap();
    let rgb = if e["kind"] == "compressed" {
        let m = CompressedImage::decode(&payload).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(m.to_bytes(), payload);
        m.to_rgb()
    } else {
        let m = Image::decode(&payload).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(m.to_bytes(), payload);
        m.to_rgb()
    }
    .unwrap_or_else(|err| panic!("{name}: {err}"));
    let want = std::fs::read(dir.join(e["rgb"].as_str().unwrap())).unwrap();
    let (w, h) = (
        e["width"].as_u64().unwrap() as usize,
        e["height"].as_u64().unwrap() as usize,
    );
    assert_eq!((rgb.width as usize, rgb.height as usize), (w, h), "{name}: size");
    assert_eq!(rgb.data.len(), want.len(), "{name}: bytes");
    let tol = e["tolerance"].as_u64().unwrap() as i32;
    let border = e["border"].as_u64().unwrap() as usize;
    let mut max = 0;
    for y in border..h - border {
        for x in border..w - border {
            for c in 0..3 {
                let i = (y * w + x) * 3 + c;
                max = max.max((rgb.data[i] as i32 - want[i] as i32).abs());
            }
        }
    }
    assert!(
        max <= tol,
        "{name} ({}): max |ours - peer| = {max} > {tol}",
        e["encoding"]
    );
}

fn bags() -> Vec<PathBuf> {
    let d = shared_data_dir();
    vec![
        d.join("derived_bags/kitti_object_000000-000002_bz2.bag"),
        d.join("derived_bags/kitti_object_000000_small_lz4.bag"),
        d.join("derived_bags/opencalib_top_center_lidar_5scans_lz4.bag"),
        d.join("jsk_recognition_bags/jsk_pcl_ros/sample/data/watercan.bag"),
    ]
}

#[test]
fn real_bags_match_read_points_and_numpy() {
    let bags = bags();
    if !require("shared data bags", bags.iter().all(|b| b.exists())) {
        return;
    }
    let mut args: Vec<String> = vec!["--max-per-topic".into(), "2".into()];
    args.extend(bags.iter().map(|b| b.display().to_string()));
    let Some((dir, manifest)) = dump(&args) else {
        return;
    };
    let (mut clouds, mut images) = (0, 0);
    for e in &manifest {
        match e["kind"].as_str().unwrap() {
            "cloud" => {
                check_cloud(dir.path(), e);
                clouds += 1;
            }
            _ => {
                check_image(dir.path(), e);
                images += 1;
            }
        }
    }
    // kitti bz2: 2 clouds + 2 images + 2 compressed; small lz4: 1 cloud + 1 compressed; opencalib 2; watercan 1.
    assert!(clouds >= 6, "only {clouds} clouds compared");
    assert!(images >= 5, "only {images} images compared");
}

#[test]
fn generated_layouts_match_read_points_and_opencv() {
    let Some((dir, manifest)) = dump(&["--generated".to_string()]) else {
        return;
    };
    assert!(manifest.len() >= 15);
    for e in &manifest {
        if e["kind"] == "cloud" {
            check_cloud(dir.path(), e);
        } else {
            check_image(dir.path(), e);
        }
    }
}
