//! 120k-point LiDAR → camera projection with plumb_bob distortion into a 1242×375 image (one core),
//! and the same points through OpenCV's `cv2.projectPoints` for the ratio.
//!
//! Run: `cargo bench -p sensorium-geometry --bench project`. Uses KITTI frame 000001 (120,268 points) when
//! the shared data is present, else a synthetic 120k-point scan.

use criterion::{criterion_group, Criterion};
use nalgebra::{Isometry3, Matrix3, Translation3, UnitQuaternion};
use sensorium_core::PointsSoA;
use sensorium_geometry::cloudfile::{load_cloud, write_uv_npy};
use sensorium_geometry::{CameraModel, Distortion, ImageKind, Projector};
use sensorium_testkit::testdata::{ros_python, shared_data_dir};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const D: [f64; 5] = [-0.05, 0.01, 0.001, -0.001, 0.0005];

fn setup() -> (PointsSoA, Projector, Isometry3<f64>) {
    let bin = shared_data_dir().join("kitti_object_vis/data/object/training/velodyne/000001.bin");
    let cloud = load_cloud(&bin).unwrap_or_else(|_| {
        // Synthetic 64-ring scan: 120,000 points on a cylinder-ish scene around the sensor.
        let mut p = PointsSoA::with_capacity(120_000);
        for i in 0..120_000u32 {
            let az = (i % 1875) as f32 / 1875.0 * std::f32::consts::TAU;
            let el = ((i / 1875) as f32 / 64.0 - 0.7) * 0.45;
            let r = 5.0 + 40.0 * (((i * 2654435761) >> 16) % 1000) as f32 / 1000.0;
            p.push(r * az.cos(), r * az.sin(), r * el.tan(), 0.0);
        }
        p
    });
    let k = Matrix3::new(721.5377, 0.0, 609.5593, 0.0, 721.5377, 172.854, 0.0, 0.0, 1.0);
    let model = CameraModel::new(1242, 375, k, Distortion::PlumbBob, D.to_vec()).unwrap();
    // KITTI-like LiDAR → camera: x forward → z, y left → −x, z up → −y.
    let iso = Isometry3::from_parts(
        Translation3::new(0.0, -0.08, -0.27),
        UnitQuaternion::from_euler_angles(-std::f64::consts::FRAC_PI_2, 0.0, -std::f64::consts::FRAC_PI_2)
            .inverse(),
    );
    let proj = Projector::from_isometry(&iso, &model, ImageKind::Raw);
    (cloud, proj, iso)
}

fn bench(c: &mut Criterion) {
    let (cloud, proj, _) = setup();
    let mut out = Vec::with_capacity(cloud.len());
    c.bench_function(&format!("project_plumb_bob_{}_points", cloud.len()), |b| {
        b.iter(|| {
            proj.project_into(std::hint::black_box(&cloud), &mut out);
            std::hint::black_box(out.len())
        })
    });
}

criterion_group!(benches, bench);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    // Explicit figure: median of 200 runs.
    let (cloud, proj, iso) = setup();
    let mut out = Vec::with_capacity(cloud.len());
    let mut times = Vec::new();
    for _ in 0..200 {
        let t0 = Instant::now();
        proj.project_into(&cloud, &mut out);
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let ours = times[times.len() / 2];
    let stats = proj.stats(&out);
    println!(
        "sensorium plumb_bob projection: {} points into 1242x375, median {ours:.3} ms (one core), {} in image",
        cloud.len(),
        stats.points_in_image
    );
    // cv2.projectPoints on the same points already in the camera frame (so it does less work than we do).
    let dir = std::env::temp_dir().join(format!("sensorium-geom-bench-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let pts_file = dir.join("cam_points.npy");
    let cam: Vec<(f64, f64, f64)> = (0..cloud.len())
        .map(|i| {
            let p = iso * nalgebra::Point3::new(cloud.x[i] as f64, cloud.y[i] as f64, cloud.z[i] as f64);
            (p.x, p.y, p.z)
        })
        .collect();
    if write_uv_npy(&pts_file, &cam).is_ok() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/cv_bench.py");
        let mut args: Vec<String> = vec![script.display().to_string(), pts_file.display().to_string()];
        for v in [721.5377, 721.5377, 609.5593, 172.854].iter().chain(D.iter()) {
            args.push(v.to_string());
        }
        match Command::new(ros_python()).args(&args).output() {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout);
                let cv_ms = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["median_ms"].as_f64());
                if let Some(cv_ms) = cv_ms {
                    println!(
                        "cv2.projectPoints (1 thread): median {cv_ms:.3} ms; sensorium is {:.2}x faster",
                        cv_ms / ours
                    );
                }
            }
            _ => println!("cv2.projectPoints: python3 with cv2 unavailable, no ratio"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
