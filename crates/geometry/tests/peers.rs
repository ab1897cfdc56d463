//! Geometry against peers and real data: numpy (KITTI projection), OpenCV (distortion models), an
//! independent python PCD reader, and the OpenCalib / KITTI calibration files.

use nalgebra::{
    Isometry3, Matrix3, Matrix3x4, Point2, Point3, Rotation3, Translation3, UnitQuaternion, Vector3,
};
use sensorium_geometry::cloudfile::{load_cloud, write_uv_npy};
use sensorium_geometry::{calib_project, CameraModel, Distortion, ImageKind, ProjectOptions, VehicleCalib};
use sensorium_testkit::testdata::{repo_root, require, ros_python, shared_data_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

fn python_json(args: &[&str]) -> Value {
    let out = Command::new(ros_python())
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

fn have_python() -> bool {
    require(
        "python3 with numpy and cv2",
        Command::new(ros_python())
            .args(["-c", "import numpy, cv2"])
            .output()
            .is_ok_and(|o| o.status.success()),
    )
}

fn kitti_dir() -> PathBuf {
    shared_data_dir().join("kitti_object_vis/data/object/training")
}

#[test]
fn kitti_fractions_and_numpy_equality() {
    let dir = kitti_dir();
    if !require("kitti_object_vis data", dir.is_dir()) || !have_python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (frame, want) in [("000000", "17.6"), ("000001", "15.5"), ("000002", "15.9")] {
        let uv = tmp.path().join(format!("{frame}.npy"));
        let overlay = tmp.path().join(format!("{frame}.png"));
        let opts = ProjectOptions {
            calib: dir.join(format!("calib/{frame}.txt")),
            cloud: dir.join(format!("velodyne/{frame}.bin")),
            image: dir.join(format!("image_2/{frame}.png")),
            camera: Some("cam2".into()),
            out: Some(overlay.clone()),
            uv_out: Some(uv.clone()),
        };
        let report = calib_project(&opts).unwrap();
        assert_eq!(
            format!("{:.1}", 100.0 * report.fraction_in_image),
            want,
            "{frame}: {report:?}"
        );
        let peer = python_json(&[
            script("kitti_project.py").to_str().unwrap(),
            opts.calib.to_str().unwrap(),
            opts.cloud.to_str().unwrap(),
            opts.image.to_str().unwrap(),
            uv.to_str().unwrap(),
        ]);
        eprintln!("{frame}: {report} | numpy {peer}");
        assert_eq!(
            peer["points_total"].as_u64().unwrap() as usize,
            report.points_total
        );
        assert_eq!(
            peer["points_positive_depth"].as_u64().unwrap() as usize,
            report.points_positive_depth
        );
        assert_eq!(
            peer["points_in_image"].as_u64().unwrap() as usize,
            report.points_in_image
        );
        assert_eq!(peer["width"].as_u64().unwrap() as u32, report.image_width);
        assert_eq!(peer["nan_mismatch"].as_u64().unwrap(), 0);
        let diff = peer["max_abs_diff_px"].as_f64().unwrap();
        assert!(diff < 1e-3, "{frame}: max |Δuv| = {diff} px");
        assert!(peer["max_abs_diff_depth"].as_f64().unwrap() < 1e-9);
        let png = image::open(&overlay).unwrap();
        assert_eq!(
            (png.width(), png.height()),
            (report.image_width, report.image_height)
        );
    }
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(f64s).collect()
}

#[test]
fn distortion_models_match_opencv() {
    if !have_python() {
        return;
    }
    let cases = python_json(&[script("cv_project.py").to_str().unwrap(), "20240611"]);
    let mut checked = [0usize; 3];
    for case in cases.as_array().unwrap() {
        let name = case["model"].as_str().unwrap();
        let k = Matrix3::from_row_slice(&f64s(&case["K"]));
        let d = f64s(&case["D"]);
        let r = Matrix3::from_row_slice(&f64s(&case["R"]));
        let p = Matrix3x4::from_row_slice(&f64s(&case["P"]));
        let distortion = Distortion::from_ros_name(name).unwrap();
        let m = CameraModel::with_rectification(1280, 720, k, distortion, d, r, p).unwrap();
        let rvec = Vector3::from_vec(f64s(&case["rvec"]));
        let t = f64s(&case["tvec"]);
        let iso = Isometry3::from_parts(
            Translation3::new(t[0], t[1], t[2]),
            UnitQuaternion::from_rotation_matrix(&Rotation3::from_scaled_axis(rvec)),
        );
        let pts = rows(&case["points"]);
        let uv = rows(&case["uv"]);
        let mut worst = 0.0f64;
        for (w, want) in pts.iter().zip(&uv) {
            let pc = iso * Point3::new(w[0], w[1], w[2]);
            let got = m.project(&pc).unwrap();
            worst = worst.max((got.x - want[0]).abs()).max((got.y - want[1]).abs());
            // Unproject ∘ project: the ray reprojects onto the same pixel, and (within the field where the
            // random rational model is monotonic) it is the ray through the point.
            let ray = m.unproject(&got).unwrap();
            let again = m.project(&Point3::from(ray)).unwrap();
            assert!(
                (again - got).norm() < 1e-6,
                "{name}: {pc} -> {got} -> {ray} -> {again}"
            );
            if (pc.x * pc.x + pc.y * pc.y) / (pc.z * pc.z) < 0.25 {
                assert!(
                    (ray * pc.z - pc.coords).norm() < 1e-8 * pc.z,
                    "{name}: round trip of {pc}"
                );
            }
        }
        assert!(
            worst < 1e-3,
            "{name}: max |Δ| vs OpenCV projectPoints = {worst} px"
        );
        // undistortPoints with R and P.
        let raw: Vec<Point2<f64>> = rows(&case["raw_pixels"])
            .iter()
            .map(|p| Point2::new(p[0], p[1]))
            .collect();
        let rect = rows(&case["rect_pixels"]);
        let ours = m.undistort_points(&raw);
        let mut worst_rect = 0.0f64;
        for (o, want) in ours.iter().zip(&rect) {
            worst_rect = worst_rect.max((o.x - want[0]).abs()).max((o.y - want[1]).abs());
        }
        assert!(
            worst_rect < 1e-3,
            "{name}: max |Δ| vs OpenCV undistortPoints = {worst_rect} px"
        );
        eprintln!("{name}: max |Δ| projectPoints {worst:.2e} px, undistortPoints {worst_rect:.2e} px");
        checked[match distortion {
            Distortion::PlumbBob => 0,
            Distortion::RationalPolynomial => 1,
            _ => 2,
        }] += pts.len();
    }
    assert!(checked.iter().all(|c| *c >= 1000), "{checked:?}");
}

#[test]
fn pcd_reader_matches_python_reader() {
    let data = shared_data_dir();
    let files = [
        "pcl_test_pcd/test/lamppost.pcd",
        "pcl_test_pcd/test/bun0.pcd",
        "pcl_test_pcd/test/car6.pcd",
        "pcl_test_pcd/test/colored_cloud.pcd",
        "pcl_test_pcd/test/table_scene_mug_stereo_textured.pcd",
        "opencalib_SensorsCalibration/lidar2camera/auto_calib/data/calib.pcd",
        "opencalib_SensorsCalibration/lidar2lidar/manual_calib/data/qt.pcd",
    ];
    if !require("pcl_test_pcd and opencalib data", data.join(files[0]).is_file()) || !have_python() {
        return;
    }
    for f in files {
        let path = data.join(f);
        let pts = load_cloud(&path).unwrap_or_else(|e| panic!("{e}"));
        let peer = python_json(&[script("read_pcd.py").to_str().unwrap(), path.to_str().unwrap()]);
        assert_eq!(pts.len() as u64, peer["points"].as_u64().unwrap(), "{f}");
        let nan = pts.x.iter().filter(|v| !v.is_finite()).count() as u64;
        assert_eq!(nan, peer["nan_points"].as_u64().unwrap(), "{f}");
        for (i, p) in peer["first"].as_array().unwrap().iter().enumerate() {
            // JSON null stands for NaN.
            let p: Vec<f64> = p
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap_or(f64::NAN))
                .collect();
            for (c, ours) in [pts.x[i], pts.y[i], pts.z[i]].iter().enumerate() {
                assert!(
                    // Compared as f32: serde_json's float parsing may be one f64 ulp off.
                    (p[c].is_nan() && ours.is_nan()) || p[c] as f32 == *ours,
                    "{f}: point {i} coord {c}: {} vs {ours}",
                    p[c]
                );
            }
        }
        let sum = |v: &[f32]| v.iter().filter(|x| x.is_finite()).map(|x| *x as f64).sum::<f64>();
        for (key, ours) in [
            ("sum_x", sum(&pts.x)),
            ("sum_y", sum(&pts.y)),
            ("sum_z", sum(&pts.z)),
            ("sum_intensity", sum(&pts.intensity)),
        ] {
            let want = peer[key].as_f64().unwrap();
            assert!(
                (ours - want).abs() <= 1e-9 * (1.0 + want.abs()),
                "{f}: {key} {ours} vs {want}"
            );
        }
        eprintln!("{f}: {} points ok", pts.len());
    }
}

#[test]
fn npy_and_bin_loaders_agree_with_numpy() {
    let bin = kitti_dir().join("velodyne/000001.bin");
    if !require("kitti velodyne bin", bin.is_file()) || !have_python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let f4 = tmp.path().join("c4.npy");
    let f8 = tmp.path().join("c8.npy");
    let code = format!(
        "import numpy as np; a=np.fromfile('{}',dtype=np.float32).reshape(-1,4); np.save('{}',a); \
         np.save('{}',np.asfortranarray(a[:,:3].astype(np.float64)))",
        bin.display(),
        f4.display(),
        f8.display()
    );
    let st = Command::new(ros_python()).args(["-c", &code]).status().unwrap();
    assert!(st.success());
    let a = load_cloud(&bin).unwrap();
    let b = load_cloud(&f4).unwrap();
    let c = load_cloud(&f8).unwrap();
    assert_eq!(a.len(), std::fs::metadata(&bin).unwrap().len() as usize / 16);
    assert_eq!(a, b);
    assert_eq!((&a.x, &a.y, &a.z), (&c.x, &c.y, &c.z));
    // The uv writer is readable by numpy with the right shape, dtype and NaNs.
    let uv = tmp.path().join("uv.npy");
    write_uv_npy(&uv, &[(1.5, 2.5, 3.5), (f64::NAN, f64::NAN, -2.0)]).unwrap();
    let code = format!(
        "import numpy as np; u=np.load('{}'); assert u.shape==(2,3) and u.dtype==np.float64; \
         assert u[0].tolist()==[1.5,2.5,3.5] and np.isnan(u[1,0]) and u[1,2]==-2.0",
        uv.display()
    );
    assert!(Command::new(ros_python())
        .args(["-c", &code])
        .status()
        .unwrap()
        .success());
}

#[test]
fn sample_vehicle_calibration() {
    let calib = VehicleCalib::load(&repo_root().join("calibration")).unwrap();
    assert_eq!(
        (calib.lidar_frame.as_str(), calib.ego_frame.as_str()),
        ("lidar_top", "base_link")
    );
    let cam = calib.camera(None).unwrap();
    assert_eq!(
        (cam.name.as_str(), cam.frame_id.as_str()),
        ("front", "camera_front_optical")
    );
    assert_eq!(
        (cam.model.width, cam.model.height, cam.model.distortion),
        (1280, 720, Distortion::PlumbBob)
    );
    // 10 m ahead of the LiDAR, 1 m to the left, at LiDAR height: optical (x right, y down, z fwd) = (1, -0.2, 8.5).
    let t = calib.tree.lookup("camera_front_optical", "lidar_top").unwrap();
    let p = t * Point3::new(10.0, 1.0, 0.0);
    assert!((p - Point3::new(-1.0, -0.2, 8.5)).norm() < 1e-12, "{p}");
    let (x, y) = (p.x / p.z, p.y / p.z);
    let r2 = x * x + y * y;
    let s = 1.0 - 0.05 * r2 + 0.01 * r2 * r2;
    let px = cam.model.project(&p).unwrap();
    assert!((px.x - (900.0 * x * s + 640.0)).abs() < 1e-9 && (px.y - (900.0 * y * s + 360.0)).abs() < 1e-9);
    assert_eq!(cam.image, ImageKind::Raw);
    let e = calib.camera(Some("rear")).unwrap_err().to_string();
    assert!(e.contains("rear") && e.contains("front"), "{e}");
}

#[test]
fn opencalib_json_and_txt_agree() {
    let data = shared_data_dir().join("opencalib_SensorsCalibration/lidar2camera");
    let json_dir = data.join("auto_calib/data");
    let txt = data.join("auto_calib_v2.0/data/ours/3/calib.txt");
    if !require("opencalib data", json_dir.is_dir()) {
        return;
    }
    let a = VehicleCalib::load(&json_dir).unwrap();
    let b = VehicleCalib::load(&txt).unwrap();
    let cloud = load_cloud(&json_dir.join("calib.pcd")).unwrap();
    let ca = a.camera(None).unwrap();
    let cb = b.camera(None).unwrap();
    assert_eq!((ca.model.width, ca.model.height), (1920, 1200));
    let ua = a.projector(ca).unwrap().project(&cloud);
    let ub = b.projector(cb).unwrap().project(&cloud);
    let mut worst = 0.0f64;
    for (p, q) in ua.iter().zip(&ub) {
        if p.2 > 0.5 {
            worst = worst.max((p.0 - q.0).abs()).max((p.1 - q.1).abs());
        }
    }
    assert!(worst < 1e-6, "json vs txt calibration: {worst} px");
    let report = calib_project(&ProjectOptions {
        calib: json_dir.clone(),
        cloud: json_dir.join("calib.pcd"),
        image: json_dir.join("calib.png"),
        ..Default::default()
    })
    .unwrap();
    eprintln!("opencalib: {report}");
    assert!(
        report.fraction_in_image > 0.05 && report.fraction_in_image < 0.6,
        "{report}"
    );
    // The odometry-like file: P2 and Tr.
    let odo = VehicleCalib::load(&data.join("auto_calib_v2.0/data/kitti/1/calib.txt")).unwrap();
    let cam2 = odo.camera(Some("cam2")).unwrap();
    assert_eq!(cam2.image, ImageKind::Rectified);
    assert_eq!(cam2.model.r, Matrix3::identity());
    assert!((cam2.model.p[(0, 3)] - 45.38225).abs() < 1e-9);
}

#[test]
fn calib_project_errors_are_clear() {
    let dir = kitti_dir();
    if !require("kitti_object_vis data", dir.is_dir()) {
        return;
    }
    let base = ProjectOptions {
        calib: dir.join("calib/000000.txt"),
        cloud: dir.join("velodyne/000000.bin"),
        image: dir.join("image_2/000000.png"),
        ..Default::default()
    };
    let e = calib_project(&ProjectOptions {
        camera: Some("cam9".into()),
        ..base.clone()
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("cam9") && e.contains("cam2, cam3, cam0, cam1"), "{e}");
    let e = calib_project(&ProjectOptions {
        cloud: dir.join("velodyne/missing.bin"),
        ..base.clone()
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("missing.bin"), "{e}");
    let e = calib_project(&ProjectOptions {
        image: dir.join("calib/000000.txt"),
        ..base.clone()
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("000000.txt"), "{e}");
    // A calibrated size that does not match the image.
    let e = calib_project(&ProjectOptions {
        calib: repo_root().join("calibration"),
        ..base
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("1224×370") && e.contains("1280×720"), "{e}");
}

/// The LiDAR points inside each labelled 3D box of KITTI (label_2: annotators' boxes in the rectified
/// camera frame) land inside that object's annotated 2D box in the overlay: the projection puts points on
/// the objects. The 3D test uses this test's own parse of the calib file (R0_rect, Tr_velo_to_cam); the
/// pixels are the ones `calib project` wrote to --uv-out and drew into the overlay PNG.
#[test]
fn kitti_labelled_objects_receive_their_points() {
    let dir = kitti_dir();
    if !require("kitti_object_vis data", dir.join("label_2").is_dir()) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut objects_checked = 0;
    for frame in ["000000", "000001", "000002"] {
        let uv = tmp.path().join(format!("{frame}.npy"));
        let overlay = tmp.path().join(format!("{frame}.png"));
        let opts = ProjectOptions {
            calib: dir.join(format!("calib/{frame}.txt")),
            cloud: dir.join(format!("velodyne/{frame}.bin")),
            image: dir.join(format!("image_2/{frame}.png")),
            camera: Some("cam2".into()),
            out: Some(overlay.clone()),
            uv_out: Some(uv.clone()),
        };
        calib_project(&opts).unwrap();
        // u, v, depth per input point (NaN behind the camera), read back through the .npy loader
        let uvd = load_cloud(&uv).unwrap();
        let cloud = load_cloud(&opts.cloud).unwrap();
        assert_eq!(uvd.len(), cloud.len());
        let text = std::fs::read_to_string(&opts.calib).unwrap();
        let mat = |key: &str| -> Vec<f64> {
            let line = text.lines().find(|l| l.starts_with(key)).unwrap();
            line.split_whitespace()
                .skip(1)
                .map(|t| t.parse().unwrap())
                .collect()
        };
        let r0 = Matrix3::from_row_slice(&mat("R0_rect:"));
        let tr = Matrix3x4::from_row_slice(&mat("Tr_velo_to_cam:"));
        let original = image::open(&opts.image).unwrap().to_rgb8();
        let drawn = image::open(&overlay).unwrap().to_rgb8();
        let labels = std::fs::read_to_string(dir.join(format!("label_2/{frame}.txt"))).unwrap();
        for label in labels.lines() {
            let f: Vec<&str> = label.split_whitespace().collect();
            if f[0] == "DontCare" {
                continue;
            }
            let n = |i: usize| f[i].parse::<f64>().unwrap();
            let (bx0, by0, bx1, by1) = (n(4), n(5), n(6), n(7));
            let (h, w, l) = (n(8), n(9), n(10));
            let loc = Vector3::new(n(11), n(12), n(13));
            let ry = n(14);
            let rot = Rotation3::from_axis_angle(&Vector3::y_axis(), ry);
            let (mut inside, mut in_box2d, mut coloured) = (0usize, 0usize, 0usize);
            for i in 0..cloud.len() {
                let p = Vector3::new(
                    f64::from(cloud.x[i]),
                    f64::from(cloud.y[i]),
                    f64::from(cloud.z[i]),
                );
                let rect = r0 * (tr * p.push(1.0));
                let local = rot.inverse() * (rect - loc);
                if !(local.x.abs() <= l / 2.0 && local.z.abs() <= w / 2.0 && local.y <= 0.0 && local.y >= -h)
                {
                    continue;
                }
                inside += 1;
                let (u, v) = (f64::from(uvd.x[i]), f64::from(uvd.y[i]));
                if u >= bx0 - 2.0 && u <= bx1 + 2.0 && v >= by0 - 2.0 && v <= by1 + 2.0 {
                    in_box2d += 1;
                }
                let (pu, pv) = (u as u32, v as u32);
                if pu < drawn.width()
                    && pv < drawn.height()
                    && drawn.get_pixel(pu, pv) != original.get_pixel(pu, pv)
                {
                    coloured += 1;
                }
            }
            eprintln!(
                "{frame} {}: {inside} points in the 3D box, {in_box2d} inside the 2D box, {coloured} drawn",
                f[0]
            );
            if inside < 10 {
                continue; // far or occluded: too few returns to judge
            }
            objects_checked += 1;
            assert!(
                in_box2d as f64 >= 0.95 * inside as f64,
                "{frame} {label}: {in_box2d}/{inside} points inside the annotated 2D box"
            );
            assert!(
                coloured as f64 >= 0.9 * inside as f64,
                "{frame} {label}: {coloured}/{inside} points drawn in the overlay"
            );
        }
    }
    assert!(
        objects_checked >= 3,
        "only {objects_checked} labelled objects had points"
    );
}
