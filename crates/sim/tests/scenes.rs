//! Scene, sensor and ground-truth tests of sensorium-sim.

use sensorium_sim::npy::{f32_bytes, npy_bytes, Dtype};
use sensorium_sim::truth::{GRID_COLS, GRID_ROWS};
use sensorium_sim::world::{Class, STRUCTURE_ID};
use sensorium_sim::{export_training, write_calibration, GroundTruth, SimConfig, Simulator};
use sensorium_testkit::testdata::{require, ros_python};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn small() -> SimConfig {
    let mut c = SimConfig::sample();
    c.lidar.beams = 64;
    c.lidar.azimuth_res_deg = 0.2;
    c
}

/// For each box: of its LiDAR points that project into the image and are not hidden from the camera by
/// something nearer (parallax between the two sensors), the share landing on that box's rendered pixels.
fn landing_shares(
    uvz: &[(f64, f64, f64)],
    hit: &[u16],
    img: &sensorium_sim::render::Rendered,
) -> BTreeMap<u16, (usize, usize)> {
    let mut per: BTreeMap<u16, (usize, usize)> = BTreeMap::new();
    for (k, &(u, v, z)) in uvz.iter().enumerate() {
        let id = hit[k];
        if id == 0 || id == STRUCTURE_ID || z.is_nan() || z <= 0.5 {
            continue;
        }
        if !(u >= 0.0 && v >= 0.0 && u < f64::from(img.width) && v < f64::from(img.height)) {
            continue;
        }
        let i = v as usize * img.width as usize + u as usize;
        if f64::from(img.depth[i]) < z - 0.1 && img.instance[i] != id {
            continue; // hidden from the camera by something nearer (range noise σ = 2 cm)
        }
        let e = per.entry(id).or_default();
        e.0 += 1;
        if img.instance[i] == id {
            e.1 += 1;
        }
    }
    per
}

fn check_shares(per: &BTreeMap<u16, (usize, usize)>, what: &str) -> usize {
    let mut checked = 0;
    for (id, (n, ok)) in per {
        if *n < 20 {
            continue;
        }
        let share = *ok as f64 / *n as f64;
        assert!(
            share >= 0.99,
            "{what}: box {id}: {ok}/{n} = {share:.4} of its points land on its pixels"
        );
        checked += 1;
    }
    checked
}

#[test]
fn lidar_points_land_on_their_boxes_in_the_image() {
    for (cfg, seed) in [(SimConfig::default(), 11u64), (small(), 12)] {
        let mut sim = Simulator::new(&cfg, seed, 60).unwrap();
        let t_ol = sim.t_optical_lidar();
        let mut checked = 0;
        for i in (0..60).step_by(6) {
            let fs = sim.frame_set(i, 0.0);
            let p = &fs.sweep.points;
            let uvz: Vec<(f64, f64, f64)> = (0..p.len())
                .map(|k| {
                    let q = t_ol.apply([f64::from(p.x[k]), f64::from(p.y[k]), f64::from(p.z[k])]);
                    let (u, v) = sim.renderer.cam.project(q).unwrap_or((-1.0, -1.0));
                    (u, v, q[2])
                })
                .collect();
            checked += check_shares(&landing_shares(&uvz, &fs.sweep.hit, &fs.image), "own projection");
        }
        assert!(checked >= 20, "only {checked} boxes had enough points in view");
    }
}

/// The same check through the *written* calibration and OpenCV's projectPoints (peer).
#[test]
fn lidar_points_land_on_their_boxes_through_written_calibration_and_opencv() {
    let py = ros_python();
    if !require("python3 with cv2 + yaml", py.exists()) {
        return;
    }
    let cfg = SimConfig::default();
    let dir = tempfile::tempdir().unwrap();
    write_calibration(&cfg, dir.path()).unwrap();
    let mut sim = Simulator::new(&cfg, 21, 40).unwrap();
    let mut checked = 0;
    for i in [5u32, 25] {
        let fs = sim.frame_set(i, 0.0);
        let p = &fs.sweep.points;
        let flat: Vec<f32> = (0..p.len()).flat_map(|k| [p.x[k], p.y[k], p.z[k]]).collect();
        let pts = dir.path().join("pts.npy");
        std::fs::write(&pts, npy_bytes(Dtype::F32, &[p.len(), 3], &f32_bytes(&flat))).unwrap();
        let out = dir.path().join("uv.npy");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/project_calib.py");
        let st = Command::new(&py)
            .arg(&script)
            .arg(dir.path())
            .arg(&pts)
            .arg(&out)
            .status()
            .unwrap();
        let ok = require("python3 with cv2 + yaml (script ran)", st.success());
        if !ok {
            return;
        }
        let bytes = std::fs::read(&out).unwrap();
        let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let body = &bytes[10 + hl..];
        assert_eq!(body.len(), p.len() * 24);
        let uvz: Vec<(f64, f64, f64)> = body
            .chunks_exact(24)
            .map(|c| {
                let f = |o: usize| f64::from_le_bytes(c[o..o + 8].try_into().unwrap());
                (f(0), f(8), f(16))
            })
            .collect();
        // Our projection agrees with OpenCV's to well under a pixel.
        let t_ol = sim.t_optical_lidar();
        for k in (0..p.len()).step_by(97) {
            let q = t_ol.apply([f64::from(p.x[k]), f64::from(p.y[k]), f64::from(p.z[k])]);
            if q[2] > 1.0 {
                if let Some((u, v)) = sim.renderer.cam.project(q) {
                    if u.abs() < 5000.0 && v.abs() < 5000.0 {
                        assert!(
                            (u - uvz[k].0).abs() < 1e-3 && (v - uvz[k].1).abs() < 1e-3,
                            "{u},{v} vs {:?}",
                            uvz[k]
                        );
                    }
                }
            }
        }
        checked += check_shares(
            &landing_shares(&uvz, &fs.sweep.hit, &fs.image),
            "written calibration + cv2",
        );
    }
    assert!(checked >= 5, "only {checked} boxes checked");
}

#[test]
fn same_seed_same_outputs_different_seed_differs() {
    let cfg = small();
    let run = |seed: u64| {
        let mut sim = Simulator::new(&cfg, seed, 20).unwrap();
        let fs = sim.frame_set(7, 1.5);
        (fs.image.rgb, f32_bytes(&fs.sweep.points.x), fs.truth.to_json())
    };
    let a = run(5);
    let b = run(5);
    assert!(a == b, "same seed gave different outputs");
    let c = run(6);
    assert!(a.0 != c.0 && a.1 != c.1 && a.2 != c.2);
}

#[test]
fn ground_truth_is_consistent_with_the_lidar_and_round_trips() {
    let cfg = SimConfig::default();
    let mut sim = Simulator::new(&cfg, 3, 50).unwrap();
    let mut captions = Vec::new();
    for i in (0..50).step_by(5) {
        let fs = sim.frame_set(i, 1_700_000_000.0 + f64::from(i) * 0.1);
        let gt = &fs.truth;
        // JSON round trip.
        let back = GroundTruth::from_json(&gt.to_json()).unwrap();
        assert!(
            back.occupancy == gt.occupancy && back.class_grid == gt.class_grid && back.caption == gt.caption
        );
        assert_eq!(back.boxes.len(), gt.boxes.len());
        for (a, b) in back.boxes.iter().zip(&gt.boxes) {
            assert!(a.id == b.id && a.class == b.class && (a.yaw - b.yaw).abs() < 1e-12);
            assert!(a.center.iter().zip(&b.center).all(|(x, y)| (x - y).abs() < 1e-12));
        }
        assert_eq!(gt.occupancy.len(), GRID_ROWS * GRID_COLS);
        // Every box whose centre is in the grid has its centre cell occupied with its class.
        for b in &gt.boxes {
            let (r, c) = ((b.center[0] / 0.5).floor(), ((b.center[1] + 24.0) / 0.5).floor());
            if (0.0..96.0).contains(&r) && (0.0..96.0).contains(&c) {
                let idx = r as usize * GRID_COLS + c as usize;
                assert_eq!(gt.occupancy[idx], 1);
                assert!(gt.class_grid[idx] > 0);
            }
            assert!(Class::from_name(&b.class).is_some(), "{}", b.class);
        }
        // Occupied cells are exactly those with a class.
        for (o, c) in gt.occupancy.iter().zip(&gt.class_grid) {
            assert_eq!(*o == 1, *c > 0);
        }
        // LiDAR points that hit a box lie inside it (in base_link, up to range noise).
        let boxes: BTreeMap<u16, _> = fs
            .snapshot
            .boxes
            .iter()
            .filter(|b| b.class.is_some())
            .map(|b| (b.id, b))
            .collect();
        let mount = sim.t_base_lidar();
        let p = &fs.sweep.points;
        let mut inside = 0;
        for k in 0..p.len() {
            if let Some(b) = boxes.get(&fs.sweep.hit[k]) {
                let q = mount.apply([f64::from(p.x[k]), f64::from(p.y[k]), f64::from(p.z[k])]);
                let l = b.to_local(q);
                let tol = 0.15;
                assert!(
                    l[0].abs() <= b.size[0] / 2.0 + tol
                        && l[1].abs() <= b.size[1] / 2.0 + tol
                        && l[2].abs() <= b.size[2] / 2.0 + tol,
                    "point {k} tagged with box {} lies outside it: {l:?} vs {:?}",
                    b.id,
                    b.size
                );
                inside += 1;
            }
        }
        assert!(inside > 500, "only {inside} points on objects");
        captions.push(gt.caption.clone());
    }
    let distinct: std::collections::BTreeSet<_> = captions.iter().collect();
    assert!(distinct.len() >= 8, "captions too repetitive: {captions:#?}");
}

#[test]
fn default_cloud_has_about_115k_points_with_ring_and_time() {
    let mut sim = Simulator::new(&SimConfig::default(), 1, 10).unwrap();
    assert_eq!(sim.lidar.rays(), 64 * 1800);
    let (_, sw) = sim.sweep(3);
    let n = sw.points.len();
    assert!(n > 90_000 && n <= 115_200, "{n} points");
    let ring = sw.points.ring.as_ref().unwrap();
    let time = sw.points.time.as_ref().unwrap();
    assert_eq!(*ring.iter().max().unwrap(), 63);
    assert!(time.iter().all(|t| (0.0..0.1).contains(t)));
    assert!(time.windows(2).all(|w| w[0] <= w[1]));
    // Intensity: retro-reflective paint and cones are brighter than asphalt on average.
    assert!(sw.points.intensity.iter().all(|i| (0.0..=255.0).contains(i)));
}

#[test]
fn config_loads_from_toml_and_yaml_and_rejects_nonsense() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("s.toml");
    std::fs::write(
        &t,
        "[camera]\nwidth = 640\nheight = 360\nrate_hz = 20.0\n[lidar]\nbeams = 32\n",
    )
    .unwrap();
    let c = SimConfig::from_file(&t).unwrap();
    assert_eq!((c.camera.width, c.camera.rate_hz, c.lidar.beams), (640, 20.0, 32));
    let y = dir.path().join("s.yaml");
    std::fs::write(&y, "lidar:\n  azimuth_res_deg: 0.4\ncompression: bz2\n").unwrap();
    let c = SimConfig::from_file(&y).unwrap();
    assert_eq!(c.lidar.azimuth_res_deg, 0.4);
    std::fs::write(&y, "lidar:\n  beams: 0\n").unwrap();
    let e = SimConfig::from_file(&y).unwrap_err().to_string();
    assert!(e.contains("lidar.beams"), "{e}");
    std::fs::write(&y, "lidar:\n  beamz: 3\n").unwrap();
    assert!(SimConfig::from_file(&y)
        .unwrap_err()
        .to_string()
        .contains("beamz"));
}

#[test]
fn training_export_is_readable_by_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let rep = export_training(&small(), 3, 9, dir.path()).unwrap();
    assert_eq!(rep.frames, 3);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["classes"][5], "cone");
    assert_eq!(meta["T_optical_lidar"].as_array().unwrap().len(), 16);
    for f in [
        "image.png",
        "points.npy",
        "occupancy.npy",
        "class.npy",
        "boxes.json",
        "caption.txt",
        "map_text.json",
    ] {
        assert!(dir.path().join("frames/000002").join(f).exists(), "{f}");
    }
    let py = ros_python();
    if !require("python3 with numpy + cv2", py.exists()) {
        return;
    }
    let script = r#"
import sys, json, numpy as np, cv2
d = sys.argv[1] + "/frames/000001/"
p = np.load(d + "points.npy"); o = np.load(d + "occupancy.npy"); c = np.load(d + "class.npy")
img = cv2.imread(d + "image.png")
assert p.dtype == np.float32 and p.shape[1] == 5, p.shape
assert o.shape == (96, 96) and o.dtype == np.uint8 and c.dtype == np.uint8
assert ((o > 0) == (c > 0)).all()
assert img.shape == (360, 640, 3)
print(p.shape[0], int(o.sum()), int(p[:, 4].max()))
"#;
    let out = Command::new(&py)
        .arg("-c")
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = String::from_utf8_lossy(&out.stdout);
    let v: Vec<i64> = s.split_whitespace().map(|x| x.parse().unwrap()).collect();
    assert!(v[0] > 50_000 && v[1] > 0 && v[2] == 63, "{s}");
}
