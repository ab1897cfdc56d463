//! The whole pipeline on real KITTI frames (`../shared/data`, never committed): the derived bag of
//! object frames 000000–000002 (PointCloud2, CompressedImage, CameraInfo from P2, /tf_static) played
//! by `sensorium replay` with the bundled models (trained on sim data: no retraining), the scene frame
//! set to the Velodyne's. Checked: every sweep is fused, the points painted by the pipeline (the
//! bag's tf + CameraInfo) are the ones `sensorium calib project` puts in the image from KITTI's own
//! calib txt (P2 · R0_rect · Tr_velo_to_cam), and the BEV renderings are written.

use sensorium_testkit::testdata::{repo_root, require, ros_python, shared_data_dir};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn sensorium(args: &[&str], cwd: &Path) -> std::process::Output {
    let o = Command::new(env!("CARGO_BIN_EXE_sensorium"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run sensorium");
    assert!(
        o.status.success(),
        "sensorium {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn kitti_frames_run_through_the_pipeline_painted_as_calib_project_shows() {
    let data = shared_data_dir();
    let bag = data.join("derived_bags/kitti_object_000000-000002_bz2.bag");
    let kitti = data.join("kitti_object_vis/data/object/training");
    if !require(
        "KITTI derived bag and object frames in ../shared/data",
        bag.exists() && kitti.is_dir(),
    ) {
        return;
    }
    let out = tempfile::tempdir().expect("tmp");
    let cfg = out.path().join("kitti.toml");
    // KITTI's tree has no base_link: the scene (BEV grid) is in the Velodyne's frame, x forward, z up
    std::fs::write(&cfg, "[scene]\nframe_id = \"velo_link\"\nquery_maps = true\n").expect("config");
    let summary = out.path().join("summary.json");
    let p = |x: &Path| x.to_str().expect("utf-8 path").to_string();
    sensorium(
        &[
            "replay",
            &p(&bag),
            "--config",
            &p(&cfg),
            "--fast",
            "--quiet",
            "--render",
            "all",
            "--topics",
            "/kitti/velo/pointcloud:=/lidar/points,/kitti/camera_color_left/image_raw/compressed:=/camera/image_raw/compressed,/kitti/camera_color_left/camera_info:=/camera/camera_info",
            "--summary-json",
            &p(&summary),
            "--out",
            &p(out.path()),
        ],
        &repo_root(),
    );
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary")).expect("JSON");
    assert_eq!(s["received"]["lidar"].as_u64(), Some(3), "{s}");
    assert_eq!(s["framesets_fused"].as_u64(), Some(3), "every sweep fused: {s}");
    let scenes: Vec<Value> = std::fs::read_to_string(out.path().join("scenes.jsonl"))
        .expect("scenes.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("scene JSON"))
        .collect();
    assert_eq!(scenes.len(), 3);
    for sc in &scenes {
        assert_eq!(sc["frame_id"], "velo_link");
        let occ = sc["bev"]["occupancy"].as_array().expect("occupancy");
        assert_eq!(occ.len(), 96 * 96);
        let emb: f64 = sc["embedding"]
            .as_array()
            .expect("embedding")
            .iter()
            .filter_map(Value::as_f64)
            .map(|x| x * x)
            .sum();
        assert!((emb.sqrt() - 1.0).abs() < 1e-3, "embedding norm {}", emb.sqrt());
        assert!(
            sc["lidar_points"].as_u64().is_some_and(|n| n > 10_000),
            "a KITTI sweep fills the grid: {}",
            sc["lidar_points"]
        );
        for q in sc["queries"].as_array().expect("queries") {
            assert_eq!(q["map"].as_array().map(Vec::len), Some(96 * 96), "{}", q["query"]);
        }
    }
    // BEV renderings, one per scene, real PNGs
    for seq in 1..=3 {
        let png = out.path().join(format!("scene_{seq:06}.png"));
        let img = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert!(
            img.width() > 96 * 4 && img.height() >= 96 * 4,
            "{}: {}x{}",
            png.display(),
            img.width(),
            img.height()
        );
    }

    // every scene fused with its camera image, frame k = the k-th sweep. The bag's static calibration
    // (/tf_static and the first CameraInfo) is frame 000000's: the pipeline projects every frame with it
    // (the other frames' own calibrations come on /tf and later CameraInfos, which a fixed vehicle
    // calibration does not follow), so calib project gets calib/000000.txt for each
    let stamp = |v: &Value| v["sec"].as_f64().unwrap_or(0.0) + v["nsec"].as_f64().unwrap_or(0.0) * 1e-9;
    let mut checked = 0;
    for (frame, first) in scenes.iter().enumerate() {
        if first["mask"].as_u64().is_none_or(|m| m & 3 != 3) {
            continue;
        }
        assert!(
            (stamp(&first["lidar_stamp"]) - (1_300_000_000.0 + 0.1 * frame as f64)).abs() < 1e-3,
            "scene {frame} is sweep {frame}: {}",
            first["lidar_stamp"]
        );
        check_painting(first, &format!("{frame:06}"), &kitti, out.path());
        checked += 1;
    }
    assert!(checked >= 2, "{checked} scenes with camera and LiDAR");
}

fn check_painting(first: &Value, id: &str, kitti: &Path, out: &Path) {
    let p = |x: &Path| x.to_str().expect("utf-8 path").to_string();
    let uv = out.join(format!("uv{id}.npy"));
    let o = sensorium(
        &[
            "calib",
            "project",
            "--calib",
            &p(&kitti.join("calib/000000.txt")),
            "--cloud",
            &p(&kitti.join(format!("velodyne/{id}.bin"))),
            "--image",
            &p(&kitti.join(format!("image_2/{id}.png"))),
            "--uv-out",
            &p(&uv),
            "--json",
        ],
        &repo_root(),
    );
    let proj: Value = serde_json::from_slice(&o.stdout).expect("calib project JSON");
    // the grid crop (MODEL_SPEC: x [0, 48), y [-24, 24), z [-3, 4) in the scene frame = Velodyne) of the
    // .bin, and of those the points calib project puts in the image in front of the camera (the
    // painting's test: depth > 0.1, 0 <= u < W, 0 <= v < H), counted with numpy
    let py = format!(
        "import numpy as n, json; p = n.fromfile('{}', n.float32).reshape(-1, 4); uv = n.load('{}'); \
         x, y, z = p[:, 0], p[:, 1], p[:, 2]; g = (x >= 0) & (x < 48) & (y >= -24) & (y < 24) & (z >= -3) & (z < 4); \
         u, v, d = uv[:, 0], uv[:, 1], uv[:, 2]; \
         i = g & (d > 0.1) & (u >= 0) & (v >= 0) & (u < {w}) & (v < {h}); \
         print(json.dumps({{'grid': int(g.sum()), 'painted': int(i.sum())}}))",
        kitti.join(format!("velodyne/{id}.bin")).display(),
        uv.display(),
        w = proj["image_width"],
        h = proj["image_height"],
    );
    let o = Command::new(ros_python())
        .args(["-c", &py])
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want: Value = serde_json::from_slice(&o.stdout).expect("numpy JSON");
    eprintln!(
        "frame {id}: replay {} points in the grid, {} painted; calib project + numpy: {want}",
        first["lidar_points"], first["painted_points"]
    );
    let (grid, painted) = (
        first["lidar_points"].as_i64().unwrap_or(-1),
        first["painted_points"].as_i64().unwrap_or(-1),
    );
    let (want_grid, want_painted) = (
        want["grid"].as_i64().unwrap_or(0),
        want["painted"].as_i64().unwrap_or(0),
    );
    assert_eq!(grid, want_grid, "the grid crop keeps the same points");
    assert!(
        want_painted > 5_000,
        "KITTI frame {id} has points in the image: {want}"
    );
    // the bag's calibration (tf + CameraInfo from P2) against KITTI's own matrices: points on the image
    // border may fall either way (float32 vs float64), nothing else
    assert!(
        (painted - want_painted).abs() <= 2 + want_painted / 1000,
        "painted points {painted} vs {want_painted} that calib project puts in the image"
    );
}
